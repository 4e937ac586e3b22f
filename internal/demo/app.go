package demo

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"sync"
	"time"
)

// sampleApp is a small server-rendered "legacy EHR" that knows nothing about
// the gateway: a patient list, a form that POSTs, a page that polls the
// server by XHR (which must not keep the session alive), a frameset of the
// kind old EHRs are built from, and a page with a strict Content-Security-
// Policy whose own nonce'd script must keep working beside the banner.
type sampleApp struct {
	mu    sync.Mutex
	notes []string
}

var patients = []struct{ ID, Name, Born, Next string }{
	{"1001", "Maria Lopez", "1958-03-14", "Follow-up, 10:30"},
	{"1002", "James Okafor", "1971-11-02", "Lab results"},
	{"1003", "Chen Wei", "1989-07-21", "Annual check"},
	{"1004", "Sarah Johnson", "1945-01-30", "Medication review"},
}

// ServeHTTP serves the sample app's pages.
func (a *sampleApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/", "/patients":
		a.page(w, "Patients", a.patientList(r), "")
	case "/notes":
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			if err := r.ParseForm(); err == nil && r.PostFormValue("note") != "" {
				a.mu.Lock()
				a.notes = append(a.notes, r.PostFormValue("note"))
				a.mu.Unlock()
			}
			http.Redirect(w, r, "/notes", http.StatusSeeOther)
			return
		}
		a.page(w, "Notes", a.notesPage(), "")
	case "/queue":
		a.page(w, "Waiting room", `<p>This board polls the server every 5 seconds, as many EHR screens do. The polling does not keep your session alive.</p>
<p>Patients waiting: <strong id="count">…</strong> <span id="at"></span></p>
<script>
function poll(){var x=new XMLHttpRequest();x.open("GET","/api/queue");x.setRequestHeader("X-Requested-With","XMLHttpRequest");
x.onload=function(){if(x.status===200){var d=JSON.parse(x.responseText);document.getElementById("count").textContent=d.waiting;document.getElementById("at").textContent="(updated "+d.at+")";}};x.send();}
poll();setInterval(poll,5000);
</script>`, "")
	case "/chart":
		// a frameset page: the banner must appear once, in the top window
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><meta charset="utf-8"><title>Chart — Sample EHR</title></head>
<frameset rows="56,*"><frame name="nav" src="/chart/nav"><frame name="main" src="/patients"></frameset></html>`)
	case "/chart/nav":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;background:#3b5b6d;color:#fff;font-family:Georgia,serif;padding:.8rem 1rem}a{color:#fff;margin-right:1rem}</style></head>
<body><strong>Chart (frameset)</strong> &nbsp; <a href="/patients" target="main">Patients</a><a href="/notes" target="main">Notes</a><a href="/" target="_top">Leave frames</a></body></html>`)
	case "/secure":
		a.strictPage(w)
	case "/api/queue":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"waiting":%d,"at":%q}`, 3+time.Now().Second()%4, time.Now().Format("15:04:05"))
	default:
		http.NotFound(w, r)
	}
}

func (a *sampleApp) patientList(r *http.Request) string {
	out := `<p>Signed in as <strong>` + html.EscapeString(r.Header.Get("X-Forwarded-Name")) + `</strong> (` +
		html.EscapeString(r.Header.Get("X-Forwarded-Groups")) + `)</p><table><tr><th>ID</th><th>Name</th><th>Born</th><th>Next</th></tr>`
	for _, p := range patients {
		out += "<tr><td>" + p.ID + "</td><td>" + p.Name + "</td><td>" + p.Born + "</td><td>" + p.Next + "</td></tr>"
	}
	return out + "</table>"
}

func (a *sampleApp) notesPage() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := `<form method="post" action="/notes"><label>Note <input name="note" size="40"></label> <button>Save</button></form><ul>`
	for _, n := range a.notes {
		out += "<li>" + html.EscapeString(n) + "</li>"
	}
	return out + "</ul>"
}

// page writes one page of the sample app; styleNonce is the CSP nonce of
// its style element on pages with a strict policy ("" otherwise).
func (a *sampleApp) page(w http.ResponseWriter, title, body, styleNonce string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	nonceAttr := ""
	if styleNonce != "" {
		nonceAttr = ` nonce="` + styleNonce + `"`
	}
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>%s — Sample EHR</title>
<style%s>body{font-family:Georgia,serif;margin:0;background:#fbfaf5}header{background:#3b5b6d;color:#fff;padding:.6rem 1rem}
header a{color:#fff;margin-right:1rem}main{padding:1rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem}</style>
</head><body><header><strong>Sample EHR</strong> &nbsp; <a href="/patients">Patients</a><a href="/notes">Notes</a><a href="/queue">Waiting room</a><a href="/chart">Chart (frames)</a><a href="/secure">Strict CSP</a><a href="/.sessiongate/logout">Log out</a></header>
<main><h1>%s</h1>%s</main></body></html>`, title, nonceAttr, title, body)
}

// strictPage sends a strict nonce-based Content-Security-Policy, as modern
// hardened apps do; its own script runs only with the nonce. The gateway must
// add exactly what the banner needs and leave the app's script working.
func (a *sampleApp) strictPage(w http.ResponseWriter) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	nonce := base64.StdEncoding.EncodeToString(b)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; connect-src 'self'; base-uri 'none'; frame-ancestors 'self'")
	a.page(w, "Strict CSP", `<p>This page sends <code>Content-Security-Policy: default-src 'none'; script-src 'nonce-…'</code>.
The gateway allows exactly its banner script; the page's own script still runs:</p>
<p id="own-script" data-state="blocked">The page's own script did not run.</p>
<script nonce="`+nonce+`">var p=document.getElementById("own-script");p.dataset.state="ran";p.textContent="The page's own script ran at "+new Date().toLocaleTimeString()+".";</script>`, nonce)
}
