package caddymodule_test

type specialPage struct {
	headers map[string]string
	body    string
}

// specialPages are the legacy-app pages the browser tests need.
var specialPages = map[string]specialPage{
	// polls the server by XHR every second, as patient-queue screens do
	"/poll": {body: `<!doctype html><html><head><title>Queue</title></head><body><p id="n">0</p>
<script>var n=0;setInterval(function(){var x=new XMLHttpRequest();x.open("GET","/api/queue");
x.setRequestHeader("X-Requested-With","XMLHttpRequest");x.onload=function(){n++;document.getElementById("n").textContent=n;};x.send();},1000);</script>
</body></html>`},
	// a note being typed on a long page, as in a chart
	"/note": {body: `<!doctype html><html><head><title>Note</title></head><body><h1>Progress note</h1>
<textarea id="note" name="note" rows="6" cols="60"></textarea>
<input type="password" id="pin" name="pin"><input type="hidden" name="chart" value="c-17">
<div style="height:3000px">chart</div></body></html>`},
	"/frame-note": {body: `<!doctype html><html><head><title>note frame</title></head><body>
<textarea id="note" name="note"></textarea><div style="height:2000px">chart</div></body></html>`},
	"/note-frameset": {body: `<!doctype html><html><head><title>Frames</title></head>
<frameset cols="20%,80%"><frame name="nav" src="/frame-nav"><frame name="main" src="/frame-note"></frameset></html>`},
	// the note form: Save posts it to the app
	"/notes-form": {body: `<!doctype html><html><head><title>Notes</title></head><body><form method="post" action="/notes">
<input type="hidden" name="patient" value="p-17"><textarea id="note" name="note"></textarea>
<button type="submit" id="save">Save</button></form></body></html>`},
	"/form": {body: `<!doctype html><html><head><title>Form</title></head><body><input id="q" autofocus></body></html>`},
	"/frameset": {body: `<!doctype html><html><head><title>Frames</title></head>
<frameset cols="25%,75%"><frame name="nav" src="/frame-nav"><frame name="main" src="/frame-main"></frameset></html>`},
	"/frame-nav":  {body: `<!doctype html><html><head><title>nav</title></head><body><a href="/frame-main" target="main">Patients</a></body></html>`},
	"/frame-main": {body: `<!doctype html><html><head><title>main</title></head><body><h1>Chart</h1></body></html>`},
	// global CSS that would flatten any ordinary overlay; html itself stays
	// displayed (with html hidden, nothing on the page can render at all)
	"/hostile": {body: `<!doctype html><html><head><title>Hostile</title><style>
*:not(html) { display: none !important; }
* { font-size: 2px !important; color: #fff !important; background: #fff !important; line-height: 0 !important;
    font-family: serif !important; visibility: hidden !important; }
div { font-size: 2px; } button { width: 1px !important; height: 1px !important; }
</style></head><body><div>app</div></body></html>`},
	// a strict nonce-based policy; the app's own script must keep working
	"/strict-csp": {headers: map[string]string{"Content-Security-Policy": "default-src 'none'; script-src 'nonce-app123' 'strict-dynamic'; style-src 'self'; base-uri 'none'"},
		body: `<!doctype html><html><head><title>Strict</title><script nonce="app123">document.addEventListener("DOMContentLoaded",function(){document.body.setAttribute("data-app-ran","yes");});</script></head><body><p>strict</p><textarea id="note" name="note"></textarea></body></html>`},
	// forms may only go to the app itself: the banner's sign-out must still reach the provider
	"/form-action-csp": {headers: map[string]string{"Content-Security-Policy": "form-action 'self'; script-src 'self'"},
		body: `<!doctype html><html><head><title>Forms</title></head><body><p>forms</p></body></html>`},
	// an older policy that relies on 'unsafe-inline': adding a nonce would break the app
	"/inline-csp": {headers: map[string]string{"Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; connect-src 'none'"},
		body: `<!doctype html><html><head><title>Inline</title></head><body><p>inline</p><script>document.body.setAttribute("data-app-ran","yes");</script></body></html>`},
}
