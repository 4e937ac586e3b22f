package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A session cookie that is tampered with (a bit in each part), truncated,
// sealed under another cookie's name (the seen marker, a login state, the ID
// token cookie) or with another site's secret is no session.
func TestHostileForgedSessionCookies(t *testing.T) {
	st := startStack(t, site{name: "main"}, site{name: "other", extra: "cookie_secret " + hostileOtherSiteSecret})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	valid := b.cookie("sessiongate").Value
	seen := b.cookie("sessiongate_seen")
	logoutURL, _ := url.Parse(b.base + "/.sessiongate/logout")
	var idt string
	for _, c := range b.client.Jar.Cookies(logoutURL) {
		if c.Name == "sessiongate_idt" {
			idt = c.Value
		}
	}
	// a login state cookie of a sign-in this browser starts
	resp, err := b.noRedirects().Do(mustReq(t, b, "/.sessiongate/login?rd=/", navHeaders()))
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	var login string
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "sessiongate_login_") {
			login = c.Value
		}
	}
	if seen == nil || idt == "" || login == "" {
		t.Fatalf("missing gateway cookies: seen %v, idt %q, login %q", seen, idt, login)
	}
	// the other site's session cookie (same store, same provider, another secret)
	bo := st.newBrowser("other")
	expectApp(t, bo.signIn("/", "alice", "pw-alice"), "/")
	foreign := bo.cookie("sessiongate").Value

	for name, v := range map[string]string{
		"bit flip in the date":  hostileFlip(t, valid, 0),
		"bit flip in the value": hostileFlip(t, valid, 1),
		"bit flip in the MAC":   hostileFlip(t, valid, 2),
		"truncated by one":      valid[:len(valid)-1],
		"truncated to half":     valid[:len(valid)/2],
		"the seen marker":       seen.Value,
		"a login state":         login,
		"the ID token cookie":   idt,
		"another site's secret": foreign,
		"appended data":         valid + "AAAA",
	} {
		hostileSetCookie(b, "sessiongate", v, 0)
		t.Run(name, func(t *testing.T) { hostileExpectNoSession(t, st, b, "unauthenticated") })
	}
	// the real cookie still works (nothing above ended the session), on its own site only
	hostileSetCookie(b, "sessiongate", valid, 0)
	expectApp(t, b.navigate("/chart"), "/chart")
	hostileSetCookie(bo, "sessiongate", valid, 0)
	hostileExpectNoSession(t, st, bo, "unauthenticated")
}

// The same cookie value presented again after sign-out (the logout form,
// with the provider logout, and the banner's sign-out) does not pass.
func TestHostileCookieReplayedAfterLogout(t *testing.T) {
	st := startStack(t, site{name: "main"})
	for _, banner := range []bool{false, true} {
		b := st.newBrowser("main")
		expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
		stolen := b.cookie("sessiongate").Value
		_, csrf := b.page("/.sessiongate/logout")
		if banner {
			resp := b.do(http.MethodPost, "/.sessiongate/logout", map[string]string{
				"Content-Type": "application/x-www-form-urlencoded", "Origin": b.base, "X-Sessiongate-CSRF": csrf,
				"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}, strings.NewReader("switch=0"))
			if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"location"`) {
				t.Fatalf("banner logout: %s %s", resp.Status, body)
			}
		} else {
			resp := b.post("/.sessiongate/logout", url.Values{"csrf": {csrf}}) // continues at the provider
			if body := readBody(t, resp); !strings.Contains(body, "You have signed out") {
				t.Fatalf("logout: %s %s %.300s", resp.Request.URL, resp.Status, body)
			}
		}
		if c := b.cookie("sessiongate"); c != nil {
			t.Fatalf("session cookie still in the jar after logout: %v", c)
		}
		// the attacker (or the back button of a shared computer) presents it again
		hostileSetCookie(b, "sessiongate", stolen, 0)
		hits := st.app.hits.Load()
		resp := b.background(http.MethodGet, "/api/queue", nil)
		if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"reason":"logout"`) {
			t.Fatalf("replayed cookie, background: %s %s", resp.Status, body)
		}
		hostileSetCookie(b, "sessiongate", stolen, 0)
		resp = b.do(http.MethodPost, "/.sessiongate/activity", map[string]string{"Origin": b.base, "X-Sessiongate-CSRF": csrf,
			"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}, nil)
		if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("replayed cookie and token on /activity: %s %s", resp.Status, body)
		}
		hostileSetCookie(b, "sessiongate", stolen, 0)
		expectSignedOut(t, b.navigate("/chart"), "logout", "You have signed out")
		if got := st.app.hits.Load(); got != hits {
			t.Fatalf("the replayed cookie reached the app %d times", got-hits)
		}
	}
}

// A 64 KiB Cookie header through Caddy: refused by Caddy's own 16 KiB
// header limit (431) before the gateway runs, the app is not reached and the
// session keeps working; just under the limit the gateway answers sanely.
// (The gateway with a 64 KiB header, as after raising max_header_size, is
// TestHostileCookieHeader64KiB in the gateway package.)
func TestHostileHugeCookieHeader(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	valid := b.cookie("sessiongate").Value
	junk := func(size int) string {
		var j strings.Builder
		for i := 0; j.Len() < size; i++ {
			fmt.Fprintf(&j, "app%d=%s; ", i, strings.Repeat("x", 100))
		}
		return j.String()
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct {
		name, cookie string
		want         int
	}{
		{"a 64 KiB session cookie", "sessiongate=" + strings.Repeat("A", 64<<10), http.StatusRequestHeaderFieldsTooLarge},
		{"64 KiB of app cookies and the session cookie", junk(64<<10) + "sessiongate=" + valid, http.StatusRequestHeaderFieldsTooLarge},
		{"64 KiB of forged session cookies in front of the real one", strings.Repeat("sessiongate=AAAA; ", 4<<10) + "sessiongate=" + valid,
			http.StatusRequestHeaderFieldsTooLarge},
		{"a 14 KiB session cookie", "sessiongate=" + strings.Repeat("A", 14<<10), http.StatusUnauthorized},
		{"14 KiB of app cookies and the session cookie", junk(14<<10) + "sessiongate=" + valid, http.StatusOK},
		{"14 KiB of forged session cookies in front of the real one", strings.Repeat("sessiongate=AAAA; ", 800) + "sessiongate=" + valid,
			http.StatusUnauthorized},
	} {
		hits := st.app.hits.Load()
		req := mustReq(t, b, "/api/queue", map[string]string{"Cookie": tc.cookie, "Sec-Fetch-Mode": "cors", "Accept": "application/json"})
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %s %.200s, want %d", tc.name, resp.Status, body, tc.want)
		}
		if reached := st.app.hits.Load() != hits; reached != (tc.want == http.StatusOK) {
			t.Errorf("%s: reached the app: %v", tc.name, reached)
		}
	}
	if h := st.app.lastHeader().Get("Cookie"); strings.Contains(h, "sessiongate") || !strings.Contains(h, "app0=") {
		t.Errorf("upstream Cookie header: %.100q", h)
	}
	expectApp(t, b.navigate("/still-fine"), "/still-fine")
}

// Cookie secret rotation with a config reload: the old secret's cookie (and
// CSRF token) is accepted while the old secret is listed after the new one,
// and refused once it is removed; a cookie sealed during the rotation keeps
// working.
func TestHostileCookieSecretRotation(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	csrfOf := func(b *browser) string {
		t.Helper()
		resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
		var s struct{ CSRF string }
		if body := readBody(t, resp); resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &s) != nil {
			t.Fatalf("status: %s %s", resp.Status, body)
		}
		return s.CSRF
	}
	oldCSRF := csrfOf(b)

	st.load(site{name: "main", extra: "cookie_secret " + hostileRotatedSecret + " " + testCookieSecret})
	expectApp(t, b.navigate("/during"), "/during")
	resp := b.background(http.MethodPost, "/.sessiongate/activity", map[string]string{"Origin": b.base, "X-Sessiongate-CSRF": oldCSRF})
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("the old secret's CSRF token during the rotation: %s %s", resp.Status, body)
	}
	if csrfOf(b) == oldCSRF {
		t.Fatal("new CSRF tokens still use the old secret")
	}
	fresh := st.newBrowser("main") // signs in during the rotation: sealed with the new secret
	expectApp(t, fresh.signIn("/", "clinician", "demo"), "/")

	st.load(site{name: "main", extra: "cookie_secret " + hostileRotatedSecret})
	hostileExpectNoSession(t, st, b, "unauthenticated")
	expectApp(t, fresh.navigate("/after"), "/after")
	// and never back: the old secret alone does not open the new cookies
	st.load(site{name: "main"})
	hostileExpectNoSession(t, st, fresh, "unauthenticated")
}
