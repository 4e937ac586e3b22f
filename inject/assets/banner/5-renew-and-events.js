  // "Continue session" at the absolute warning (renew_in_place): the person
  // signs in again in a small window; the page, its scroll position and its
  // unsaved input stay. The window's last page tells every banner of the
  // site how it went (onRenewed). A blocked or closed window leaves a note
  // and "Sign in here", a renewal in the page's own window.
  var renewWin = null, renewWatch = null;
  function pagePath() {
    try { return window.top.location.pathname + window.top.location.search; } catch (e) { return location.pathname + location.search; }
  }
  function renewInPlace() {
    if (!st || !st.renew_url) return;
    var before = st.absolute_expires_at;
    var w = null;
    try {
      w = window.open(st.renew_url + "?popup=1&rd=" + encodeURIComponent(pagePath()), "sessiongate-renew",
                      "popup,width=520,height=700");
    } catch (e) { w = null; }
    if (!w) { renewProblem(T.renewBlocked); return; }
    renewWin = w;
    clearInterval(renewWatch);
    renewWatch = setInterval(function () {
      var closed = true;
      try { closed = !renewWin || renewWin.closed; } catch (e) { closed = true; }
      if (!closed) return;
      clearInterval(renewWatch);
      renewWin = null;
      // the server says whether the window renewed the session before closing
      request("GET", "/status", function (status, body, started) {
        handle(status, body, started);
        if (status === 200 && body && body.absolute_expires_at === before && mode === "absolute") renewProblem(T.renewClosed);
      });
    }, 500);
  }
  function renewProblem(text) {
    if (!ui) return;
    ui.note.textContent = text;
    ui.note.hidden = false;
    ui.here.hidden = false;
    ui.here.focus({ preventScroll: true });
  }
  function renewHere() {
    if (!st || !st.renew_url) return;
    rescueTyped("absolute"); // the page is left: its unsaved input waits for the same person
    var target = st.renew_url + "?rd=" + encodeURIComponent(pagePath());
    try { window.top.location.href = target; } catch (e) { location.href = target; }
  }
  function onRenewed(m) {
    if (!m || m.type !== "sessiongate-renewed") return;
    if (renewWin) { clearInterval(renewWatch); renewWin = null; }
    if (!m.sameUser) {
      // another person signed in: nothing of the first person's page stays
      try { window.top.location.replace(window.top.location.href); } catch (e) { location.replace(location.href); }
      return;
    }
    if (ui) { ui.note.hidden = true; ui.here.hidden = true; }
    st = null;
    try { sessionStorage.removeItem("sessiongate.csrf"); } catch (e) { /* storage off */ }
    refresh();
  }
  window.addEventListener("message", function (e) {
    if (e.origin === location.origin) onRenewed(e.data);
  });

  // Log out (or Switch user): a fetch, then the top window goes where the
  // server says (the provider's logout, then the signed-out page). A form
  // post would be blocked by a page whose CSP form-action does not allow the
  // provider; the form stays as the fallback.
  function logout(switchUser) {
    var body = "switch=" + (switchUser === true ? "1" : "0");
    var opts = { method: "POST", credentials: "same-origin", cache: "no-store",
                 headers: { "X-Sessiongate-CSRF": st ? st.csrf : "", "Content-Type": "application/x-www-form-urlencoded",
                            "Accept": "application/json" }, body: body };
    fetch(PREFIX + "/logout", opts).then(function (resp) {
      return resp.json().then(function (b) {
        if (!resp.ok || !b || !b.location) throw new Error("logout " + resp.status);
        try { window.top.location.href = b.location; } catch (e) { location.href = b.location; }
      });
    }).catch(function () { logoutForm(switchUser); });
  }

  function logoutForm(switchUser) {
    var f = document.createElement("form");
    f.method = "POST";
    f.action = PREFIX + "/logout";
    f.target = "_top";
    var i = document.createElement("input");
    i.type = "hidden"; i.name = "csrf"; i.value = st ? st.csrf : "";
    f.appendChild(i);
    if (switchUser === true) {
      var sw = document.createElement("input");
      sw.type = "hidden"; sw.name = "switch"; sw.value = "1";
      f.appendChild(sw);
    }
    (document.body || document.documentElement).appendChild(f);
    f.submit();
  }

  function onInput(e) {
    // only what a person did: events a script dispatches are not trusted
    if (!e || !e.isTrusted) return;
    // input inside the banner belongs to its buttons (Tab must reach "Log out now")
    if (ui && e.composedPath && e.composedPath().indexOf(ui.host) >= 0) return;
    if (mode === "idle") { report(true); hide(); return; }
    report(false);
  }

  // Real input only. Not scroll: it fires on scroll restoration after a
  // reload and on a script's scrollTo. Not focus or visibilitychange: pages
  // and the browser cause them.
  ["pointerdown", "keydown", "touchstart", "wheel"].forEach(function (ev) {
    window.addEventListener(ev, onInput, { capture: true, passive: true });
  });
  // Back/forward is a person's action outside the page (the browser's
  // buttons): a page loaded by a history traversal, or restored from the
  // back/forward cache (no request reaches the server), reports it.
  try {
    var nav = performance.getEntriesByType("navigation")[0];
    if (nav && nav.type === "back_forward") report(true);
  } catch (e) { /* no Navigation Timing */ }
  window.addEventListener("pageshow", function (e) { if (e.persisted) { reportedHere = false; report(true); } });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") refresh(); });
  window.addEventListener("focus", refresh);
  window.addEventListener("online", function () { failures = 0; refresh(); });
  window.addEventListener("offline", function () { hide(); });
  if (channel) {
    channel.onmessage = function (e) {
      var m = e.data || {};
      if (m.type === "sessiongate-renewed") { onRenewed(m); return; }
      if (m.type === "reported") lastReport = Math.max(lastReport, m.at);
      if (m.type === "status" && m.status) {
        if (m.lastReport) lastReport = Math.max(lastReport, m.lastReport);
        st = m.status;
        schedule();
      }
    };
  }
  // A page that replaces itself every second may not live long enough for
  // /status to answer: start from this tab's last answer (the server's own
  // deadlines), so that a warning due now is drawn at once; /status corrects
  // it a moment later.
  try {
    var cached = JSON.parse(sessionStorage.getItem("sessiongate.status") || "null");
    if (cached && cached.status && cached.status.authenticated && Date.now() + cached.skew < cached.status.idle_expires_at) {
      st = cached.status;
      skew = cached.skew || 0;
      schedule();
    }
  } catch (e) { /* storage off or unreadable: wait for /status */ }
  refresh();
})();
