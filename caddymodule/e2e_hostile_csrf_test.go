package caddymodule_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hostilePostAs sends a POST with exactly the given headers (no Origin or Fetch
// Metadata unless given).
func hostilePostAs(b *browser, path string, hdr map[string]string, form url.Values) *http.Response {
	b.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range hdr {
		h[k] = v
	}
	return b.do(http.MethodPost, path, h, strings.NewReader(form.Encode()))
}

// CSRF on every POST endpoint through Caddy: missing, wrong or another
// session's token, a cross-site or null Origin, and a cross-site Referer
// without Origin are refused with 403 and change nothing; the same origin
// with the right token passes.
func TestHostileCSRFEndToEnd(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "admin_group practice-managers\n\t\tabsolute_timeout_choices 9h 24h"})
	mgr, tablet, casey := st.newBrowser("main"), st.newBrowser("main"), st.newBrowser("main")
	expectApp(t, mgr.signIn("/", "manager", "demo"), "/")
	expectApp(t, tablet.signIn("/", "manager", "demo"), "/")
	expectApp(t, casey.signIn("/", "clinician", "demo"), "/")
	_, mine := hostileStatus(t, mgr)
	_, theirs := hostileStatus(t, tablet)
	state := func() string {
		t.Helper()
		code, s := hostileStatus(t, mgr)
		c2, _ := hostileStatus(t, tablet)
		c3, _ := hostileStatus(t, casey)
		return fmt.Sprintf("manager %d last=%d abs=%d, tablet %d, clinician %d", code, s.LastActivity, s.AbsoluteExpiresAt, c2, c3)
	}
	type endpoint struct {
		name, path string
		form       url.Values
		header     bool // token in X-Sessiongate-CSRF, not the form
		ok         int
	}
	endpoints := []endpoint{ // the accepted requests run in this order
		{"activity", "/.sessiongate/activity", url.Values{}, true, http.StatusOK},
		{"admin policy", "/.sessiongate/admin", url.Values{"action": {"policy"}, "absolute": {"24h"}}, false, http.StatusOK},
		{"admin revoke", "/.sessiongate/admin", url.Values{"action": {"revoke"}, "user": {"clinician"}}, false, http.StatusOK},
		{"sessions", "/.sessiongate/sessions", url.Values{"action": {"end_others"}}, false, http.StatusOK},
		{"logout", "/.sessiongate/logout", url.Values{}, false, http.StatusOK},
	}
	nav := map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html"}
	attacks := []struct {
		name  string
		token string
		hdr   map[string]string
	}{
		{"missing token", "", map[string]string{"Origin": mgr.base, "Sec-Fetch-Site": "same-origin"}},
		{"wrong token", "wrong", map[string]string{"Origin": mgr.base, "Sec-Fetch-Site": "same-origin"}},
		{"another session's token", theirs.CSRF, map[string]string{"Origin": mgr.base, "Sec-Fetch-Site": "same-origin"}},
		{"cross-site Origin", mine.CSRF, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{"Origin: null", mine.CSRF, map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}},
		{"no Origin, cross-site Referer", mine.CSRF, map[string]string{"Referer": "https://evil.example/attack"}},
		{"no Origin, Sec-Fetch-Site same-site", mine.CSRF, map[string]string{"Sec-Fetch-Site": "same-site"}},
	}
	send := func(ep endpoint, token string, hdr map[string]string) *http.Response {
		h := map[string]string{}
		for k, v := range nav {
			h[k] = v
		}
		for k, v := range hdr {
			h[k] = v
		}
		form := url.Values{}
		for k, v := range ep.form {
			form[k] = v
		}
		if ep.header {
			h["X-Sessiongate-CSRF"] = token
			h["Sec-Fetch-Mode"], h["Accept"] = "cors", "application/json"
		} else if token != "" {
			form.Set("csrf", token)
		}
		return hostilePostAs(mgr, ep.path, h, form)
	}
	for _, ep := range endpoints {
		for _, a := range attacks {
			time.Sleep(5 * time.Millisecond) // so that recorded activity would show
			before := state()
			resp := send(ep, a.token, a.hdr)
			if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "csrf_check_failed") {
				t.Errorf("%s, %s: %s %.200s", ep.name, a.name, resp.Status, body)
			}
			if after := state(); after != before {
				t.Errorf("%s, %s: refused, yet the state changed:\n before %s\n after  %s", ep.name, a.name, before, after)
			}
		}
	}
	// the genuine requests
	for _, ep := range endpoints {
		before := state()
		time.Sleep(5 * time.Millisecond)
		resp := send(ep, mine.CSRF, map[string]string{"Origin": mgr.base, "Sec-Fetch-Site": "same-origin"})
		if body := readBody(t, resp); resp.StatusCode != ep.ok {
			t.Fatalf("%s, same origin and the right token: %s %.300s", ep.name, resp.Status, body)
		}
		if after := state(); after == before {
			t.Errorf("%s, same origin and the right token: nothing changed (%s)", ep.name, after)
		}
	}
	if code, _ := hostileStatus(t, mgr); code != http.StatusUnauthorized {
		t.Fatalf("after the genuine logout: %d", code)
	}
}
