  // The optional account button (account_menu): the user's name, My devices,
  // Switch user and Log out, in a small button in the bottom-left corner.
  var account = null;
  function drawAccount() {
    if (!st || !st.account || !isDrawer()) return;
    if (!account) account = buildAccount();
    account.name.textContent = st.account.name || "Account";
    account.initial.textContent = (st.account.name || "?").trim().charAt(0).toUpperCase();
    account.who.textContent = st.account.name || "";
    account.devices.href = st.account.devices_url;
    account.admin.style.display = st.account.admin_url ? "" : "none";
    if (st.account.admin_url) account.admin.href = st.account.admin_url;
  }

  function buildAccount() {
    var shadow = shadowHost("sessiongate-account", { left: "8px", bottom: "8px", "z-index": "2147483646" });
    var host = shadow.host, root = shadow.root;
    var wrap = document.createElement("div");
    wrap.className = "acct";
    wrap.innerHTML =
      '<div class="menu" id="sg-menu" role="menu" aria-labelledby="sg-chip" hidden>' +
      '<p class="who" id="sg-who"></p>' +
      '<a role="menuitem" id="sg-devices" href="#">My devices</a>' +
      '<a role="menuitem" id="sg-admin" href="#">Session policy</a>' +
      '<button type="button" role="menuitem" id="sg-switch">Switch user</button>' +
      '<button type="button" role="menuitem" id="sg-out">Log out</button></div>' +
      '<button type="button" class="chip" id="sg-chip" aria-haspopup="menu" aria-expanded="false" aria-controls="sg-menu">' +
      '<span class="initial" aria-hidden="true"></span><span class="nm"></span></button>';
    root.appendChild(wrap);
    (document.documentElement || document.body).appendChild(host);
    var q = function (id) { return root.getElementById(id); };
    var chip = q("sg-chip"), menu = q("sg-menu");
    function setOpen(open) {
      menu.hidden = !open;
      chip.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) q("sg-devices").focus({ preventScroll: true });
    }
    chip.addEventListener("click", function () { setOpen(menu.hidden); });
    root.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !menu.hidden) { setOpen(false); chip.focus({ preventScroll: true }); }
    });
    document.addEventListener("pointerdown", function (e) {
      if (!menu.hidden && e.composedPath && e.composedPath().indexOf(host) < 0) setOpen(false);
    }, true);
    q("sg-switch").addEventListener("click", function () { logout(true); });
    q("sg-out").addEventListener("click", function () { logout(false); });
    return { host: host, name: chip.querySelector(".nm"), initial: chip.querySelector(".initial"), who: q("sg-who"),
             devices: q("sg-devices"), admin: q("sg-admin") };
  }

  function handle(status, body, started) {
    if (status === 200 && body && body.authenticated) { failures = 0; adopt(body, started); return; }
    if (status === 401 && body && (body.error === "session_expired" || body.error === "unauthenticated")) { signedOut(body); return; }
    // network error or store trouble: try again soon (quickly at first: a
    // network that has just come back is often not ready), show nothing new
    failures++;
    clearTimeout(timer);
    timer = setTimeout(refresh, Math.min(5000, 500 * Math.pow(2, failures - 1)));
  }

  function refresh() { request("GET", "/status", handle); }

  // report sends real input to the server. The first input on every page is
  // always sent (throttling must never swallow the click that leaves a page);
  // later ones at most every ACTIVITY_THROTTLE across the browser's tabs. A
  // report that fails is retried with backoff; only a report the server took
  // moves the throttle.
  var reportInFlight = false;
  var tokenRenewed = false; // a refused token was replaced once on this page
  function report(force) {
    if (!navigator.onLine) return;
    if (!csrf()) { pendingReport = true; return; }
    var t = Date.now();
    // at most every 30 s, and at least three times per idle period (short
    // idle timeouts, as in demos and tests)
    var throttle = Math.min(ACTIVITY_THROTTLE, st && st.idle_timeout ? st.idle_timeout / 3 : ACTIVITY_THROTTLE);
    if (!force && reportedHere && t - lastReport < throttle) return;
    if (reportInFlight) return;
    reportedHere = true;
    reportInFlight = true;
    request("POST", "/activity", function (status, body, started) {
      reportInFlight = false;
      if (status === 200 && body && body.authenticated) {
        reportTries = 0;
        lastReport = Date.now();
        if (channel) channel.postMessage({ type: "reported", at: lastReport });
        handle(status, body, started);
        return;
      }
      if (status === 401) { handle(status, body, started); return; }
      // refused (a token from an older session: ask /status for the new one),
      // or the network or the store failed: try again soon
      if (status === 403 && !tokenRenewed) {
        tokenRenewed = true;
        st = null;
        try { sessionStorage.removeItem("sessiongate.csrf"); } catch (e) { /* storage off */ }
        pendingReport = true;
        refresh();
        return;
      }
      reportTries++;
      if (reportTries <= 5) setTimeout(function () { report(true); }, Math.min(8000, 500 * Math.pow(2, reportTries - 1)));
    });
  }

  // The next moment something can change: a warning starts or a deadline passes.
  function schedule() {
    clearTimeout(timer);
    if (!st) return;
    var t = now();
    var idleWarn = st.idle_expires_at - st.warn_before;
    var absWarn = st.absolute_expires_at ? st.absolute_expires_at - st.absolute_warn_before : Infinity;
    var next;
    if (st.absolute_expires_at && t >= absWarn) {
      show("absolute");
      next = st.absolute_expires_at - t;
      if (t < idleWarn) next = Math.min(next, idleWarn - t);
    } else if (t >= idleWarn) {
      show("idle");
      next = st.idle_expires_at - t;
    } else {
      hide();
      next = Math.min(idleWarn, absWarn) - t;
    }
    // re-ask the server at the moment (it may have been extended elsewhere)
    timer = setTimeout(refresh, Math.max(250, Math.min(next + 50, 2147483000)));
  }

