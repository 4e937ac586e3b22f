package caddymodule_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
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

const (
	mainFrame   = `document.getElementsByName("main")[0]`
	iframeFrame = `document.querySelector("iframe")`
)

// watchJS reports the top window's path, how many documents (top and
// frames) show the banner, and the session's idle deadline as the server
// last gave it: from /status (which never counts as activity) and from the
// banner's last answer kept in the tab (a page that replaces itself every
// second may not live through a fetch).
const watchJS = `(async function(withStatus){
var vis=function(d){try{var h=d.querySelector("sessiongate-banner");if(!h||!h.shadowRoot)return false;var b=h.shadowRoot.querySelector("[role=alertdialog]");
if(!b)return false;var r=b.getBoundingClientRect();return getComputedStyle(h).display!=="none"&&r.width>100&&r.height>40;}catch(e){return false}};
var seen="0";try{seen=sessionStorage.getItem("test.bannerSeen")||"0"}catch(e){}
var n=vis(document)?1:0;var fr=document.querySelectorAll("frame,iframe");for(var i=0;i<fr.length;i++){try{if(fr[i].contentDocument&&vis(fr[i].contentDocument))n++}catch(e){}}
var exp=0,la=0;try{var c=JSON.parse(sessionStorage.getItem("sessiongate.status")||"null");if(c&&c.status){exp=c.status.idle_expires_at||0;la=c.status.last_activity||0}}catch(e){}
if(withStatus&&!location.pathname.startsWith("/.sessiongate/")){try{var r=await fetch("/.sessiongate/status",{credentials:"same-origin",cache:"no-store"});
if(r.ok){var s=await r.json();exp=Math.max(exp,s.idle_expires_at||0);la=Math.max(la,s.last_activity||0)}}catch(e){}}
return [location.pathname+location.search, String(n), String(exp), String(la), seen]})`

// left reports whether the top window has left the app at the end: for the
// signed-out page (reason idle), or — when a page's own navigation raced the
// banner's and the signed-out page was already shown — the provider's
// sign-in form (the gateway asks it for the password: prompt=login).
func (w watched) left() bool {
	return strings.HasPrefix(w.path, "/.sessiongate/signed-out") && strings.Contains(w.path, "reason=idle") ||
		strings.HasPrefix(w.path, "/login?authRequestID=")
}

type watched struct {
	path        string        // top window's path at the end
	maxBanners  int           // most documents showing the banner at once
	sawBanner   bool          // the warning was drawn at some point
	latestEnd   time.Time     // the latest idle deadline /status reported
	signedOutAt time.Duration // since start, when the top window reached the signed-out page
	paths       []string      // the top window's paths, in order (for failure messages)
	activities  []time.Time   // the server's last_activity values seen, in order of first sight
}

// appendNew appends t unless it is already the last element.
func appendNew(ts []time.Time, t time.Time) []time.Time {
	if n := len(ts); n > 0 && ts[n-1].Equal(t) {
		return ts
	}
	return append(ts, t)
}

// personEnd is the idle deadline the person's own actions set: the server's
// record of the last one, which is the first last_activity seen after the
// one before it (a report may reach the server a moment after the input).
func (w watched) personEnd(before time.Time) time.Time {
	for _, la := range w.activities {
		if la.After(before) {
			return la.Add(matrixIdle)
		}
	}
	return before.Add(matrixIdle)
}

// watch polls the tab until the top window shows the signed-out page or
// timeout passes.
func watch(ctx context.Context, start time.Time, timeout time.Duration) watched {
	var w watched
	for i := 0; time.Since(start) < timeout; i++ {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](watchJS+"("+strconv.FormatBool(i%4 == 0)+")", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && len(v) == 5 {
			if w.path != v[0] && len(w.paths) < 20 {
				w.paths = append(w.paths, v[0])
			}
			w.path = v[0]
			n, _ := strconv.Atoi(v[1])
			w.maxBanners = max(w.maxBanners, n)
			w.sawBanner = w.sawBanner || n > 0 || v[4] == "1"
			if ms, _ := strconv.ParseFloat(v[2], 64); ms > 0 {
				if end := time.UnixMilli(int64(ms)); end.After(w.latestEnd) {
					w.latestEnd = end
				}
			}
			if ms, _ := strconv.ParseFloat(v[3], 64); ms > 0 {
				w.activities = appendNew(w.activities, time.UnixMilli(int64(ms)))
			}
			if w.left() {
				w.signedOutAt = time.Since(start)
				return w
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return w
}

// TestActivityMatrixSelfRefreshDoesNotExtend: every self-refresh mechanism ×
// {top, frame, iframe} × {before, after a click into it}: the session ends
// at the idle limit counted from the person's last action, the warning is
// drawn in exactly one document, and the whole window leaves for the
// signed-out page.
func TestActivityMatrixSelfRefreshDoesNotExtend(t *testing.T) {
	st, browser := matrix(t)
	for mech := range selfRefreshing {
		for _, where := range []string{"top", "frame", "iframe"} {
			for _, when := range []string{"before", "after"} {
				t.Run(mech+"/"+where+"/"+when+"-click", func(t *testing.T) {
					t.Parallel()
					base := st.sites["act"]
					ctx := isolatedTab(t, browser)
					path := map[string]string{"top": "/m/", "frame": "/fs/", "iframe": "/if/"}[where]
					if when == "after" && where != "top" {
						path = map[string]string{"frame": "/fsnav/", "iframe": "/iflink/"}[where]
					}
					browserSignIn(t, ctx, base, path+mech)
					last := time.Now()
					before := serverActivityAfter(t, ctx, time.Time{}) // the sign-in
					if when == "after" {
						// a person's first click comes after the page has asked the
						// gateway for its status (and so knows where to report)
						switch where {
						case "top":
							waitToken(t, ctx, "window")
							clickAt(t, ctx, "", "#t")
						case "frame": // the Nagios case: a click in one frame opens the board in another
							waitToken(t, ctx, `document.getElementsByName("nav")[0].contentWindow`)
							clickAt(t, ctx, `document.getElementsByName("nav")[0]`, "#l")
							before = serverActivityAfter(t, ctx, before) // the first click, as recorded
							waitToken(t, ctx, mainFrame+".contentWindow")
							clickAt(t, ctx, mainFrame, "#t")
						case "iframe":
							waitToken(t, ctx, "window")
							clickAt(t, ctx, "", "#l")
							before = serverActivityAfter(t, ctx, before) // the first click, as recorded
							waitToken(t, ctx, iframeFrame+".contentWindow")
							clickAt(t, ctx, iframeFrame, "#t")
						}
						last = time.Now()
					}
					w := watch(ctx, last, matrixIdle+8*time.Second)
					if !w.left() {
						t.Fatalf("not on the signed-out page %v after the last action (top window at %s, idle deadline %v after it; paths %q)",
							matrixIdle+8*time.Second, w.path, w.latestEnd.Sub(last).Round(time.Millisecond), w.paths)
					}
					if w.latestEnd.IsZero() {
						t.Fatal("never saw the server's idle deadline (neither /status nor the banner's last answer)")
					}
					// the person's last action: the sign-in ("before"), or the
					// click as the server recorded it ("after")
					personEnd := before.Add(matrixIdle)
					if when == "after" {
						personEnd = w.personEnd(before)
					}
					if ext := w.latestEnd.Sub(personEnd); ext > 300*time.Millisecond {
						t.Errorf("the idle deadline moved %v past the one the person's last action set (activity seen: %v): a self-refresh counted as activity",
							ext.Round(time.Millisecond), w.activities)
					}
					if out := last.Add(w.signedOutAt); out.Before(w.latestEnd.Add(-300*time.Millisecond)) || out.After(w.latestEnd.Add(4*time.Second)) {
						t.Errorf("the window left %v after the idle deadline; want within 4s", out.Sub(w.latestEnd).Round(time.Millisecond))
					}
					if !w.sawBanner || w.maxBanners > 1 {
						t.Errorf("warning drawn: seen %v, at most %d at once; want exactly one", w.sawBanner, w.maxBanners)
					}
				})
			}
		}
	}
}

// personActions are what a person does; each must extend the session.
var personActions = map[string]func(t *testing.T, ctx context.Context, base, frame string){
	"link-click": func(t *testing.T, ctx context.Context, base, frame string) { clickAt(t, ctx, frame, "#l") },
	"button-click": func(t *testing.T, ctx context.Context, base, frame string) {
		clickAt(t, ctx, frame, "#b")
	},
	"typing": func(t *testing.T, ctx context.Context, base, frame string) {
		// a script's focus is not input; the keys that follow are
		focus, focused := `(document.getElementById("q").focus(),true)`, `document.activeElement&&document.activeElement.id==="q"`
		if frame != "" {
			focus = `(` + frame + `.contentWindow.focus(),` + frame + `.contentDocument.getElementById("q").focus(),true)`
			focused = `document.activeElement===` + frame + `&&` + frame + `.contentDocument.activeElement.id==="q"`
		}
		for until := time.Now().Add(3 * time.Second); !browsertest.Eval[bool](t, ctx, `(`+focus+`)&&(`+focused+`)`); {
			if time.Now().After(until) {
				t.Fatal("could not focus the text field")
			}
			time.Sleep(50 * time.Millisecond)
		}
		browsertest.Run(t, ctx, chromedp.KeyEvent("abc"))
	},
	"touch": func(t *testing.T, ctx context.Context, base, frame string) {
		x, y := frameXY(t, ctx, frame, "#q")
		browsertest.Run(t, ctx, chromedp.TapXY(x, y))
	},
	"wheel": func(t *testing.T, ctx context.Context, base, frame string) {
		x, y := frameXY(t, ctx, frame, "#q")
		browsertest.Run(t, ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, x, y, func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 0.001, 120 }))
	},
	"address-bar": func(t *testing.T, ctx context.Context, base, frame string) {
		path := "/person2"
		if frame != "" {
			path = "/fsperson?again"
		}
		browsertest.Run(t, ctx, chromedp.Navigate(base+path))
	},
	"back-forward": func(t *testing.T, ctx context.Context, base, frame string) {
		browsertest.Run(t, ctx, chromedp.NavigateBack())
	},
	"continue-session": func(t *testing.T, ctx context.Context, base, frame string) {
		// the document that draws the warning: the top window, or a frame of a frameset
		const find = `(function(){var docs=[[document,{x:0,y:0}]];var fr=document.querySelectorAll("frame,iframe");
for(var i=0;i<fr.length;i++){try{docs.push([fr[i].contentDocument,fr[i].getBoundingClientRect()])}catch(e){}}
for(var j=0;j<docs.length;j++){var d=docs[j][0],o=docs[j][1];var h=d&&d.querySelector("sessiongate-banner");if(!h||!h.shadowRoot||getComputedStyle(h).display==="none")continue;
var b=h.shadowRoot.getElementById("sg-continue");if(!b)continue;var r=b.getBoundingClientRect();if(r.width<10)continue;return [o.x+r.x+r.width/2,o.y+r.y+r.height/2]}
return null})()`
		browsertest.WaitJS(t, ctx, "!!"+find, 4*time.Second, "the warning's Continue button")
		// the warning slides in: click once the button has stopped moving
		xy := browsertest.Eval[[]float64](t, ctx, find)
		for until := time.Now().Add(3 * time.Second); time.Now().Before(until); {
			time.Sleep(150 * time.Millisecond)
			next := browsertest.Eval[[]float64](t, ctx, find)
			if len(next) == 2 && len(xy) == 2 && next[0] == xy[0] && next[1] == xy[1] {
				break
			}
			xy = next
		}
		if len(xy) != 2 {
			t.Fatal("the warning's Continue button went away")
		}
		browsertest.Run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
	},
}

// TestActivityMatrixPersonExtends: every person action × {top, frame}
// moves the idle deadline to the action's time plus the idle limit.
func TestActivityMatrixPersonExtends(t *testing.T) {
	st, browser := matrix(t)
	for action, do := range personActions {
		for _, where := range []string{"top", "frame"} {
			t.Run(action+"/"+where, func(t *testing.T) {
				t.Parallel()
				base := st.sites["act"]
				ctx := isolatedTab(t, browser)
				frame, start := "", "/person"
				if where == "frame" {
					frame, start = mainFrame, "/fsperson"
				}
				browserSignIn(t, ctx, base, start)
				if action == "back-forward" { // a history entry to go back to, typed in the address bar
					browsertest.Run(t, ctx, chromedp.Navigate(base+"/person2"), chromedp.Navigate(base+start))
				}
				// act relative to the deadline set by the sign-in (or the typed
				// navigations), read from the server
				var first time.Time
				for until := time.Now().Add(3 * time.Second); first.IsZero() && time.Now().Before(until); {
					first = watch(ctx, time.Now(), 250*time.Millisecond).latestEnd
				}
				if first.IsZero() {
					t.Fatal("no idle deadline from /status after sign-in")
				}
				lead := matrixIdle - matrixWarn - 500*time.Millisecond // in the warning period, for Continue
				if action != "continue-session" {
					lead = matrixIdle - time.Second // before the warning covers the page and takes the focus
				}
				time.Sleep(time.Until(first.Add(-lead)))
				acted := time.Now()
				do(t, ctx, base, frame)
				var end time.Time
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) {
					w := watch(ctx, time.Now(), 250*time.Millisecond)
					if !w.latestEnd.IsZero() && w.latestEnd.After(end) {
						end = w.latestEnd
					}
					if !end.IsZero() && end.Sub(acted) >= matrixIdle-300*time.Millisecond {
						return
					}
				}
				loc, _ := chromedp.Run(ctx, chromedp.Location())
				t.Fatalf("%s in the %s did not extend the session: idle deadline %v after the action (want ≈ %v; at %s)",
					action, where, end.Sub(acted).Round(time.Millisecond), matrixIdle, loc)
			})
		}
	}
}

// TestActivityUnderLoad: three devices used in parallel — a key pressed every
// second, a link clicked every three seconds, for three idle periods — on a
// machine kept busy by spinning goroutines: no device is signed out, and
// each one's idle deadline follows its latest action.
func TestActivityUnderLoad(t *testing.T) {
	st, browser := matrix(t)
	base := st.sites["act"]
	stop := make(chan struct{})
	var spin sync.WaitGroup
	for range runtime.NumCPU() {
		spin.Add(1)
		go func() {
			defer spin.Done()
			for x := 0; ; x++ {
				select {
				case <-stop:
					return
				default:
					_ = x * x
				}
			}
		}()
	}
	defer func() { close(stop); spin.Wait() }()
	var wg sync.WaitGroup
	errs := make(chan string, 3)
	for d := range 3 {
		ctx := isolatedTab(t, browser)
		browserSignIn(t, ctx, base, "/person")
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := time.Now().Add(3 * matrixIdle)
			for i := 1; time.Now().Before(end); i++ {
				time.Sleep(time.Second)
				tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				var err error
				if i%3 == 0 {
					err = chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#l")))
				} else {
					err = chromedp.Do(tctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 50, float64(400+i)), chromedp.KeyEvent("k"))
				}
				loc, _ := chromedp.Run(tctx, chromedp.Location())
				cancel()
				if strings.Contains(loc, "/.sessiongate/") {
					errs <- fmt.Sprintf("device %d was signed out after %d actions (at %s)", d, i, loc)
					return
				}
				if err != nil && i%3 != 0 {
					errs <- fmt.Sprintf("device %d: %v", d, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestActivityNagiosFrameRefreshingEvery10s is the case that was reported:
// a status board sending `Refresh: 10`, opened in a frameset frame by a click
// (so its refreshes inherit the click's user activation), on a site with a
// 25 s idle limit: the session still ends on time, with one warning drawn,
// and the whole window leaves for the signed-out page.
func TestActivityNagiosFrameRefreshingEvery10s(t *testing.T) {
	const idle = 25 * time.Second
	st := startStack(t, site{name: "nagios", extra: fmt.Sprintf("idle_timeout %s\n\t\twarn_before 10s", idle)})
	ctx := newChrome(t)
	base := st.sites["nagios"]
	browserSignIn(t, ctx, base, "/nagios")
	clickAt(t, ctx, `document.getElementsByName("nav")[0]`, "#l")
	last := time.Now()
	w := watch(ctx, last, idle+12*time.Second)
	if !w.left() {
		t.Fatalf("still signed in %v after the click (at %s, idle deadline %v after the click)", idle+12*time.Second, w.path,
			w.latestEnd.Sub(last).Round(time.Millisecond))
	}
	if ext := w.latestEnd.Sub(last) - idle; ext > 800*time.Millisecond {
		t.Errorf("the idle deadline moved %v past the click's: a refresh counted as activity", ext.Round(time.Millisecond))
	}
	if w.signedOutAt > idle+4*time.Second || !w.sawBanner || w.maxBanners > 1 {
		t.Errorf("signed out after %v; warning seen %v, at most %d at once", w.signedOutAt.Round(time.Millisecond), w.sawBanner, w.maxBanners)
	}
}
