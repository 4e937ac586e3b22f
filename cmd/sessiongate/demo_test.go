package main

import (
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

// TestDemoCommand starts `sessiongate demo` as a subprocess, signs in through
// the development provider's form, reaches the sample app through the
// gateway with the banner script injected, and stops it with Ctrl-C.
func TestDemoCommand(t *testing.T) {
	bin := buildBinary(t)
	gw, idp, app := freeAddr(t), freeAddr(t), freeAddr(t)
	logf, err := os.Create(filepath.Join(t.TempDir(), "demo.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "demo", "--listen", gw, "--idp-listen", idp, "--app-listen", app)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	// the URL the demo prints is the one a person opens
	printedRe := regexp.MustCompile(`Open\s+(http://\S+)/`)
	var base string
	for deadline := time.Now().Add(15 * time.Second); base == ""; time.Sleep(100 * time.Millisecond) {
		out, _ := os.ReadFile(logf.Name())
		if m := printedRe.FindSubmatch(out); m != nil {
			base = string(m[1])
		} else if time.Now().After(deadline) {
			t.Fatalf("demo printed no URL to open:\n%s", out)
		}
	}
	if want := "http://localhost:" + gw[strings.LastIndex(gw, ":")+1:]; base != want {
		t.Fatalf("demo printed %s for --listen %s, want %s", base, gw, want)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, base+"/patients", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Request.URL.String(), "http://"+idp) {
		t.Fatalf("want the development sign-in, got %s", resp.Request.URL)
	}
	final, err := devidp.SubmitLogin(client, resp, "clinician", "demo")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, final)
	// load the page as a browser navigation does
	req, _ = http.NewRequest(http.MethodGet, base+"/patients", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-User", "?1")
	if final, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	body := readAll(t, final)
	if final.StatusCode != 200 || !strings.Contains(body, "Sample EHR") || !strings.Contains(body, "Maria Lopez") {
		t.Fatalf("sample app through the gateway: %s %.400s", final.Status, body)
	}
	if !strings.Contains(body, `/.sessiongate/banner.js?v=`) {
		t.Fatalf("banner script not injected: %.600s", body)
	}
	// the frameset page and the strict-CSP page of the sample app
	for _, page := range []struct{ path, want string }{
		{"/chart", `<frameset rows=`},
		{"/chart/nav", `target="main"`},
		{"/secure", `id="own-script"`},
	} {
		req, _ = http.NewRequest(http.MethodGet, base+page.path, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, page.want) || !strings.Contains(body, `/.sessiongate/banner.js?v=`) {
			t.Fatalf("%s through the gateway: %s %.600s", page.path, resp.Status, body)
		}
		if page.path == "/secure" {
			// the banner's tag carries a nonce of its own that the policy
			// now allows, beside the app's nonce
			csp := resp.Header.Get("Content-Security-Policy")
			m := regexp.MustCompile(`<script[^>]*banner\.js[^>]*nonce="([^"]+)"|<script[^>]*nonce="([^"]+)"[^>]*banner\.js`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("banner tag without a nonce under a nonce policy: %.600s", body)
			}
			nonce := m[1] + m[2]
			if strings.Count(csp, "'nonce-") < 3 || !strings.Contains(csp, "'nonce-"+nonce+"'") || strings.Contains(csp, "unsafe-inline") {
				t.Fatalf("strict CSP not amended for exactly the banner (nonce %s): %q", nonce, csp)
			}
		}
	}
	out, _ := os.ReadFile(logf.Name())
	for _, want := range []string{"DEVELOPMENT ONLY", "clinician", "http://"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo did not exit cleanly on Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop within 10s of Ctrl-C")
	}
}

func TestDemoRefusesNonLoopback(t *testing.T) {
	bin := buildBinary(t)
	out, err := run(t, bin, nil, "demo", "--listen", "0.0.0.0:0")
	if err == nil || !strings.Contains(out, "loopback") {
		t.Fatalf("want a refusal, got err=%v\n%s", err, out)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
