package caddymodule_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessiongate/sessiongate/internal/browsertest"
)

// The browser helpers live in internal/browsertest, shared with the demo's
// browser test; these names keep the tests short.
func newChrome(t *testing.T) context.Context { return browsertest.New(t) }

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Run(t, ctx, actions...)
}

func eval[T any](t *testing.T, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	return browsertest.Eval[T](t, ctx, js, opts...)
}

func waitJS(t *testing.T, ctx context.Context, js string, timeout time.Duration, what string) {
	t.Helper()
	browsertest.WaitJS(t, ctx, js, timeout, what)
}

// providerForm fills the development provider's sign-in form and submits it.
func providerForm(user, password string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	}
}

// browserSignIn signs in through the provider's form in the real browser.
func browserSignIn(t *testing.T, ctx context.Context, base, path string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+path))
	run(t, ctx, providerForm("alice", "pw-alice")...)
	waitJS(t, ctx, fmt.Sprintf(`location.href.startsWith(%q)&&document.readyState==="complete"`, base+path), 10*time.Second,
		"return to "+path)
}

const bannerJS = browsertest.BannerRoot

// bannerVisible is true when the banner's dialog is displayed with a size.
func bannerVisible(doc string) string { return browsertest.BannerVisible(doc) }

func bannerText(t *testing.T, ctx context.Context) string {
	return eval[string](t, ctx, `(function(){var r=`+bannerJS+`;return r?r.querySelector("[role=alertdialog]").innerText:""})()`)
}

func serverStatus(t *testing.T, ctx context.Context) map[string]any {
	t.Helper()
	return eval[map[string]any](t, ctx, `fetch("/.sessiongate/status",{credentials:"same-origin"}).then(r=>r.json())`, chromedp.EvalAwaitPromise)
}

// screenshot saves a PNG of the page into docs/ when SESSIONGATE_SCREENSHOTS
// is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	saveScreenshot(t, ctx, name, chromedp.FullScreenshot(100))
}

// viewportScreenshot is screenshot of what the window shows (for long pages).
func viewportScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	saveScreenshot(t, ctx, name, chromedp.CaptureScreenshot())
}

func saveScreenshot(t *testing.T, ctx context.Context, name string, shot chromedp.Action[[]byte]) {
	t.Helper()
	if os.Getenv("SESSIONGATE_SCREENSHOTS") == "" {
		return
	}
	buf, err := chromedp.Run(ctx, shot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// browserSite: banner after 3s (idle 8s, warning 5s).
var browserSite = site{name: "web", extra: "idle_timeout 8s\n\t\twarn_before 5s"}

func TestBrowserBannerCountsDownAndContinueExtends(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/patients")
	if eval[bool](t, ctx, bannerVisible("document")) {
		t.Fatal("banner shown before the warning time")
	}
	start := time.Now()
	waitJS(t, ctx, bannerVisible("document"), 6*time.Second, "the idle warning")
	if el := time.Since(start); el < 1500*time.Millisecond {
		t.Fatalf("banner appeared too early: %v after sign-in page", el)
	}
	text1 := bannerText(t, ctx)
	if !strings.Contains(text1, "Continue session") || !strings.Contains(text1, "Log out now") || !strings.Contains(text1, "you will be signed out in 0:0") {
		t.Fatalf("banner text: %q", text1)
	}
	time.Sleep(300 * time.Millisecond) // let the entrance animation finish
	screenshot(t, ctx, "banner.png")
	time.Sleep(1100 * time.Millisecond)
	text2 := bannerText(t, ctx)
	if text1 == text2 {
		t.Fatalf("countdown did not move: %q", text2)
	}
	role := eval[string](t, ctx, `(function(){var r=`+bannerJS+`;var d=r.querySelector("[role=alertdialog]");return d.getAttribute("role")+"|"+(r.activeElement?r.activeElement.id:"")})()`)
	if role != "alertdialog|sg-continue" {
		t.Fatalf("role/focus: %q", role)
	}
	before := serverStatus(t, ctx)["idle_expires_at"].(float64)
	// a real mouse click on Continue session
	xy := eval[[]float64](t, ctx, `(function(){var b=`+bannerJS+`.getElementById("sg-continue").getBoundingClientRect();return [b.x+b.width/2,b.y+b.height/2]})()`)
	run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
	waitJS(t, ctx, "!"+bannerVisible("document"), 3*time.Second, "the banner to close after Continue")
	after := serverStatus(t, ctx)["idle_expires_at"].(float64)
	if after <= before {
		t.Fatalf("Continue did not extend the server's idle deadline: %v → %v", before, after)
	}
}

func TestBrowserExpiryLandsOnSignedOutPage(t *testing.T) {
	st := startStack(t, site{name: "web", extra: "idle_timeout 4s\n\t\twarn_before 2s"})
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/poll")
	waitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&document.readyState==="complete"`, 10*time.Second, "the signed-out page (XHR polling must not keep the session)")
	txt := eval[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(txt, "You were signed out for security reasons") || !strings.Contains(txt, "after 4 seconds of inactivity") {
		t.Fatalf("signed-out page: %q", txt)
	}
	screenshot(t, ctx, "signed-out.png")
}

func TestBrowserLogoutNow(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	// a page whose CSP lets forms go only to the app: sign-out must still
	// reach the provider's logout and come back
	browserSignIn(t, ctx, base, "/form-action-csp")
	waitJS(t, ctx, bannerVisible("document"), 6*time.Second, "the idle warning")
	calls := st.idp.EndSessionCalls()
	eval[bool](t, ctx, bannerJS+`.getElementById("sg-logout").click()||true`)
	waitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&document.body.innerText.includes("You have signed out")`, 5*time.Second, "the signed-out page after Log out now")
	if st.idp.EndSessionCalls() != calls+1 {
		t.Fatal("Log out now did not end the provider's session")
	}
	// the session is over on the server: the app asks for the password again
	run(t, ctx, chromedp.Navigate(base+"/patients"))
	waitJS(t, ctx, `!!document.querySelector("#password")`, 5*time.Second, "the provider's login form after Log out now")
	if reqs := st.idp.AuthorizeRequests(); reqs[len(reqs)-1].Prompt != "login" {
		t.Fatalf("sign-in after logout must use prompt=login: %+v", reqs[len(reqs)-1])
	}
}

func TestBrowserTabsStayInStep(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/patients")
	tab2, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(tab2); err != nil { // opens the tab; no timeout on this first call
		t.Fatal(err)
	}
	run(t, tab2, chromedp.Navigate(base+"/chart"))
	waitJS(t, ctx, bannerVisible("document"), 7*time.Second, "the warning in tab 1")
	waitJS(t, tab2, bannerVisible("document"), 7*time.Second, "the warning in tab 2")
	eval[bool](t, ctx, bannerJS+`.getElementById("sg-continue").click()||true`)
	waitJS(t, tab2, "!"+bannerVisible("document"), 3*time.Second, "Continue in tab 1 to close tab 2's banner")
}

func TestBrowserFramesetShowsExactlyOneBanner(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/frameset")
	count := `(function(){var n=0;var fs=document.querySelectorAll("frame");for(var i=0;i<fs.length;i++){var d=fs[i].contentDocument;
var h=d&&d.querySelector("sessiongate-banner");if(h&&getComputedStyle(h).display!=="none"&&h.shadowRoot.querySelector("[role=alertdialog]"))n++;}return n;})()`
	waitJS(t, ctx, count+"===1", 7*time.Second, "one banner in the frameset")
	time.Sleep(1200 * time.Millisecond)
	if n := eval[float64](t, ctx, count); n != 1 {
		t.Fatalf("%v banners in the frameset", n)
	}
	main := eval[string](t, ctx, `(function(){var fs=document.querySelectorAll("frame");for(var i=0;i<fs.length;i++){if(fs[i].contentDocument.querySelector("sessiongate-banner"))return fs[i].name}return ""})()`)
	if main != "main" {
		t.Fatalf("the banner should be in the largest frame, got %q", main)
	}
}

func TestBrowserHostileCSS(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/hostile")
	waitJS(t, ctx, bannerVisible("document"), 7*time.Second, "the banner despite hostile CSS")
	m := eval[map[string]any](t, ctx, `(function(){var r=`+bannerJS+`;var t=getComputedStyle(r.getElementById("sg-title"));var b=r.getElementById("sg-continue").getBoundingClientRect();
return {font: parseFloat(t.fontSize), vis: t.visibility, h: b.height, w: b.width, color: t.color}})()`)
	if m["font"].(float64) < 16 || m["vis"] != "visible" || m["h"].(float64) < 44 || m["color"] == "rgb(255, 255, 255)" {
		t.Fatalf("banner not readable under hostile CSS: %v", m)
	}
}

func TestBrowserStrictCSP(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	for _, page := range []string{"/strict-csp", "/inline-csp"} {
		if page == "/strict-csp" {
			browserSignIn(t, ctx, base, page)
		} else {
			run(t, ctx, chromedp.Navigate(base+page))
		}
		waitJS(t, ctx, `document.body&&document.body.getAttribute("data-app-ran")==="yes"`, 5*time.Second, page+": the app's own script")
		waitJS(t, ctx, bannerVisible("document"), 7*time.Second, page+": the banner under CSP")
	}
}

func TestBrowserNarrowViewport(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	run(t, ctx, chromedp.EmulateViewport(320, 640))
	browserSignIn(t, ctx, base, "/patients")
	waitJS(t, ctx, bannerVisible("document"), 7*time.Second, "the banner at 320px")
	m := eval[map[string]any](t, ctx, `(function(){var r=`+bannerJS+`;var b=r.querySelector("[role=alertdialog]").getBoundingClientRect();
var c=r.getElementById("sg-continue").getBoundingClientRect();var o=r.getElementById("sg-logout").getBoundingClientRect();
return {left:b.left,right:b.right,ch:c.height,cw:c.width,oh:o.height,oright:o.right}})()`)
	if m["left"].(float64) < 0 || m["right"].(float64) > 320 || m["ch"].(float64) < 44 || m["oh"].(float64) < 44 || m["oright"].(float64) > 320 {
		t.Fatalf("banner at 320px: %v", m)
	}
	time.Sleep(300 * time.Millisecond)
	screenshot(t, ctx, "banner-320.png")
}

// TestBrowserAbsoluteWarningHasNoContinue: with renew_in_place off, the
// absolute warning offers only Log out now.
func TestBrowserAbsoluteWarningHasNoContinue(t *testing.T) {
	st := startStack(t, site{name: "web", extra: "idle_timeout 6s\n\t\twarn_before 1s\n\t\tabsolute_timeout 6s\n\t\tabsolute_warn_before 4s\n\t\trenew_in_place off"})
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/patients")
	waitJS(t, ctx, bannerVisible("document"), 5*time.Second, "the absolute warning")
	text := bannerText(t, ctx)
	if !strings.Contains(text, "Your session ends at") || !strings.Contains(text, "Save your work") {
		t.Fatalf("absolute warning text: %q", text)
	}
	if shown := eval[bool](t, ctx, `getComputedStyle(`+bannerJS+`.getElementById("sg-continue")).display!=="none"`); shown {
		t.Fatal("the absolute warning must not offer Continue session")
	}
	assertBannerContrast(t, ctx, "absolute warning")
	waitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&location.search.includes("reason=absolute")&&document.readyState==="complete"`, 8*time.Second, "the signed-out page at the absolute limit")
	if txt := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(txt, "session limit was reached") {
		t.Fatalf("signed-out page: %q", txt)
	}
}

func TestBrowserKeyboardOperation(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/form")
	run(t, ctx, chromedp.Focus(chromedp.CSS("#q")))
	waitJS(t, ctx, bannerVisible("document"), 7*time.Second, "the idle warning")
	if id := eval[string](t, ctx, bannerJS+`.activeElement.id`); id != "sg-continue" {
		t.Fatalf("focus should move to Continue session, is on %q", id)
	}
	run(t, ctx, chromedp.KeyEvent("\t"))
	if id := eval[string](t, ctx, bannerJS+`.activeElement.id`); id != "sg-logout" {
		t.Fatalf("Tab should reach Log out now, focus is on %q", id)
	}
	before := serverStatus(t, ctx)["idle_expires_at"].(float64)
	run(t, ctx, chromedp.KeyEvent("\u001b")) // Escape continues the session during the idle warning
	waitJS(t, ctx, "!"+bannerVisible("document"), 3*time.Second, "the banner to close on Escape")
	if id := eval[string](t, ctx, `document.activeElement&&document.activeElement.id`); id != "q" {
		t.Fatalf("focus should return to the page's field, is on %q", id)
	}
	time.Sleep(300 * time.Millisecond)
	if after := serverStatus(t, ctx)["idle_expires_at"].(float64); after <= before {
		t.Fatalf("Escape did not extend the server's idle deadline: %v → %v", before, after)
	}
}
