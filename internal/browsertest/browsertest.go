// Package browsertest drives Debian's headless Chromium from Go tests with
// chromedp: one fresh browser profile per test, actions and script
// evaluation with timeouts, and polling for a condition in the page.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds Debian's chromium (installed by `make test`). Under CI
// a missing browser fails the test; elsewhere the test is skipped.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found: `make test` installs it (apt-get install chromium)")
	}
	t.Skip("chromium not installed; run `make test` to install it")
	return ""
}

// New starts a headless Chromium with a fresh profile and returns a context
// for its first tab; extra options (flags) are added to the usual ones. The
// browser is stopped when the test ends.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// several tabs are tested at once: keep background tabs running
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 768),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Run performs actions in the tab, failing the test after 20 s or on error.
func Run(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("chromedp: %v", err)
	}
}

// Eval evaluates a script expression in the tab and returns its value.
func Eval[T any](t testing.TB, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluate %.80s: %v", js, err)
	}
	return v
}

// WaitJS polls a script's boolean expression until it is true, failing the
// test with what it waited for when timeout passes first.
func WaitJS(t testing.TB, ctx context.Context, js string, timeout time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
			url, _ := chromedp.Run(lctx, chromedp.Location())
			lcancel()
			t.Fatalf("timed out after %v waiting for %s (at %s, last error %v)", timeout, what, url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BannerRoot is a script expression for the warning banner's shadow root in
// the document, or null.
const BannerRoot = `(function(){var h=document.querySelector("sessiongate-banner");return h&&h.shadowRoot?h.shadowRoot:null})()`

// BannerVisible returns a script expression that is true when the banner's
// dialog is displayed with a size in doc (a script expression for a
// document, e.g. "document" or a frame's contentDocument).
func BannerVisible(doc string) string {
	return `(function(){var h=` + doc + `.querySelector("sessiongate-banner");if(!h||!h.shadowRoot)return false;
var b=h.shadowRoot.querySelector("[role=alertdialog]");if(!b)return false;var r=b.getBoundingClientRect();
return getComputedStyle(h).display!=="none"&&r.width>100&&r.height>40;})()`
}

// ClickBannerButton clicks the banner's button with the given id
// (sg-continue, sg-logout) with a real mouse click at its centre.
func ClickBannerButton(t testing.TB, ctx context.Context, id string) {
	t.Helper()
	xy := Eval[[]float64](t, ctx, `(function(){var b=`+BannerRoot+`.getElementById("`+id+`").getBoundingClientRect();return [b.x+b.width/2,b.y+b.height/2]})()`)
	Run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
}
