package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestSampleAppPages(t *testing.T) {
	app := &sampleApp{}
	for path, want := range map[string]string{
		"/patients":    "Maria Lopez",
		"/notes":       `<form method="post"`,
		"/queue":       `setInterval(poll,5000)`,
		"/chart":       `<frame name="main" src="/patients">`,
		"/chart/nav":   `target="main"`,
		"/secure":      `id="own-script"`,
		"/api/queue":   `"waiting":`,
		"/nonexisting": "404 page not found",
	} {
		res, body := get(t, app, path)
		if !strings.Contains(body, want) {
			t.Errorf("%s (%d): want %q in %.300s", path, res.StatusCode, want, body)
		}
	}
}

// The strict-CSP page's own script and style carry the nonce its policy names,
// so they run in a browser; a fresh nonce is used for every response.
func TestSampleAppStrictCSPNonce(t *testing.T) {
	app := &sampleApp{}
	res, body := get(t, app, "/secure")
	csp := res.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("policy: %q", csp)
	}
	if !strings.Contains(body, `<script nonce="`+m[1]+`">`) || !strings.Contains(body, `<style nonce="`+m[1]+`">`) {
		t.Fatalf("script/style lack the nonce %q: %.500s", m[1], body)
	}
	res2, _ := get(t, app, "/secure")
	if res2.Header.Get("Content-Security-Policy") == csp {
		t.Fatal("the nonce is reused across responses")
	}
	// other pages send no policy
	if res, _ := get(t, app, "/patients"); res.Header.Get("Content-Security-Policy") != "" {
		t.Fatal("unexpected policy on a plain page")
	}
}
