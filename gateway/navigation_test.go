package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/internal/testclock"
)

// TestOneNavigationRule drives requests that tell a page load from a
// script's request in unusual spellings through the whole gateway, signed
// out and signed in: the gateway answers with a page exactly when the
// injector adds the banner (both ask inject.IsNavigation), so no request is
// a "page" to one and "background" to the other. Before the two shared one
// test, "NAVIGATE" was a page to the injector only and an XHTML-only Accept
// to the gateway only.
func TestOneNavigationRule(t *testing.T) {
	for _, c := range []struct {
		name       string
		method     string
		hdr        map[string]string
		navigation bool
	}{
		{"fetch metadata navigate", "GET", map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, true},
		{"upper-case mode", "GET", map[string]string{"Sec-Fetch-Mode": "NAVIGATE"}, true},
		{"spaced mode", "GET", map[string]string{"Sec-Fetch-Mode": " navigate "}, true},
		{"cors fetch accepting html", "GET", map[string]string{"Sec-Fetch-Mode": "cors", "Accept": "text/html"}, false},
		{"no-cors subresource", "GET", map[string]string{"Sec-Fetch-Mode": "no-cors"}, false},
		{"old browser, html", "GET", map[string]string{"Accept": "text/html,*/*"}, true},
		{"old browser, upper-case html", "GET", map[string]string{"Accept": "TEXT/HTML"}, true},
		{"old browser, xhtml only", "GET", map[string]string{"Accept": "application/xhtml+xml"}, true},
		{"old browser, xhr", "GET", map[string]string{"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}, false},
		{"old browser, json", "GET", map[string]string{"Accept": "application/json"}, false},
		{"old browser, html POST", "POST", map[string]string{"Accept": "text/html"}, false},
		{"form POST navigation", "POST", map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil, testclock.New())
			signedOut := f.serve(request(c.method, "/chart", nil, c.hdr))
			page := signedOut.Code == http.StatusFound || strings.HasPrefix(signedOut.Header().Get("Content-Type"), "text/html")
			if page != c.navigation {
				t.Errorf("signed out: %d %s; a page: %v, want %v", signedOut.Code,
					signedOut.Header().Get("Content-Type"), page, c.navigation)
			}
			if json := strings.HasPrefix(signedOut.Header().Get("Content-Type"), "application/json"); json == c.navigation {
				t.Errorf("signed out: JSON answer %v for navigation %v", json, c.navigation)
			}
			cookie := f.signIn(t)
			r := request(c.method, "/chart", cookie, c.hdr)
			w := httptest.NewRecorder()
			_ = f.g.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, err := w.Write([]byte("<!doctype html><html><head><title>t</title></head><body>chart</body></html>"))
				return err
			})
			injected := strings.Contains(w.Body.String(), f.g.BannerSrc())
			if injected != c.navigation {
				t.Errorf("signed in: banner injected %v, want %v (body %q)", injected, c.navigation, w.Body.String())
			}
		})
	}
}
