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

