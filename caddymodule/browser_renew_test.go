package caddymodule_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// renewSite: the absolute warning starts about 2 s after sign-in and the
// absolute limit is 25 s, so a renewal has time to finish; the idle timer
// is out of the way.
var renewSite = site{name: "web", extra: "idle_timeout 25s\n\t\twarn_before 5s\n\t\tabsolute_timeout 25s\n\t\tabsolute_warn_before 23s"}

// renewBanner is the document whose banner draws: the top document, or the
// main frame of a frameset.
type renewBanner struct{ doc string }

func (b renewBanner) root() string {
	return `(function(){var h=` + b.doc + `.querySelector("sessiongate-banner");return h&&h.shadowRoot?h.shadowRoot:null})()`
}

// clickContinue waits for the absolute warning's Continue session in doc
// and clicks it with a real mouse click.
func (b renewBanner) clickContinue(t *testing.T, ctx context.Context) {
	t.Helper()
	waitJS(t, ctx, bannerVisible(b.doc), 10*time.Second, "the absolute warning")
	waitJS(t, ctx, `(function(){var r=`+b.root()+`;var c=r&&r.getElementById("sg-continue");return !!c&&getComputedStyle(c).display!=="none"})()`,
		5*time.Second, "Continue session on the absolute warning")
	xy := eval[[]float64](t, ctx, `(function(){var f=`+b.frameOffset()+`;var c=`+b.root()+`.getElementById("sg-continue").getBoundingClientRect();
return [f[0]+c.x+c.width/2,f[1]+c.y+c.height/2]})()`)
	run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
}

// frameOffset is where doc's frame sits in the top window ([0,0] for the top).
func (b renewBanner) frameOffset() string {
	if b.doc == "document" {
		return `[0,0]`
	}
	return `(function(){var r=document.querySelector("frame[name=main]").getBoundingClientRect();return [r.x,r.y]})()`
}

// signInAtPopup waits for the sign-in window that Continue session opened
// and signs in there as user.
func signInAtPopup(t *testing.T, ctx context.Context, popup <-chan target.ID, user, password string) {
	t.Helper()
	id := waitPopup(t, popup)
	// the window's context is cancelled only when the test ends: cancelling
	// it closes the window, which must close itself
	pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	t.Cleanup(cancel)
	tctx, tcancel := context.WithTimeout(pctx, 20*time.Second)
	defer tcancel()
	if err := chromedp.Do(tctx, providerForm(user, password)...); err != nil {
		t.Fatalf("sign-in window: %v", err)
	}
}

// waitPopup returns the sign-in window Continue session opened.
func waitPopup(t *testing.T, popup <-chan target.ID) target.ID {
	t.Helper()
	select {
	case id := <-popup:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("Continue session opened no sign-in window")
		return ""
	}
}

// popupWatch reports the next window a page of the tab opens.
func popupWatch(ctx context.Context) <-chan target.ID {
	return chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
}

// TestBrowserRenewInPlaceKeepsThePage: at the absolute warning, Continue
// session opens the provider in a small window; the same person signs in
// there and the page stays as it was — the note typed but not saved, the
// scroll position, the page itself (no reload) — the warning goes away in
// another tab of the site too, while the session is new,
// with a new absolute window, and the audit log says the old one was
// renewed.
func TestBrowserRenewInPlaceKeepsThePage(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	st := startStackWithAudit(t, auditLog, renewSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/note")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#note`), "BP 128/82, follow up in two weeks"))
	waitJS(t, ctx, bannerVisible("document"), 10*time.Second, "the absolute warning")
	time.Sleep(300 * time.Millisecond) // the banner's entrance animation, for the screenshot
	viewportScreenshot(t, ctx, "absolute-continue.png")
	eval[bool](t, ctx, `window.__sameDocument = true; window.scrollTo(0, 600); true`)
	// a second tab of the site, which shows the warning too
	tab2, cancel2 := chromedp.NewContext(ctx)
	defer cancel2()
	if err := chromedp.Do(tab2); err != nil { // opens the tab; no timeout on this first call
		t.Fatal(err)
	}
	run(t, tab2, chromedp.Navigate(base+"/patients"))
	waitJS(t, tab2, bannerVisible("document"), 10*time.Second, "the absolute warning in the second tab")
	before := serverStatus(t, ctx)
	popup := popupWatch(ctx)
	b := renewBanner{doc: "document"}
	b.clickContinue(t, ctx)
	signInAtPopup(t, ctx, popup, "alice", "pw-alice")
	waitJS(t, ctx, `!(`+bannerVisible("document")+`)`, 10*time.Second, "the banner to go away after the renewal")
	waitJS(t, tab2, `!(`+bannerVisible("document")+`)`, 10*time.Second, "the second tab's banner to go away too")
	after := serverStatus(t, ctx)
	if after["authenticated"] != true || after["absolute_expires_at"].(float64) <= before["absolute_expires_at"].(float64)+1000 {
		t.Fatalf("no new absolute window: before %v, after %v", before["absolute_expires_at"], after["absolute_expires_at"])
	}
	if after["csrf"] == before["csrf"] {
		t.Fatal("the renewed session has the old session's CSRF token: not a new session")
	}
	state := eval[map[string]any](t, ctx, `({note: document.getElementById("note").value, y: window.scrollY, same: window.__sameDocument === true, path: location.pathname})`)
	if state["note"] != "BP 128/82, follow up in two weeks" || state["y"].(float64) < 590 || state["same"] != true || state["path"] != "/note" {
		t.Fatalf("the page did not stay as it was: %v", state)
	}
	var renewed, signIns int
	for _, ev := range auditEvents(t, auditLog) {
		if ev["msg"] == "sign-out" && ev["reason"] == "renewed" && ev["user"] == "u-alice" {
			renewed++
		}
		if ev["msg"] == "sign-in" && ev["user"] == "u-alice" {
			signIns++
		}
	}
	if renewed != 1 || signIns != 2 {
		t.Fatalf("audit: %d renewed sign-outs (want 1), %d sign-ins (want 2)", renewed, signIns)
	}
}

// TestBrowserRenewAnotherPersonReloadsThePage: another person signing in at
// the sign-in window must not see the first person's page: the page reloads
// into the new session (the note is gone), and the audit log records the
// switch.
func TestBrowserRenewAnotherPersonReloadsThePage(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	st := startStackWithAudit(t, auditLog, renewSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/note")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#note`), "alice's unsaved note"))
	eval[bool](t, ctx, `window.__sameDocument = true; true`)
	popup := popupWatch(ctx)
	renewBanner{doc: "document"}.clickContinue(t, ctx)
	signInAtPopup(t, ctx, popup, "clinician", "demo")
	waitJS(t, ctx, `window.__sameDocument !== true && document.readyState === "complete" && location.pathname === "/note"`,
		10*time.Second, "the page to reload into the new person's session")
	if v := eval[string](t, ctx, `document.getElementById("note").value`); strings.Contains(v, "alice") {
		t.Fatalf("the first person's note is still on screen: %q", v)
	}
	if name := serverStatus(t, ctx)["name"]; name == "Alice Adams" {
		t.Fatal("the session is still the first person's")
	}
	switched := false
	for _, ev := range auditEvents(t, auditLog) {
		if ev["msg"] == "user-switch" && ev["from"] == "u-alice" && ev["at"] == "renewal" {
			switched = true
		}
	}
	if !switched {
		t.Fatal("the audit log has no user-switch at renewal")
	}
}

// TestBrowserRenewPopupBlocked: when the sign-in window cannot open —
// Chromium's own pop-up blocker, which refuses window.open without a user
// activation (a click a script made) — the banner says so and offers Sign
// in here, a renewal in the page's own window that comes back to the same
// page with a new session and the note typed before it (the rescue).
func TestBrowserRenewPopupBlocked(t *testing.T) {
	st := startStack(t, renewSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/note")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#note`), "typed before Sign in here"))
	// typing gave the page a user activation, which lets pop-ups through
	// for about 5 s: the script's click below must come after it expired
	waitJS(t, ctx, `!navigator.userActivation.isActive`, 10*time.Second, "the typing's user activation to expire")
	before := serverStatus(t, ctx)
	b := renewBanner{doc: "document"}
	waitJS(t, ctx, `(function(){var r=`+b.root()+`;var c=r&&r.getElementById("sg-continue");return !!c&&getComputedStyle(c).display!=="none"})()`,
		10*time.Second, "Continue session on the absolute warning")
	eval[bool](t, ctx, `(function(){`+b.root()+`.getElementById("sg-continue").click();return true})()`)
	renewNoteThenSignInHere(t, ctx, b, "did not open")
	// Sign in here left the page: the rescue brings the note back
	waitJS(t, ctx, `document.getElementById("note").value==="typed before Sign in here"`, 10*time.Second,
		"the note refilled after Sign in here")
	after := serverStatus(t, ctx)
	if after["absolute_expires_at"].(float64) <= before["absolute_expires_at"].(float64)+1000 {
		t.Fatalf("no new absolute window after Sign in here: %v → %v", before["absolute_expires_at"], after["absolute_expires_at"])
	}
}

// TestBrowserRenewWindowClosed: the person closes the sign-in window
// without signing in; the banner says so and Sign in here still renews.
func TestBrowserRenewWindowClosed(t *testing.T) {
	st := startStack(t, renewSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/note")
	popup := popupWatch(ctx)
	b := renewBanner{doc: "document"}
	b.clickContinue(t, ctx)
	id := waitPopup(t, popup)
	pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	run(t, pctx, chromedp.WaitVisible(chromedp.CSS(`#username`)))
	cancel() // closes the window
	renewNoteThenSignInHere(t, ctx, b, "closed before you signed in")
}

// renewNoteThenSignInHere waits for the banner's note (containing want) and
// Sign in here, clicks it and signs in in the page's own window, back to
// /note.
func renewNoteThenSignInHere(t *testing.T, ctx context.Context, b renewBanner, want string) {
	t.Helper()
	waitJS(t, ctx, `(function(){var r=`+b.root()+`;var n=r.getElementById("sg-note"),h=r.getElementById("sg-here");
return !n.hidden&&n.textContent.indexOf(`+"`"+want+"`"+`)>=0&&!h.hidden&&getComputedStyle(h).display!=="none"})()`,
		5*time.Second, "the banner's note ("+want+") and Sign in here")
	if want == "did not open" {
		viewportScreenshot(t, ctx, "absolute-blocked.png")
	}
	xy := eval[[]float64](t, ctx, `(function(){var c=`+b.root()+`.getElementById("sg-here").getBoundingClientRect();return [c.x+c.width/2,c.y+c.height/2]})()`)
	run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
	run(t, ctx, providerForm("alice", "pw-alice")...)
	waitJS(t, ctx, `location.pathname==="/note"&&document.readyState==="complete"`, 10*time.Second, "back on the page after Sign in here")
}

// TestBrowserRenewInFramesetAndStrictCSP: the renewal works from the banner
// a frameset's main frame draws, and on a page with a strict nonce-based
// Content-Security-Policy; neither page reloads.
func TestBrowserRenewInFramesetAndStrictCSP(t *testing.T) {
	for _, c := range []struct {
		path string
		doc  string
	}{
		{"/note-frameset", `document.querySelector("frame[name=main]").contentDocument`},
		{"/strict-csp", "document"},
	} {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			st := startStack(t, renewSite)
			ctx := newChrome(t)
			base := st.sites["web"]
			browserSignIn(t, ctx, base, c.path)
			eval[bool](t, ctx, `window.__sameDocument = true; true`)
			before := serverStatus(t, ctx)
			popup := popupWatch(ctx)
			b := renewBanner{doc: c.doc}
			b.clickContinue(t, ctx)
			signInAtPopup(t, ctx, popup, "alice", "pw-alice")
			waitJS(t, ctx, `!(`+bannerVisible(c.doc)+`)`, 10*time.Second, "the banner to go away after the renewal")
			if !eval[bool](t, ctx, `window.__sameDocument === true`) {
				t.Fatal("the page reloaded")
			}
			if after := serverStatus(t, ctx); after["absolute_expires_at"].(float64) <= before["absolute_expires_at"].(float64)+1000 {
				t.Fatalf("no new absolute window: %v → %v", before["absolute_expires_at"], after["absolute_expires_at"])
			}
		})
	}
}
