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

