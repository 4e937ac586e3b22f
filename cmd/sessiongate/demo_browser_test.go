package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessiongate/sessiongate/internal/browsertest"
	"github.com/sessiongate/sessiongate/internal/readme"
)

// demoTimerFlags shorten the demo's timers so that a warning and a
// Continue happen within seconds.
const demoTimerFlags = "--idle 10s --warn 6s --absolute 5m"

// TestDemoAsPrintedInChromium is a newcomer's first ten minutes: it runs the
// README's demo command exactly as printed (plus short timers), opens the
// URL the demo prints in real Chromium, signs in as a demo user, sees the
// sample app and the warning banner, presses Continue session, logs out and
// lands on the signed-out page. Then it signs in through the other names of
// the same address (127.0.0.1, and [::1] where this machine has it).
func TestDemoAsPrintedInChromium(t *testing.T) {
	ctx := browsertest.New(t)
	line, err := readme.Find(filepath.Join("..", "..", "README.md"), readme.DemoPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"8080", "8081", "9090"} { // the demo's default addresses
		if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err != nil {
			t.Fatalf("the README's demo needs port %s free on this machine: %v", port, err)
		} else {
			ln.Close()
		}
	}
	demo := startPrinted(t, line+" "+demoTimerFlags)
	printed := demo.waitFor(t, regexp.MustCompile(`Open\s+(http://\S+)`), 8*time.Minute)
	if printed != "http://localhost:8080/" {
		t.Errorf("the demo printed %s; the README promises http://localhost:8080/", printed)
	}

	// sign in at the printed URL
	browsertest.Run(t, ctx, chromedp.Navigate(printed))
	signInAt(t, ctx, printed, "clinician", "demo")
	body := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(body, "Sample EHR") || !strings.Contains(body, "Patients") {
		t.Fatalf("the sample app is not shown at %s: %.300q", printed, body)
	}
	// the warning banner, then Continue session with a real click
	browsertest.WaitJS(t, ctx, browsertest.BannerVisible("document"), 10*time.Second, "the idle warning banner")
	text := browsertest.Eval[string](t, ctx, `(function(){var r=`+browsertest.BannerRoot+`;return r.querySelector("[role=alertdialog]").innerText})()`)
	if !strings.Contains(text, "Continue session") || !strings.Contains(text, "Log out now") {
		t.Fatalf("banner text: %q", text)
	}
	before := idleDeadline(t, ctx)
	browsertest.ClickBannerButton(t, ctx, "sg-continue")
	browsertest.WaitJS(t, ctx, "!"+browsertest.BannerVisible("document"), 3*time.Second, "the banner to close after Continue session")
	if after := idleDeadline(t, ctx); after <= before {
		t.Fatalf("Continue session did not extend the idle deadline: %v → %v", before, after)
	}
	// the warning again, and Log out now
	browsertest.WaitJS(t, ctx, browsertest.BannerVisible("document"), 10*time.Second, "the idle warning after Continue")
	browsertest.ClickBannerButton(t, ctx, "sg-logout")
	browsertest.WaitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&document.body.innerText.includes("You have signed out")`,
		10*time.Second, "the signed-out page after Log out now")
	if u := browsertest.Eval[string](t, ctx, `location.origin+"/"`); u != printed {
		t.Errorf("signed out at %s, not on the printed %s", u, printed)
	}

	// a note typed but not saved when the idle limit passes is back after
	// signing in again (typed-input rescue)
	browsertest.Run(t, ctx, chromedp.Navigate(printed+"notes"))
	signInAt(t, ctx, printed, "clinician", "demo")
	browsertest.Run(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name=note]`), "Call the lab about the potassium"))
	browsertest.WaitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&location.search.includes("reason=idle")&&document.readyState==="complete"`,
		25*time.Second, "the signed-out page at the idle limit")
	browsertest.Run(t, ctx, chromedp.Click(chromedp.CSS(`#signin`)))
	signInAt(t, ctx, printed, "clinician", "demo")
	browsertest.WaitJS(t, ctx, `location.pathname==="/notes"&&document.querySelector("input[name=note]").value==="Call the lab about the potassium"`,
		10*time.Second, "the note typed before the idle limit, back on /notes")

	// the other names a person may type for the same address
	others := []string{"http://127.0.0.1:8080/"}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		others = append(others, "http://[::1]:8080/")
	}
	for _, base := range others {
		browsertest.Run(t, ctx, chromedp.Navigate(base+"patients"))
		signInAt(t, ctx, base, "frontdesk", "demo")
		if !browsertest.Eval[bool](t, ctx, `document.body.innerText.includes("Sample EHR")&&!!document.querySelector('script[src*="/.sessiongate/banner.js"]')`) {
			t.Fatalf("%s: the sample app with the banner script is not shown", base)
		}
	}
	demo.interrupt(t)
}

// signInAt fills the development provider's form, unless the provider's
// single sign-on session signs the browser in by itself (a name of the demo
// this browser has not used yet), and waits to come back to base with the
// page loaded.
func signInAt(t *testing.T, ctx context.Context, base, user, password string) {
	t.Helper()
	back := fmt.Sprintf(`location.href.startsWith(%q)&&document.readyState==="complete"&&!location.pathname.startsWith("/.sessiongate/")`, base)
	browsertest.WaitJS(t, ctx, `!!document.querySelector("#password")||(`+back+`)`, 10*time.Second, "the development sign-in form")
	if browsertest.Eval[bool](t, ctx, back) {
		return
	}
	browsertest.Run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	browsertest.WaitJS(t, ctx, back, 10*time.Second, "the return to "+base+" after sign-in")
}

func idleDeadline(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	st := browsertest.Eval[map[string]any](t, ctx, `fetch("/.sessiongate/status",{credentials:"same-origin"}).then(r=>r.json())`, chromedp.EvalAwaitPromise)
	v, ok := st["idle_expires_at"].(float64)
	if !ok {
		t.Fatalf("status without idle_expires_at: %v", st)
	}
	return v
}

// printedProcess is a shell command line run from the repository root, as a
// person would type it, in its own process group; its output is kept.
type printedProcess struct {
	cmd  *exec.Cmd
	done chan error
	mu   sync.Mutex
	out  strings.Builder
	seen chan struct{} // signalled on every new output line
}

func startPrinted(t *testing.T, line string) *printedProcess {
	t.Helper()
	p := &printedProcess{done: make(chan error, 1), seen: make(chan struct{}, 1)}
	p.cmd = exec.Command("sh", "-c", "exec "+line)
	p.cmd.Dir = filepath.Join("..", "..")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.seen <- struct{}{}:
			default:
			}
		}
	}()
	go func() { err := p.cmd.Wait(); pw.Close(); p.done <- err }()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("output of %q:\n%s", line, p.output())
		}
	})
	return p
}

func (p *printedProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor returns the first submatch of re in the output.
func (p *printedProcess) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			if _, err := url.Parse(m[1]); err != nil {
				t.Fatalf("printed URL %q: %v", m[1], err)
			}
			return m[1]
		}
		select {
		case <-p.seen:
		case err := <-p.done:
			t.Fatalf("exited before printing %s: %v", re, err)
		case <-deadline:
			t.Fatalf("nothing matching %s printed within %v", re, timeout)
		}
	}
}

// interrupt presses Ctrl-C (SIGINT to the process group) and expects a
// clean exit.
func (p *printedProcess) interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil && !strings.Contains(p.output(), "shutting down") {
			t.Fatalf("did not exit cleanly on Ctrl-C: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not stop within 15s of Ctrl-C")
	}
}
