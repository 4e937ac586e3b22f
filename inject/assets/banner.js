// sessiongate banner: warns before the session ends, keeps the server's idle
// timer in step with real user input, and moves the top window to the
// signed-out page when the server says the session is over. Plain JS, no
// framework; the server enforces every limit, this script only informs.
(function () {
  "use strict";
  if (window.__sessiongate) return;
  window.__sessiongate = true;

  var script = document.currentScript;
  var PREFIX = (script && script.src) ? new URL(script.src, location.href).pathname.replace(/\/banner\.js$/, "") : "/.sessiongate";
  var CSS = "__SESSIONGATE_CSS__";
  var ACTIVITY_THROTTLE = 30000;
  var T = {
    idleTitle: "Are you still there?",
    idleMessage: "You've been inactive for {inactive} — you will be signed out in {countdown}.",
    absoluteTitle: "Your session is ending",
    absoluteMessage: "Your session ends at {time} — in {countdown}. Save your work.",
    continueButton: "Continue session",
    logoutButton: "Log out now",
    announce: "You will be signed out in {countdown}.",
    renewBlocked: "The sign-in window did not open (pop-ups may be blocked).",
    renewClosed: "The sign-in window was closed before you signed in.",
    signInHereButton: "Sign in here",
    rescueNotice: "We kept what you had typed.",
    undoButton: "Undo"
  };

  var st = null;          // last /status body
  var skew = 0;           // server time minus local time, ms
  var timer = null, tick = null;
  var lastReport = 0;     // last activity report the server took, ms (shared through the channel)
  var reportedHere = false; // this page has reported input at least once
  var pendingReport = false; // input seen before the page had a CSRF token
  var reportTries = 0;    // failed reports in a row
  var failures = 0;       // /status or /activity requests failed in a row
  var ui = null;          // drawn banner, if any
  var mode = "";          // "", "idle", "absolute"
  var lastAnnounced = -1;
  var restoreFocus = null;
  var channel = null;
  try { channel = new BroadcastChannel("sessiongate"); } catch (e) { channel = null; }

  function now() { return Date.now() + skew; }

  // Only one window draws: the top same-origin window, or, under a frameset,
  // the largest visible frame. Every window reports activity.
  function isDrawer() {
    if (window.top === window.self) return document.body == null || document.body.tagName !== "FRAMESET";
    var top;
    try { top = window.top.document; } catch (e) { return true; } // cross-origin top: draw here
    if (!top.body || top.body.tagName !== "FRAMESET") return false;
    var best = null, bestArea = -1;
    var frames = top.querySelectorAll("frame, iframe");
    for (var i = 0; i < frames.length; i++) {
      var r = frames[i].getBoundingClientRect();
      var a = Math.max(0, r.width) * Math.max(0, r.height);
      if (a > bestArea) { bestArea = a; best = frames[i]; }
    }
    return best != null && best.contentWindow === window.self;
  }

  function fmtCountdown(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var m = Math.floor(s / 60);
    s = s % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }
  function fmtMinutes(ms) {
    if (ms < 60000) {
      var s = Math.max(1, Math.round(ms / 1000));
      return s + (s === 1 ? " second" : " seconds");
    }
    var m = Math.round(ms / 60000);
    return m + (m === 1 ? " minute" : " minutes");
  }
  function fmtClock(t) {
    var d = new Date(t - skew);
    var h = d.getHours(), m = d.getMinutes();
    return (h < 10 ? "0" : "") + h + ":" + (m < 10 ? "0" : "") + m;
  }
  function fill(tpl, vals) {
    return tpl.replace(/\{(\w+)\}/g, function (_, k) { return vals[k] != null ? vals[k] : ""; });
  }

  // The CSRF token of this tab's session, kept in sessionStorage so that the
  // first input on a freshly loaded page (often the click that leaves it)
  // can be reported before /status has answered.
  function csrf() {
    if (st && st.csrf) return st.csrf;
    try { return sessionStorage.getItem("sessiongate.csrf") || ""; } catch (e) { return ""; }
  }

  function request(method, path, cb) {
    var started = Date.now();
    // keepalive: an activity report must survive the navigation that the
    // input it reports (a click on a link, Enter in a form) starts
    var opts = { method: method, credentials: "same-origin", cache: "no-store", keepalive: method === "POST",
                 headers: { "Accept": "application/json" } };
    if (method === "POST") opts.headers["X-Sessiongate-CSRF"] = csrf();
    fetch(PREFIX + path, opts).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { cb(resp.status, body, started); });
    }).catch(function () { cb(0, null, started); });
  }

  function signedOut(body) {
    if (!navigator.onLine) return;
    rescueTyped((body && body.reason) || "");
    var target = (body && body.signed_out) || (PREFIX + "/signed-out?reason=" + encodeURIComponent((body && body.reason) || "ended"));
    try {
      var u = new URL(target, location.href);
      var page = (window.top === window.self ? location : window.top.location);
      if (!u.searchParams.get("rd")) u.searchParams.set("rd", page.pathname + page.search);
      target = u.pathname + u.search;
    } catch (e) { /* keep target */ }
    try { window.top.location.href = target; } catch (e) { location.href = target; }
  }

  function adopt(body, started) {
    if (body.texts) for (var k in body.texts) if (T.hasOwnProperty(k)) T[k] = body.texts[k];
    var rtt = Date.now() - started;
    skew = body.now - (started + rtt / 2);
    st = body;
    try {
      if (body.rescue_token) sessionStorage.setItem("sessiongate.rescue", body.rescue_token);
      if (body.csrf) sessionStorage.setItem("sessiongate.csrf", body.csrf);
      sessionStorage.setItem("sessiongate.status", JSON.stringify({ status: body, skew: skew }));
    } catch (e) { /* storage off */ }
    if (pendingReport) { pendingReport = false; report(true); }
    restoreTyped();
    if (channel) channel.postMessage({ type: "status", status: body, lastReport: lastReport });
    schedule();
    drawAccount();
  }

  // Typed-input rescue (rescue on). When the session ends for a security
  // reason, every same-origin document of the tab hands the input the
  // person typed but did not send to the gateway (never password, hidden,
  // file or payment-card fields), which keeps it for the same person. Back
  // on that page after signing in again, the fields are refilled, with a
  // notice and Undo.
  var RESCUE_REASONS = { idle: 1, absolute: 1, revoked: 1, elsewhere: 1, admin: 1, backchannel: 1 };
  var SKIP_TYPES = { password: 1, hidden: 1, file: 1, submit: 1, button: 1, reset: 1, image: 1, checkbox: 1, radio: 1 };
  function pageKey(loc) { return "sessiongate.rescued:" + loc.pathname + loc.search; }
  function typedFields(doc) {
    var out = [], els = doc.querySelectorAll("input, textarea, select");
    for (var i = 0; i < els.length; i++) {
      var el = els[i], type = (el.type || "").toLowerCase(), ac = (el.getAttribute("autocomplete") || "").toLowerCase();
      if (SKIP_TYPES[type] || el.disabled || /cc-|one-time-code|password/.test(ac)) continue;
      var changed = el.tagName === "SELECT"
        ? el.selectedIndex >= 0 && !el.options[el.selectedIndex].defaultSelected
        : el.value !== el.defaultValue;
      if (changed) out.push({ n: el.name || el.id || "", i: i, v: String(el.value).slice(0, 60000) });
    }
    return out;
  }
  function rescueDocs(win, docs) {
    try {
      var d = win.document;
      if (d && d.documentElement) docs.push({ doc: d, loc: win.location });
      for (var i = 0; i < win.frames.length; i++) rescueDocs(win.frames[i], docs);
    } catch (e) { /* another origin: not ours to read */ }
    return docs;
  }
  var rescued = false; // this page has handed its input over already
  function rescueTyped(reason) {
    var token;
    try { token = sessionStorage.getItem("sessiongate.rescue"); } catch (e) { token = null; }
    if (rescued || !token || !RESCUE_REASONS[reason]) return;
    rescued = true;
    var top;
    try { top = window.top.document ? window.top : window; } catch (e) { top = window; }
    rescueDocs(top, []).forEach(function (p) {
      var fields = typedFields(p.doc);
      if (!fields.length) return;
      var body = JSON.stringify({ url: p.loc.pathname + p.loc.search, fields: fields });
      if (body.length > 65000) return;
      try { localStorage.setItem(pageKey(p.loc), String(Date.now())); } catch (e) { /* storage off */ }
      try {
        fetch(PREFIX + "/rescue", { method: "POST", credentials: "same-origin", keepalive: true, cache: "no-store",
          headers: { "Content-Type": "application/json", "X-Sessiongate-Rescue": token }, body: body });
      } catch (e) { /* nothing more to do: the page is leaving */ }
    });
  }
  var restoreAsked = false;
  function restoreTyped() {
    if (restoreAsked) return;
    restoreAsked = true;
    var key = pageKey(location), at = 0;
    try { at = Number(localStorage.getItem(key) || 0); localStorage.removeItem(key); } catch (e) { return; }
    if (!at || Date.now() - at > 15 * 60 * 1000) return;
    fetch(PREFIX + "/restore?url=" + encodeURIComponent(location.pathname + location.search), {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Accept": "application/json", "X-Sessiongate-CSRF": csrf() }
    }).then(function (resp) {
      return resp.status === 200 ? resp.json() : null;
    }).then(function (kept) {
      if (kept && kept.fields && kept.fields.length) refill(kept.fields);
    }).catch(function () { /* nothing kept, or the network failed: the page stays as it is */ });
  }
  function refill(fields) {
    var els = document.querySelectorAll("input, textarea, select"), before = [];
    fields.forEach(function (f) {
      var el = els[f.i];
      if (!el || (f.n && (el.name || el.id || "") !== f.n)) {
        el = f.n ? (document.getElementsByName(f.n)[0] || document.getElementById(f.n)) : null;
      }
      if (!el || SKIP_TYPES[(el.type || "").toLowerCase()]) return;
      before.push({ el: el, v: el.value });
      el.value = f.v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    if (before.length) rescueNotice(before);
  }
  function rescueNotice(before) {
    var shadow = shadowHost("sessiongate-notice", { top: "8px", left: "50%", transform: "translateX(-50%)", "z-index": "2147483646" });
    var wrap = document.createElement("div");
    wrap.className = "notice";
    wrap.setAttribute("role", "status");
    wrap.innerHTML = '<p id="sg-kept"></p><div class="actions"><button type="button" id="sg-undo"></button>' +
      '<button type="button" class="secondary" id="sg-ok">OK</button></div>';
    shadow.root.appendChild(wrap);
    (document.documentElement || document.body).appendChild(shadow.host);
    shadow.root.getElementById("sg-kept").textContent = T.rescueNotice;
    var undo = shadow.root.getElementById("sg-undo");
    undo.textContent = T.undoButton;
    undo.addEventListener("click", function () {
      before.forEach(function (b) {
        b.el.value = b.v;
        b.el.dispatchEvent(new Event("input", { bubbles: true }));
        b.el.dispatchEvent(new Event("change", { bubbles: true }));
      });
      shadow.host.remove();
    });
    shadow.root.getElementById("sg-ok").addEventListener("click", function () { shadow.host.remove(); });
  }

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

  // shadowHost makes a fixed element with an open shadow root that carries
  // the banner's styles; the page's CSS cannot restyle or hide it.
  function shadowHost(tag, place) {
    var host = document.createElement(tag);
    var hs = host.style;
    var props = { all: "initial", display: "block", position: "fixed", "font-size": "16px", visibility: "visible", opacity: "1" };
    for (var k in props) hs.setProperty(k, props[k], "important");
    for (var p in place) hs.setProperty(p, place[p], "important");
    var root = host.attachShadow({ mode: "open" });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var style = document.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
    }
    return { host: host, root: root };
  }

  function build() {
    var shadow = shadowHost("sessiongate-banner", { top: "0", left: "0", width: "100%", height: "0", "z-index": "2147483647" });
    var host = shadow.host, root = shadow.root;
    var wrap = document.createElement("div");
    wrap.className = "wrap";
    wrap.innerHTML =
      '<div class="box" role="alertdialog" aria-modal="false" aria-labelledby="sg-title" aria-describedby="sg-msg">' +
      '<h2 id="sg-title"></h2><p id="sg-msg"></p><p class="note" id="sg-note" role="status" hidden></p>' +
      '<div class="actions"><button type="button" id="sg-continue"></button>' +
      '<button type="button" id="sg-here" hidden></button>' +
      '<button type="button" class="secondary" id="sg-logout"></button></div>' +
      '<div class="sr" aria-live="polite" id="sg-live"></div></div>';
    root.appendChild(wrap);
    (document.documentElement || document.body).appendChild(host);
    var q = function (id) { return root.getElementById(id); };
    q("sg-continue").addEventListener("click", function () {
      if (mode === "absolute") { renewInPlace(); return; }
      report(true); hide();
    });
    q("sg-here").addEventListener("click", renewHere);
    q("sg-logout").addEventListener("click", function () { logout(false); });
    root.addEventListener("keydown", function (e) { if (e.key === "Escape" && mode === "idle") { report(true); hide(); } });
    return { host: host, root: root, box: wrap.firstChild, title: q("sg-title"), msg: q("sg-msg"),
             cont: q("sg-continue"), out: q("sg-logout"), live: q("sg-live"), note: q("sg-note"), here: q("sg-here") };
  }

  function show(kind) {
    if (!isDrawer() || !navigator.onLine) return;
    if (!ui) ui = build();
    var first = mode !== kind;
    mode = kind;
    ui.box.className = "box " + kind;
    ui.title.textContent = kind === "idle" ? T.idleTitle : T.absoluteTitle;
    ui.cont.textContent = T.continueButton;
    ui.out.textContent = T.logoutButton;
    ui.cont.style.display = kind === "idle" || (st && st.renew_url) ? "" : "none";
    ui.here.textContent = T.signInHereButton;
    if (first) { ui.note.hidden = true; ui.here.hidden = true; }
    ui.host.style.setProperty("display", "block", "important");
    render();
    if (first) {
      lastAnnounced = -1;
      restoreFocus = document.activeElement;
      (kind === "idle" || (st && st.renew_url) ? ui.cont : ui.out).focus({ preventScroll: true });
    }
    clearInterval(tick);
    tick = setInterval(render, 1000);
  }

  function render() {
    if (!ui || !st) return;
    var t = now();
    var end = mode === "idle" ? st.idle_expires_at : st.absolute_expires_at;
    var left = end - t;
    var countdown = fmtCountdown(left);
    var text = mode === "idle"
      ? fill(T.idleMessage, { inactive: fmtMinutes(t - st.last_activity), countdown: "\u0000" })
      : fill(T.absoluteMessage, { time: fmtClock(end), countdown: "\u0000" });
    var parts = text.split("\u0000");
    ui.msg.textContent = "";
    ui.msg.appendChild(document.createTextNode(parts[0]));
    var span = document.createElement("span");
    span.className = "time";
    span.textContent = countdown;
    ui.msg.appendChild(span);
    ui.msg.appendChild(document.createTextNode(parts.slice(1).join("")));
    // announce at sensible steps, not every second
    var s = Math.ceil(left / 1000);
    var step = s > 60 ? Math.ceil(s / 60) * 60 : (s > 30 ? 60 : (s > 10 ? 30 : (s > 0 ? 10 : 0)));
    if (step !== lastAnnounced) {
      lastAnnounced = step;
      ui.live.textContent = fill(T.announce, { countdown: countdown });
    }
    if (left <= 0) { clearInterval(tick); refresh(); }
  }

  function hide() {
    clearInterval(tick);
    if (!ui || !mode) { mode = ""; return; }
    mode = "";
    ui.host.style.setProperty("display", "none", "important");
    if (restoreFocus && restoreFocus.focus) { try { restoreFocus.focus({ preventScroll: true }); } catch (e) {} }
    restoreFocus = null;
  }

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
