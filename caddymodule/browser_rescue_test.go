package caddymodule_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// rescueSite: the idle limit passes 6 s after the last input.
var rescueSite = site{name: "web", extra: "idle_timeout 6s\n\t\twarn_before 3s"}

// typeThenWaitForIdleSignOut types into the note (and a password field,
// which must never be kept) in doc, then waits for the idle limit to send
// the tab to the signed-out page.
func typeThenWaitForIdleSignOut(t *testing.T, ctx context.Context, noteSelector string, frame bool) {
	typeThenWaitForIdleSignOutPin(t, ctx, noteSelector, frame, !frame)
}

// typeThenWaitForIdleSignOutPin is typeThenWaitForIdleSignOut, typing into
// the password field #pin only when pin is set.
func typeThenWaitForIdleSignOutPin(t *testing.T, ctx context.Context, noteSelector string, frame, pin bool) {
	t.Helper()
	if frame {
		// focus the frame's note with a real click, then type: keys go to the focused frame
		xy := eval[[]float64](t, ctx, `(function(){var f=document.querySelector("frame[name=main]").getBoundingClientRect();
var n=document.querySelector("frame[name=main]").contentDocument.querySelector("#note").getBoundingClientRect();return [f.x+n.x+5,f.y+n.y+5]})()`)
		run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
		run(t, ctx, chromedp.KeyEvent("Vitals stable, continue plan"))
	} else {
		run(t, ctx, chromedp.SendKeys(chromedp.CSS(noteSelector), "Vitals stable, continue plan"))
		if pin {
			run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#pin`), "4321"))
		}
	}
	waitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&location.search.includes("reason=idle")&&document.readyState==="complete"`,
		20*time.Second, "the signed-out page at the idle limit")
}

// signInAgainAs clicks the signed-out page's Sign in again and signs in as user.
func signInAgainAs(t *testing.T, ctx context.Context, user, password, backTo string) {
	t.Helper()
	run(t, ctx, chromedp.Click(chromedp.CSS(`#signin`)))
	run(t, ctx, providerForm(user, password)...)
	waitJS(t, ctx, `location.pathname===`+"`"+backTo+"`"+`&&document.readyState==="complete"`, 10*time.Second, "back on "+backTo)
}

const noticeJS = `(function(){var h=document.querySelector("sessiongate-notice");return h&&h.shadowRoot?h.shadowRoot:null})()`

// TestBrowserRescueTypedInputForTheSamePerson: a note typed but not saved
// when the idle limit signs the person out is back in its field after they
// sign in again, with a visible notice and Undo; the password field typed
// next to it is not kept.
func TestBrowserRescueTypedInputForTheSamePerson(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	st := startStackWithAudit(t, auditLog, rescueSite)
	ctx := newChrome(t)
	browserSignIn(t, ctx, st.sites["web"], "/note")
	typeThenWaitForIdleSignOut(t, ctx, "#note", false)
	signInAgainAs(t, ctx, "alice", "pw-alice", "/note")
	waitJS(t, ctx, `document.getElementById("note").value==="Vitals stable, continue plan"`, 10*time.Second, "the note refilled")
	if pin := eval[string](t, ctx, `document.getElementById("pin").value`); pin != "" {
		t.Fatalf("a password field was kept and refilled: %q", pin)
	}
	waitJS(t, ctx, `(function(){var r=`+noticeJS+`;return !!r&&r.querySelector("[role=status]").innerText.indexOf("We kept what you had typed")>=0})()`,
		5*time.Second, "the notice")
	viewportScreenshot(t, ctx, "rescue-notice.png")
	xy := eval[[]float64](t, ctx, `(function(){var b=`+noticeJS+`.getElementById("sg-undo").getBoundingClientRect();return [b.x+b.width/2,b.y+b.height/2]})()`)
	run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
	waitJS(t, ctx, `document.getElementById("note").value===""&&!document.querySelector("sessiongate-notice")`, 5*time.Second, "Undo to empty the note and close the notice")
	var kept, restored int
	for _, ev := range auditEvents(t, auditLog) {
		if ev["msg"] == "rescue-kept" && ev["user"] == "u-alice" && ev["fields"] == float64(1) {
			kept++
		}
		if ev["msg"] == "rescue-restored" && ev["user"] == "u-alice" {
			restored++
		}
	}
	if kept != 1 || restored != 1 {
		t.Fatalf("audit: %d rescue-kept with 1 field (want 1), %d rescue-restored (want 1)", kept, restored)
	}
}

// TestBrowserRescueUnderStrictCSP: the rescue and the notice work on a page
// with a strict nonce-based Content-Security-Policy.
func TestBrowserRescueUnderStrictCSP(t *testing.T) {
	st := startStack(t, rescueSite)
	ctx := newChrome(t)
	browserSignIn(t, ctx, st.sites["web"], "/strict-csp")
	typeThenWaitForIdleSignOutPin(t, ctx, "#note", false, false)
	signInAgainAs(t, ctx, "alice", "pw-alice", "/strict-csp")
	waitJS(t, ctx, `document.getElementById("note").value==="Vitals stable, continue plan"&&document.body.getAttribute("data-app-ran")==="yes"`,
		10*time.Second, "the note refilled on the strict-CSP page")
	waitJS(t, ctx, `(function(){var r=`+noticeJS+`;var b=r&&r.querySelector("[role=status]");return !!b&&b.getBoundingClientRect().height>20})()`,
		5*time.Second, "the notice drawn")
}

// TestBrowserRescueNeverShownToAnotherPerson: another person signing in on
// that browser sees nothing of the first person's note — not on the page,
// not later — and the audit log says the note was discarded.
func TestBrowserRescueNeverShownToAnotherPerson(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	st := startStackWithAudit(t, auditLog, rescueSite)
	ctx := newChrome(t)
	browserSignIn(t, ctx, st.sites["web"], "/note")
	typeThenWaitForIdleSignOut(t, ctx, "#note", false)
	signInAgainAs(t, ctx, "clinician", "demo", "/note")
	time.Sleep(2 * time.Second) // time for a restore that must not happen
	if v := eval[string](t, ctx, `document.getElementById("note").value`); v != "" {
		t.Fatalf("another person sees the first person's note: %q", v)
	}
	if eval[bool](t, ctx, `!!document.querySelector("sessiongate-notice")`) {
		t.Fatal("another person sees the rescue notice")
	}
	discarded := false
	for _, ev := range auditEvents(t, auditLog) {
		if ev["msg"] == "rescue-discarded" && ev["user"] == "u-alice" && ev["signed_in"] == "demo-clinician-0001" {
			discarded = true
		}
	}
	if !discarded {
		t.Fatal("the audit log does not say the first person's note was discarded")
	}
}

// TestBrowserRescueInAFrame: the note typed in a frameset's frame comes back
// to that frame.
func TestBrowserRescueInAFrame(t *testing.T) {
	st := startStack(t, rescueSite)
	ctx := newChrome(t)
	browserSignIn(t, ctx, st.sites["web"], "/note-frameset")
	waitJS(t, ctx, `(function(){var f=document.querySelector("frame[name=main]");return !!f&&!!f.contentDocument&&!!f.contentDocument.querySelector("#note")})()`,
		5*time.Second, "the frame with the note")
	typeThenWaitForIdleSignOut(t, ctx, "", true)
	signInAgainAs(t, ctx, "alice", "pw-alice", "/note-frameset")
	waitJS(t, ctx, `(function(){var f=document.querySelector("frame[name=main]");var n=f&&f.contentDocument&&f.contentDocument.querySelector("#note");
return !!n&&n.value==="Vitals stable, continue plan"})()`, 10*time.Second, "the frame's note refilled")
	if !strings.Contains(eval[string](t, ctx, `location.pathname`), "note-frameset") {
		t.Fatal("not on the frameset")
	}
}

// TestBrowserRescueSentForm: the person's session is ended from another
// device while they type a note; their Save arrives after the end. The
// signed-out page explains; after signing in again the gateway asks "You
// were signed out before this was sent", and Send it now saves the note.
func TestBrowserRescueSentForm(t *testing.T) {
	st := startStack(t, site{name: "web", extra: "idle_timeout 5m\n\t\twarn_before 1m"})
	ctx := newChrome(t)
	browserSignIn(t, ctx, st.sites["web"], "/notes-form")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#note`), "Allergy: penicillin (rash)"))
	// another device of the same person signs out every other device
	other := st.newBrowser("web")
	expectApp(t, other.signIn("/chart", "alice", "pw-alice"), "/chart")
	_, csrf := other.page("/.sessiongate/sessions")
	readBody(t, other.post("/.sessiongate/sessions", url.Values{"csrf": {csrf}, "action": {"end_others"}}))
	// Save, before the banner's next status check could notice
	run(t, ctx, chromedp.Click(chromedp.CSS(`#save`)))
	waitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&location.search.includes("reason=revoked")&&document.readyState==="complete"`,
		10*time.Second, "the signed-out page (ended from another device)")
	run(t, ctx, chromedp.Click(chromedp.CSS(`#signin`)))
	run(t, ctx, providerForm("alice", "pw-alice")...)
	waitJS(t, ctx, `location.pathname==="/.sessiongate/resend"&&document.body.innerText.indexOf("You were signed out before this was sent")>=0`,
		10*time.Second, "the question about the kept form")
	screenshot(t, ctx, "resend.png")
	run(t, ctx, chromedp.Click(chromedp.CSS(`#send`)))
	waitJS(t, ctx, `(function(){var p=document.getElementById("saved");return !!p&&p.textContent==="Saved note: Allergy: penicillin (rash) (patient p-17)"})()`,
		10*time.Second, "the app's answer to the note sent again")
}
