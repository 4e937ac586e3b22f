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

