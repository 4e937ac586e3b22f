package caddymodule_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestErrorPagesHandedToCaddy: with error_pages caddy, the page loads the
// gateway refuses reach the site's handle_errors (restyled, with the
// gateway's status and Retry-After), while scripts' requests keep the JSON
// the banner reads; without the option (the other site) the gateway's own
// pages answer, as before.
func TestErrorPagesHandedToCaddy(t *testing.T) {
	restyle := readmeHandleErrors(t)
	st := startStack(t,
		site{name: "caddy", extra: "error_pages caddy", siteExtra: restyle},
		site{name: "own"})
	caddyPages, ownPages := st.newBrowser("caddy"), st.newBrowser("own")
	caddyPages.signIn("/chart", "alice", "pw-alice")
	ownPages.signIn("/chart", "alice", "pw-alice")

	// an unknown endpoint and a wrong method: 404, 405
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/.sessiongate/nope", 404}, {"PUT", "/.sessiongate/logout", 405}} {
		resp := caddyPages.do(c.method, c.path, navigationHeaders(), nil)
		body := readBody(t, resp)
		if resp.StatusCode != c.status || !strings.Contains(body, "Northside Family Practice: error "+strconv.Itoa(c.status)) {
			t.Errorf("error_pages caddy, %s %s: %d %q", c.method, c.path, resp.StatusCode, body)
		}
		if c.status == 405 && resp.Header.Get("Allow") != "GET, POST" {
			t.Errorf("error_pages caddy, 405 without the gateway's Allow header: %q", resp.Header.Get("Allow"))
		}
		resp = ownPages.do(c.method, c.path, navigationHeaders(), nil)
		body = readBody(t, resp)
		if resp.StatusCode != c.status || strings.Contains(body, "Northside Family Practice") {
			t.Errorf("default, %s %s: %d %q", c.method, c.path, resp.StatusCode, body)
		}
	}

	// a logout form posted with a wrong CSRF token: 403
	resp := caddyPages.do("POST", "/.sessiongate/logout", withForm(navigationHeaders(), caddyPages.base), strings.NewReader("csrf=forged"))
	if body := readBody(t, resp); resp.StatusCode != 403 || !strings.Contains(body, "Northside Family Practice: error 403") {
		t.Errorf("error_pages caddy, forged logout: %d %q", resp.StatusCode, body)
	}

	// the store goes away: page loads get the site's 503, scripts the JSON
	st.redis.Stop(t)
	resp = caddyPages.navigate("/chart")
	body := readBody(t, resp)
	if resp.StatusCode != 503 || !strings.Contains(body, "Northside Family Practice: error 503") || resp.Header.Get("Retry-After") != "5" {
		t.Errorf("error_pages caddy, store down: %d Retry-After=%q %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp = caddyPages.background("GET", "/api/queue", nil)
	if body := readBody(t, resp); resp.StatusCode != 503 || !strings.Contains(body, `"store_unavailable"`) {
		t.Errorf("error_pages caddy, store down, script: %d %q", resp.StatusCode, body)
	}
	resp = ownPages.navigate("/chart")
	if body := readBody(t, resp); resp.StatusCode != 503 || !strings.Contains(body, "Sign-in service unavailable") {
		t.Errorf("default, store down: %d %q", resp.StatusCode, body)
	}
}

// readmeHandleErrors is the handle_errors block of the README's
// error_pages example, as printed.
func readmeHandleErrors(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\thandle_errors {\n")
	if start < 0 {
		t.Fatal("the README has no handle_errors example")
	}
	end := strings.Index(text[start:], "\n\t}\n")
	if end < 0 {
		t.Fatal("the README's handle_errors example does not end")
	}
	return text[start : start+end+3]
}

// navigationHeaders are a page load's Fetch Metadata.
func navigationHeaders() map[string]string {
	return map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin",
		"Accept": "text/html"}
}

// withForm adds a same-origin form post's headers to hdr.
func withForm(hdr map[string]string, origin string) map[string]string {
	hdr["Content-Type"] = "application/x-www-form-urlencoded"
	hdr["Origin"] = origin
	return hdr
}
