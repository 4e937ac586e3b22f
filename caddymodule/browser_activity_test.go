package caddymodule_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sessiongate/sessiongate/internal/browsertest"
)

// The activity matrix (docs/activity.md): in real Chromium, nothing a page
// does by itself extends a session — in the top window, in a frameset frame
// and in an iframe, before and after the person clicked into it — while
// everything a person does extends it, in the top window and in frames.

// TestMain lets the matrix rows (t.Parallel, each in its own browser
// context) run six at a time when -parallel is not set: they mostly wait
// for timers.
func TestMain(m *testing.M) {
	flag.Parse()
	if p := flag.Lookup("test.parallel"); p != nil && p.Value.String() == strconv.Itoa(runtime.GOMAXPROCS(0)) {
		_ = p.Value.Set("6")
	}
	os.Exit(m.Run())
}

const (
	matrixIdle = 6 * time.Second
	matrixWarn = 3 * time.Second
)

// selfRefreshing are the ways a legacy page reloads or leaves itself, each
// every second: the page's body and headers.
var selfRefreshing = map[string]specialPage{
	"refresh-header":       {headers: map[string]string{"Refresh": "1"}},
	"refresh-header-other": {headers: map[string]string{"Refresh": "1; url=?n=2"}},
	"meta-refresh":         {body: `<meta http-equiv="refresh" content="1">`},
	"meta-refresh-other":   {body: `<meta http-equiv="refresh" content="1;url=?n=2">`},
	"reload":               {body: `<script>setTimeout(function(){location.reload()},1000)</script>`},
	"location-href":        {body: `<script>setTimeout(function(){location.href="?n="+Date.now()},1000)</script>`},
	"form-submit":          {body: `<form id="f" action=""><input type="hidden" name="n" value="1"></form><script>setTimeout(function(){document.getElementById("f").submit()},1000)</script>`},
	"history-go":           {body: `<script>setTimeout(function(){history.go(0)},1000)</script>`},
	"fetch-xhr-polling": {body: `<script>setInterval(function(){fetch("/api/queue");var x=new XMLHttpRequest();x.open("GET","/api/queue");x.send();
window.scrollTo(0,(window.scrollY+40)%200);document.getElementById("t").focus();},1000)</script>`},
}

func init() {
	const blank = `<!doctype html><html><head><title>blank</title></head><body><p>blank</p></body></html>`
	specialPages["/blank"] = specialPage{body: blank}
	for m, p := range selfRefreshing {
		specialPages["/m/"+m] = specialPage{headers: p.headers, body: `<!doctype html><html><head><title>` + m + `</title>` + p.body +
			`</head><body style="height:3000px"><p id="t" tabindex="0" style="font-size:40px;margin:40px">patient list</p></body></html>`}
		specialPages["/fs/"+m] = specialPage{body: `<!doctype html><html><head><title>frames</title></head>
<frameset cols="25%,75%"><frame name="nav" src="/blank"><frame name="main" src="/m/` + m + `"></frameset></html>`}
		specialPages["/fsnav/"+m] = specialPage{body: `<!doctype html><html><head><title>frames</title></head>
<frameset cols="25%,75%"><frame name="nav" src="/nav/` + m + `"><frame name="main" src="/blank"></frameset></html>`}
		specialPages["/nav/"+m] = specialPage{body: `<!doctype html><html><head><title>nav</title></head><body>
<a id="l" href="/m/` + m + `" target="main" style="font-size:40px">Board</a></body></html>`}
		specialPages["/if/"+m] = specialPage{body: `<!doctype html><html><head><title>iframe</title></head><body>
<p>top</p><iframe name="ifr" src="/m/` + m + `" width="700" height="500"></iframe></body></html>`}
		specialPages["/iflink/"+m] = specialPage{body: `<!doctype html><html><head><title>iframe</title></head><body>
<a id="l" href="/m/` + m + `" target="ifr" style="font-size:40px">Board</a><br><iframe name="ifr" src="/blank" width="700" height="500"></iframe></body></html>`}
	}
	// pages a person uses: a link, a form with a text field and a button
	// below the warning banner, which covers the top of the page while it shows
	person := `<!doctype html><html><head><title>%s</title></head><body style="height:3000px;padding-top:450px">
<p><a id="l" href="/person2" style="font-size:40px">Next patient</a></p>
<form action="/person2"><input id="q" name="q" style="font-size:30px"><button id="b" style="font-size:30px">Save</button></form></body></html>`
	specialPages["/person"] = specialPage{body: fmt.Sprintf(person, "person")}
	specialPages["/person2"] = specialPage{body: fmt.Sprintf(person, "person2")}
	specialPages["/tac"] = specialPage{headers: map[string]string{"Refresh": "10"},
		body: `<!doctype html><html><head><title>Tactical Overview</title></head><body><p id="t" style="font-size:40px;margin-top:450px">hosts up</p></body></html>`}
	specialPages["/nagios"] = specialPage{body: `<!doctype html><html><head><title>Nagios</title></head>
<frameset cols="25%,75%"><frame name="nav" src="/nagios-nav"><frame name="main" src="/blank"></frameset></html>`}
	specialPages["/nagios-nav"] = specialPage{body: `<!doctype html><html><head><title>nav</title></head><body>
<a id="l" href="/tac" target="main" style="font-size:40px">Tactical Overview</a></body></html>`}
	specialPages["/fsperson"] = specialPage{body: `<!doctype html><html><head><title>frames</title></head>
<frameset cols="25%,75%"><frame name="nav" src="/blank"><frame name="main" src="/person"></frameset></html>`}
}

// matrix starts the stack and the browser that a matrix's rows share; they
// stop when the test and all its parallel rows have ended.
func matrix(t *testing.T) (*stack, context.Context) {
	st := startStack(t, site{name: "act", extra: fmt.Sprintf("idle_timeout %s\n\t\twarn_before %s", matrixIdle, matrixWarn)})
	return st, newChrome(t)
}

// isolatedTab opens a tab in a browser context of its own: its own cookies,
// so every row is a separate device with its own session.
func isolatedTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(c, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: bannerWitnessJS})
		return err
	})); err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	return ctx
}

// bannerWitnessJS runs in every document and frame of a row's tab (test
// instrumentation, not the product): it notes in the tab's sessionStorage
// when it sees the warning drawn, on the page's own timeline. A page that
// replaces itself every second shows the warning for a moment each time;
// polling from the test over the DevTools protocol can miss it on a busy
// machine.
const bannerWitnessJS = `(function(){setInterval(function(){try{var h=document.querySelector("sessiongate-banner");
if(!h||!h.shadowRoot)return;var b=h.shadowRoot.querySelector("[role=alertdialog]");if(!b)return;var r=b.getBoundingClientRect();
if(getComputedStyle(h).display!=="none"&&r.width>100&&r.height>40)sessionStorage.setItem("test.bannerSeen","1")}catch(e){}},50)})()`

// frameXY returns page coordinates of the centre of the element sel inside
// the frame (or iframe) frame; frame "" is the top document.
func frameXY(t *testing.T, ctx context.Context, frame, sel string) (float64, float64) {
	t.Helper()
	doc, off := "document", "{x:0,y:0}"
	if frame != "" {
		doc = frame + ".contentDocument"
		off = frame + ".getBoundingClientRect()"
	}
	js := `(function(){var o=` + off + `;var e=` + doc + `.querySelector(` + strconv.Quote(sel) + `);if(!e)return null;var r=e.getBoundingClientRect();return [o.x+r.x+r.width/2,o.y+r.y+r.height/2]})()`
	// the page may replace itself between two looks: ask until one answer has it
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		xy, err := chromedp.Run(tctx, chromedp.Evaluate[[]float64](js))
		cancel()
		if err == nil && len(xy) == 2 {
			return xy[0], xy[1]
		}
	}
	t.Fatalf("%s not found in %s within 5s", sel, frame)
	return 0, 0
}

// serverActivityAfter waits until the server's last_activity for the tab's
// session is later than after, and returns it.
func serverActivityAfter(t *testing.T, ctx context.Context, after time.Time) time.Time {
	t.Helper()
	for until := time.Now().Add(5 * time.Second); time.Now().Before(until); {
		if a := watch(ctx, time.Now(), 200*time.Millisecond).activities; len(a) > 0 && a[len(a)-1].After(after) {
			return a[len(a)-1]
		}
	}
	t.Fatalf("the server recorded no activity after %v", after)
	return time.Time{}
}

// waitToken waits until the banner in win (a script expression for a
// window) has learned the session's CSRF token from /status.
func waitToken(t *testing.T, ctx context.Context, win string) {
	t.Helper()
	browsertest.WaitJS(t, ctx, `(function(){try{return !!`+win+`.sessionStorage.getItem("sessiongate.csrf")}catch(e){return false}})()`,
		5*time.Second, "the banner's status in "+win)
}

func clickAt(t *testing.T, ctx context.Context, frame, sel string) {
	t.Helper()
	x, y := frameXY(t, ctx, frame, sel)
	browsertest.Run(t, ctx, chromedp.MouseClickXY(x, y))
}
