package main

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/sessiongate/sessiongate/internal/browsertest"
	"github.com/sessiongate/sessiongate/internal/readme"
)

// TestDemoContinueAtTheTimeLimit is the demo's other promise: a note typed
// on /notes, the time-limit warning, Continue session, a sign-in in the
// small window — and the page and the note are untouched while the session
// has a new time limit. The README's demo line, as printed, with a 20 s
// time limit (its warning comes 10 s before).
func TestDemoContinueAtTheTimeLimit(t *testing.T) {
	ctx := browsertest.New(t)
	line, err := readme.Find(filepath.Join("..", "..", "README.md"), readme.DemoPrefix)
	if err != nil {
		t.Fatal(err)
	}
	demo := startPrinted(t, line+" --idle 20s --warn 5s --absolute 20s")
	printed := demo.waitFor(t, regexp.MustCompile(`Open\s+(http://\S+)`), 8*time.Minute)
	browsertest.Run(t, ctx, chromedp.Navigate(printed+"notes"))
	signInAt(t, ctx, printed, "clinician", "demo")
	browsertest.Run(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name=note]`), "Recheck BP at 4 pm"))
	browsertest.Eval[bool](t, ctx, `window.__sameDocument = true; true`)
	browsertest.WaitJS(t, ctx, browsertest.BannerVisible("document"), 15*time.Second, "the time-limit warning")
	before := browsertest.Eval[map[string]any](t, ctx, `fetch("/.sessiongate/status",{credentials:"same-origin"}).then(r=>r.json())`, chromedp.EvalAwaitPromise)
	popup := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
	browsertest.ClickBannerButton(t, ctx, "sg-continue")
	var id target.ID
	select {
	case id = <-popup:
	case <-time.After(10 * time.Second):
		t.Fatal("Continue session opened no sign-in window")
	}
	pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	t.Cleanup(cancel) // cancelling closes the window, which closes itself
	browsertest.Run(t, pctx,
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "clinician"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "demo"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	browsertest.WaitJS(t, ctx, "!"+browsertest.BannerVisible("document"), 10*time.Second, "the warning to go away after the sign-in")
	after := browsertest.Eval[map[string]any](t, ctx, `fetch("/.sessiongate/status",{credentials:"same-origin"}).then(r=>r.json())`, chromedp.EvalAwaitPromise)
	b, _ := before["absolute_expires_at"].(float64)
	a, _ := after["absolute_expires_at"].(float64)
	if a <= b+1000 {
		t.Fatalf("no new time limit: %v → %v", b, a)
	}
	if !browsertest.Eval[bool](t, ctx, `window.__sameDocument===true&&location.pathname==="/notes"&&document.querySelector("input[name=note]").value==="Recheck BP at 4 pm"`) {
		t.Fatal("the page or the note did not stay as they were")
	}
	demo.interrupt(t)
}

// TestDemoSaveAfterTheIdleLimit: the demo's notes form, saved after the idle
// limit — the laptop slept with the page open (the page frozen, as Chromium
// freezes a page in the background), so nothing on it could act before the
// person pressed Save on waking it. The late Save is kept; after signing in
// again the demo asks "You were signed out before this was sent", and Send
// it now saves the note.
func TestDemoSaveAfterTheIdleLimit(t *testing.T) {
	ctx := browsertest.New(t)
	line, err := readme.Find(filepath.Join("..", "..", "README.md"), readme.DemoPrefix)
	if err != nil {
		t.Fatal(err)
	}
	demo := startPrinted(t, line+" "+demoTimerFlags)
	printed := demo.waitFor(t, regexp.MustCompile(`Open\s+(http://\S+)`), 8*time.Minute)
	browsertest.Run(t, ctx, chromedp.Navigate(printed+"notes"))
	signInAt(t, ctx, printed, "clinician", "demo")
	browsertest.Run(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name=note]`), "Refill lisinopril 10 mg"))
	save := browsertest.Eval[[]float64](t, ctx, `(function(){var b=document.querySelector('form[action="/notes"] button').getBoundingClientRect();return [b.x+b.width/2,b.y+b.height/2]})()`)
	setLifecycle(t, ctx, page.SetWebLifecycleStateStateFrozen)
	time.Sleep(11 * time.Second) // the demo's idle limit (10 s) passes while the page sleeps
	// waking up: the person's click on Save comes as the page resumes
	browsertest.Run(t, ctx, chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(c, tg, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateActive})
		return err
	}), chromedp.MouseClickXY(save[0], save[1]))
	browsertest.WaitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&document.readyState==="complete"`,
		10*time.Second, "the signed-out page")
	browsertest.Run(t, ctx, chromedp.Click(chromedp.CSS(`#signin`)))
	signInAtResend(t, ctx, "clinician", "demo")
	browsertest.Run(t, ctx, chromedp.Click(chromedp.CSS(`#send`)))
	browsertest.WaitJS(t, ctx, `location.pathname==="/notes"&&document.body.innerText.includes("Refill lisinopril 10 mg")`,
		10*time.Second, "the note saved by Send it now")
	demo.interrupt(t)
}

// setLifecycle freezes or resumes the tab's page.
func setLifecycle(t *testing.T, ctx context.Context, state page.SetWebLifecycleStateState) {
	t.Helper()
	browsertest.Run(t, ctx, chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(c, tg, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: state})
		return err
	}))
}

// signInAtResend fills the development provider's form and waits for the
// gateway's question about a kept form.
func signInAtResend(t *testing.T, ctx context.Context, user, password string) {
	t.Helper()
	browsertest.Run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	browsertest.WaitJS(t, ctx, `location.pathname==="/.sessiongate/resend"&&document.body.innerText.includes("You were signed out before this was sent")`,
		10*time.Second, "the question about the kept form")
}
