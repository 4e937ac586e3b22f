package caddymodule_test

// Hostile input end to end (issue #7, point 5): real Caddy, a real Redis,
// the development provider, and an HTTP client for a browser. The
// gateway-level counterparts, which also count store calls, are in
// gateway/hostile_test.go.

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"golang.org/x/net/html"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/internal/devidp"
	"github.com/sessiongate/sessiongate/internal/testredis"
)

const (
	// the name the gateway seals its login state cookies under (gateway/cookies.go)
	hostileLoginSealName = "sessiongate-login"
	// another site's cookie secret, and the next one of this site
	hostileOtherSiteSecret = "another-site-secret-0123456789abcdef-0123456"
	hostileRotatedSecret   = "rotated-secret-fedcba9876543210fedcba987654"
)

// hostileSetCookie puts a cookie for the browser's site into its jar (MaxAge < 0
// removes it).
func hostileSetCookie(b *browser, name, value string, maxAge int) {
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", MaxAge: maxAge}})
}

// hostileExpectNoSession checks that the browser's current cookies are no session:
// a background request gets 401 with the given error, a navigation goes to
// the provider or the signed-out page, and the app is not reached.
func hostileExpectNoSession(t *testing.T, st *stack, b *browser, wantError string) {
	t.Helper()
	hits := st.app.hits.Load()
	resp := b.background(http.MethodGet, "/api/queue", nil)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"`+wantError+`"`) {
		t.Fatalf("background request: %s %s, want 401 %s", resp.Status, body, wantError)
	}
	resp, err := b.noRedirects().Do(mustReq(t, b, "/chart", navHeaders()))
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !(strings.HasPrefix(loc, st.idp.Issuer()) || strings.Contains(loc, "/.sessiongate/signed-out")) {
		t.Fatalf("navigation: %s to %q", resp.Status, loc)
	}
	if got := st.app.hits.Load(); got != hits {
		t.Fatalf("no session, yet the app was reached %d times", got-hits)
	}
}

// hostileFlip flips one bit in the middle of part i (0 date, 1 value, 2 mac)
// of a sealed value.
func hostileFlip(t *testing.T, v string, i int) string {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.SplitN(raw, []byte("|"), 3)
	if len(parts) != 3 {
		t.Fatalf("sealed value has %d parts", len(parts))
	}
	p := bytes.Clone(parts[i])
	p[len(p)/2] ^= 0x01
	parts[i] = p
	return base64.URLEncoding.EncodeToString(bytes.Join(parts, []byte("|")))
}

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

// hostileStatus is the browser's /status (which never counts as activity).
func hostileStatus(t *testing.T, b *browser) (code int, s struct {
	LastActivity      int64  `json:"last_activity"`
	AbsoluteExpiresAt int64  `json:"absolute_expires_at"`
	CSRF              string `json:"csrf"`
	Name              string `json:"name"`
}) {
	t.Helper()
	resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
	body := readBody(t, resp)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("status: %v %s", err, body)
		}
	}
	return resp.StatusCode, s
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

// hostileReturnPaths are 24 known open-redirect forms.
var hostileReturnPaths = []string{
	"//evil.example", "///evil.example", "////evil.example", `/\evil.example`, `\/evil.example`, `\\evil.example`,
	"/%2F%2Fevil.example", "/%5Cevil.example", "/%2F%5Cevil.example", "https://evil.example/x", "HTTPS://evil.example",
	"http:evil.example", "http:/evil.example", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
	"/\t/evil.example", "/\r\n/evil.example", " //evil.example", "//user:pass@evil.example", "//evil.example@127.0.0.1",
	"evil.example", "/%09/evil.example", "/%0d%0aSet-Cookie:x=1", "/" + strings.Repeat("a", 3000),
}

// hostileLoginLocation runs a sign-in from path (a gateway URL that redirects to
// the provider) without following the gateway's final redirect, and
// returns that redirect's Location: where the browser goes after sign-in.
func hostileLoginLocation(t *testing.T, b *browser, path, user, password string) string {
	t.Helper()
	nr := b.noRedirects()
	next := b.base + path
	for range 12 {
		resp, err := nr.Do(mustReq(t, b, next, navHeaders()))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Request.URL.Path, devidp.LoginPath) {
			if resp, err = devidp.SubmitLogin(nr, resp, user, password); err != nil {
				t.Fatal(err)
			}
		}
		readBody(t, resp)
		loc := resp.Header.Get("Location")
		if strings.HasSuffix(resp.Request.URL.Path, "/.sessiongate/callback") {
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: %s", resp.Status)
			}
			return loc
		}
		if loc == "" {
			t.Fatalf("sign-in from %.80q stopped at %.120s: %s", path, resp.Request.URL, resp.Status)
		}
		u, err := resp.Request.URL.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		next = u.String()
	}
	t.Fatalf("sign-in from %.80q: too many redirects", path)
	return ""
}

// hostileSameOrigin reports whether a Location stays on the gateway's
// origin as a browser resolves it.
func hostileSameOrigin(b *browser, loc string) bool {
	base, _ := url.Parse(b.base + "/.sessiongate/callback")
	u, err := base.Parse(loc)
	return err == nil && u.Scheme == base.Scheme && u.Host == base.Host && u.User == nil &&
		strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.ContainsAny(loc, "\\\t\r\n")
}

// Open redirects: 24 known forms through /login?rd= (the redirect after
// sign-in), /signed-out?rd= (its "Sign in again" and "Switch user" links),
// and the original URL kept when an unauthenticated request starts a
// sign-in: all end on this origin.
func TestHostileOpenRedirectsEndToEnd(t *testing.T) {
	if len(hostileReturnPaths) < 15 {
		t.Fatalf("only %d forms", len(hostileReturnPaths))
	}
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	for _, rd := range hostileReturnPaths {
		// the signed-out page's links
		resp := b.navigate("/.sessiongate/signed-out?reason=idle&rd=" + url.QueryEscape(rd))
		page := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("signed-out page with rd %q: %s", rd, resp.Status)
		}
		for _, id := range []string{"signin", "switch-user"} {
			href := hostileHref(t, page, id)
			u, err := url.Parse(href)
			if err != nil || u.Path != "/.sessiongate/login" || u.Host != "" || u.Query().Get("rd") != "/" {
				t.Errorf("signed-out page with rd %q: %s link %q", rd, id, href)
			}
		}
		// the redirect after sign-in
		if loc := hostileLoginLocation(t, b, "/.sessiongate/login?rd="+url.QueryEscape(rd), "alice", "pw-alice"); loc != "/" {
			t.Errorf("login with rd %q: the callback redirects to %q, want /", rd, loc)
		}
	}
	// the original URL of a request that starts a sign-in (paths only)
	for _, p := range []string{"//evil.example/x", "///evil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "/%09/evil.example",
		"/%0d%0aLocation:%20https://evil.example"} {
		fresh := st.newBrowser("main")
		if loc := hostileLoginLocation(t, fresh, p, "alice", "pw-alice"); !hostileSameOrigin(fresh, loc) {
			t.Errorf("sign-in started at %q returns to %q", p, loc)
		}
	}
}

// hostileHref returns the href of the element with the given id.
func hostileHref(t *testing.T, page, id string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var href string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			var isIt bool
			var h string
			for _, a := range n.Attr {
				if a.Key == "id" && a.Val == id {
					isIt = true
				}
				if a.Key == "href" {
					h = a.Val
				}
			}
			if isIt {
				href = h
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if href == "" {
		t.Fatalf("no #%s link in %.400s", id, page)
	}
	return href
}

// hostileBeginLogin starts a sign-in in b without following redirects: the
// provider URL, the attempt's state, and its state cookie.
func hostileBeginLogin(t *testing.T, b *browser, rd string) (*url.URL, string, *http.Cookie) {
	t.Helper()
	resp, err := b.noRedirects().Do(mustReq(t, b, "/.sessiongate/login?rd="+url.QueryEscape(rd), navHeaders()))
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	target, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || target.Host == "" {
		t.Fatalf("login: %s %q %v", resp.Status, resp.Header.Get("Location"), err)
	}
	state := target.Query().Get("state")
	c := b.cookie("sessiongate_login_" + state[:12])
	if state == "" || c == nil {
		t.Fatalf("no state (%q) or state cookie", state)
	}
	return target, state, c
}

// hostileCompleteAtProvider signs in at the provider and returns the callback URL
// the provider sends the browser to (not requested).
func hostileCompleteAtProvider(t *testing.T, b *browser, authorize *url.URL) string {
	t.Helper()
	nr := b.noRedirects()
	next := authorize.String()
	for range 8 {
		resp, err := nr.Do(mustReq(t, b, next, navHeaders()))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Request.URL.Path, devidp.LoginPath) {
			if resp, err = devidp.SubmitLogin(nr, resp, "alice", "pw-alice"); err != nil {
				t.Fatal(err)
			}
		}
		readBody(t, resp)
		u, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" {
			t.Fatalf("provider stopped at %s %s", resp.Request.URL, resp.Status)
		}
		if strings.HasPrefix(u.String(), b.base+"/.sessiongate/callback") {
			return u.String()
		}
		next = u.String()
	}
	t.Fatal("provider: too many redirects")
	return ""
}

// hostileExpectSignInFailed checks the gateway's sign-in failure page.
func hostileExpectSignInFailed(t *testing.T, st *stack, b *browser, callback, message string) {
	t.Helper()
	hits := st.app.hits.Load()
	resp := b.navigate(callback)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Sign-in failed") || !strings.Contains(body, message) {
		t.Fatalf("callback %s: %s %.600s, want 400 %q", resp.Request.URL.Path, resp.Status, body, message)
	}
	if st.app.hits.Load() != hits {
		t.Fatal("a failed sign-in reached the app")
	}
}

// State, nonce and code replay: a callback URL used twice (in the same
// browser and in another), one attempt's state cookie with another
// attempt's state, an ID token issued for another attempt's nonce, and the
// same authorization code redeemed twice are all refused with the sign-in
// failure page, and no session is created (an existing one is kept).
func TestHostileLoginStateAndCodeReplay(t *testing.T) {
	st := startStack(t, site{name: "main"})
	sealer, err := auth.NewBoundSealer([]string{testCookieSecret}, st.idp.Issuer()+" "+testClientID)
	if err != nil {
		t.Fatal(err)
	}

	// a complete sign-in; then its callback URL again
	b := st.newBrowser("main")
	authorize, _, stateCookie := hostileBeginLogin(t, b, "/chart")
	callback := hostileCompleteAtProvider(t, b, authorize)
	expectApp(t, b.navigate(callback), "/chart")
	session := b.cookie("sessiongate").Value
	hostileExpectSignInFailed(t, st, b, callback, "could not be matched to this browser")
	if c := b.cookie("sessiongate"); c == nil || c.Value != session {
		t.Fatal("the replayed callback changed this browser's session")
	}
	expectApp(t, b.navigate("/chart"), "/chart")
	// in another browser, without the state cookie
	thief := st.newBrowser("main")
	hostileExpectSignInFailed(t, st, thief, callback, "could not be matched to this browser")
	hostileExpectNoSession(t, st, thief, "unauthenticated")
	// with the state cookie as well: the code was redeemed already
	hostileSetCookie(thief, stateCookie.Name, stateCookie.Value, 0)
	hostileExpectSignInFailed(t, st, thief, callback, "rejected the sign-in code")
	hostileExpectNoSession(t, st, thief, "unauthenticated")
	if thief.cookie(stateCookie.Name) != nil {
		t.Error("the state cookie survived a failed callback")
	}

	// two attempts in one browser: A's state cookie cannot complete B
	c := st.newBrowser("main")
	_, _, cookieA := hostileBeginLogin(t, c, "/a")
	authB, _, cookieB := hostileBeginLogin(t, c, "/b")
	callbackB := hostileCompleteAtProvider(t, c, authB)
	hostileSetCookie(c, cookieB.Name, cookieA.Value, 0) // A's sealed state under B's name
	hostileExpectSignInFailed(t, st, c, callbackB, "could not be matched to this browser")
	hostileSetCookie(c, cookieB.Name, "", -1)
	hostileSetCookie(c, cookieA.Name, cookieA.Value, 0) // only A's cookie
	hostileExpectSignInFailed(t, st, c, callbackB, "could not be matched to this browser")
	hostileExpectNoSession(t, st, c, "unauthenticated")
	// the control: with B's own cookie the same callback URL signs in
	hostileSetCookie(c, cookieB.Name, cookieB.Value, 0)
	expectApp(t, c.navigate(callbackB), "/b")

	// B's state and PKCE verifier with A's nonce: the ID token is for B's nonce
	d := st.newBrowser("main")
	_, _, nonceA := hostileBeginLogin(t, d, "/a")
	authB, stateB, cookieB := hostileBeginLogin(t, d, "/b")
	callbackB = hostileCompleteAtProvider(t, d, authB)
	var stA, stB auth.LoginState
	if err := sealer.Open(hostileLoginSealName, nonceA.Value, &stA); err != nil {
		t.Fatal(err)
	}
	if err := sealer.Open(hostileLoginSealName, cookieB.Value, &stB); err != nil || stB.State != stateB {
		t.Fatalf("state cookie B: %+v %v", stB, err)
	}
	forged := stB
	forged.Nonce = stA.Nonce
	v, err := sealer.Seal(hostileLoginSealName, forged)
	if err != nil {
		t.Fatal(err)
	}
	hostileSetCookie(d, cookieB.Name, v, 0)
	hostileExpectSignInFailed(t, st, d, callbackB, "does not belong to this sign-in")
	hostileExpectNoSession(t, st, d, "unauthenticated")
}

// hostileJWS builds a compact JWS with the given header, claims and
// signature function (nil: an empty signature).
func hostileJWS(t *testing.T, header, claims map[string]any, sign func(signingInput string) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign(in)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Forged back-channel logout requests (beyond TestBackchannelLogout): a
// token signed by another key, with a nonce, without events, HS256 with the
// client secret, alg none, oversized, a valid token in an oversized body,
// and tokens outside the form body: 400 or 413, and no session ends.
func TestHostileBackchannelLogoutForgeries(t *testing.T) {
	st := startStack(t, site{name: "main"})
	alice, casey := st.newBrowser("main"), st.newBrowser("main")
	expectApp(t, alice.signIn("/", "alice", "pw-alice"), "/")
	expectApp(t, casey.signIn("/", "clinician", "demo"), "/")
	endpoint := st.sites["main"] + "/.sessiongate/backchannel-logout"
	// a provider with the same issuer name, the same client and its own key
	forger, err := devidp.New(devidp.Options{Issuer: st.idp.Issuer(), Users: devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: testClientID, Secret: testClientSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(edit func(map[string]any)) map[string]any {
		now := time.Now()
		c := map[string]any{"iss": st.idp.Issuer(), "aud": testClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
			"jti": fmt.Sprintf("forged-%d", now.UnixNano()), "sub": "u-alice",
			"events": map[string]any{devidp.BackchannelLogoutEvent: map[string]any{}}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(c map[string]any) string {
		t.Helper()
		tok, err := st.idp.SignLogoutClaims(c, devidp.LogoutTokenType)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherKey, err := forger.LogoutToken(testClientID, "u-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	hs256 := hostileJWS(t, map[string]any{"alg": "HS256", "typ": "logout+jwt"}, claims(nil), func(in string) []byte {
		m := hmac.New(sha256.New, []byte(testClientSecret))
		m.Write([]byte(in))
		return m.Sum(nil)
	})
	none := hostileJWS(t, map[string]any{"alg": "none", "typ": "logout+jwt"}, claims(nil), nil)
	valid, err := st.idp.LogoutToken(testClientID, "u-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	form := func(tok string) string { return url.Values{"logout_token": {tok}}.Encode() }
	cases := []struct {
		name, contentType, query, body string
	}{
		{"signed by another key", "", "", form(otherKey)},
		{"with a nonce", "", "", form(sign(claims(func(c map[string]any) { c["nonce"] = "n-1" })))},
		{"without events", "", "", form(sign(claims(func(c map[string]any) { delete(c, "events") })))},
		{"events without the logout member", "", "", form(sign(claims(func(c map[string]any) {
			c["events"] = map[string]any{"urn:example:other": map[string]any{}}
		})))},
		{"HS256 with the client secret", "", "", form(hs256)},
		{"alg none", "", "", form(none)},
		{"an ID token's shape (typ JWT, nonce, no events)", "", "", form(sign(claims(func(c map[string]any) {
			delete(c, "events")
			c["nonce"] = "n-2"
		})))},
		{"a token over 16 KiB", "", "", form(sign(claims(func(c map[string]any) { c["pad"] = strings.Repeat("x", 17<<10) })))},
		{"a valid token in a body over 64 KiB", "", "", form(valid) + "&pad=" + strings.Repeat("x", 64<<10)},
		{"a body of 1 MiB", "", "", strings.Repeat("x", 1<<20)},
		{"the token in the query string", "", "?" + form(valid), ""},
		{"the token as JSON", "application/json", "", `{"logout_token":"` + valid + `"}`},
	}
	for _, tc := range cases {
		ct := tc.contentType
		if ct == "" {
			ct = "application/x-www-form-urlencoded"
		}
		resp, err := http.Post(endpoint+tc.query, ct, strings.NewReader(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %s %.200s, want 400 or 413", tc.name, resp.Status, body)
		}
		if c, _ := hostileStatus(t, alice); c != http.StatusOK {
			t.Fatalf("%s: alice's session ended (%d)", tc.name, c)
		}
	}
	expectApp(t, casey.navigate("/"), "/")
	// the control: the same valid token, properly sent, ends alice's session
	resp, err := http.PostForm(endpoint, url.Values{"logout_token": {valid}})
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid token: %s %s", resp.Status, body)
	}
	expectSignedOut(t, alice.navigate("/"), "backchannel", "sign-in service")
	expectApp(t, casey.navigate("/"), "/")
}

// hostileLoadWithServerOptions (re)loads Caddy like stack.load, with
// options added to the global servers block.
func hostileLoadWithServerOptions(t *testing.T, st *stack, serverOptions string, sites ...site) {
	t.Helper()
	const anchor = "\tpersist_config off\n"
	cf := st.caddyfile(sites...)
	if !strings.Contains(cf, anchor) {
		t.Fatalf("the harness's global options changed; cannot add servers options to:\n%s", cf)
	}
	cf = strings.Replace(cf, anchor, anchor+"\tservers {\n"+serverOptions+"\t}\n", 1)
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapt: %v (%v)", err, warn)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("load: %v", err)
	}
}

// Identity headers sent by the client never reach the app through Caddy:
// every configured header, in other letter cases, repeated, and spelled
// with underscores or dots, both with Caddy's defaults (which drop
// underscore and dot spellings themselves) and with Caddy told to let
// those spellings through (so that the gateway's own stripping is what
// stops them).
func TestHostileIdentityHeadersEndToEnd(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	configured := map[string]string{"X-Forwarded-User": "u-alice", "X-Forwarded-Email": "alice@clinic.test",
		"X-Forwarded-Groups": "clinicians,front-desk", "X-Forwarded-Name": "Alice Adams"}
	check := func(t *testing.T, single bool) {
		t.Helper()
		req := mustReq(t, b, "/chart", navHeaders())
		for name := range configured {
			under, dot := strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "-", ".")
			// raw keys, sent as written; Caddy drops any allowed underscore or
			// dot header that is repeated, so those are sent once
			for _, key := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
				req.Header[key] = append(req.Header[key], "mallory", "practice-managers")
			}
			for _, key := range []string{under, strings.ToLower(dot)} {
				req.Header[key] = []string{"mallory"}
				if !single {
					req.Header[key] = append(req.Header[key], "practice-managers")
				}
			}
		}
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		expectApp(t, resp, "/chart")
		got := st.app.lastHeader()
		for key, vals := range got {
			fold := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(key))
			for name, want := range configured {
				if fold == strings.ToLower(name) && (key != name || len(vals) != 1 || vals[0] != want) {
					t.Errorf("upstream %s: %q, want only %s: [%q]", key, vals, name, want)
				}
			}
			for _, v := range vals {
				if strings.Contains(v, "mallory") || v == "practice-managers" {
					t.Errorf("spoofed value upstream: %s: %q", key, vals)
				}
			}
		}
		for name := range configured {
			if got.Get(name) == "" {
				t.Errorf("%s missing upstream", name)
			}
		}
	}
	t.Run("Caddy defaults", func(t *testing.T) { check(t, false) })
	var under, dot strings.Builder
	for name := range configured {
		fmt.Fprintf(&under, " %s", strings.ReplaceAll(name, "-", "_"))
		fmt.Fprintf(&dot, " %s", strings.ToLower(strings.ReplaceAll(name, "-", ".")))
	}
	hostileLoadWithServerOptions(t, st, "\t\texpected_underscore_headers"+under.String()+"\n\t\texpected_dot_headers"+dot.String()+"\n",
		site{name: "main"})
	t.Run("underscore and dot spellings let through by Caddy", func(t *testing.T) { check(t, true) })
	// the probe: with that configuration, an unrelated underscore header does reach the app
	req := mustReq(t, b, "/chart", navHeaders())
	req.Header["X_Forwarded_User"] = []string{"mallory"} // allowed by Caddy, stripped by the gateway
	req.Header["X_Sessiongate_Probe"] = []string{"1"}    // not allowed: dropped by Caddy
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	expectApp(t, resp, "/chart")
	if got := st.app.lastHeader(); got.Get("X-Forwarded-User") != "u-alice" || got.Get("X_forwarded_user") != "" || got.Get("X_sessiongate_probe") != "" {
		t.Errorf("upstream: %v", got)
	}
}

// Oversized input through Caddy: a huge rd, a huge Origin, bodies over the
// limit on every POST endpoint: a 4xx (or the harmless default), and the
// session keeps working.
func TestHostileOversizedInputEndToEnd(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "admin_group practice-managers"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "manager", "demo"), "/")
	_, s := hostileStatus(t, b)
	hits := st.app.hits.Load()
	// a 100 KiB rd: Caddy's 16 KiB limit on the request head refuses it before the gateway
	for _, p := range []string{"/.sessiongate/signed-out?reason=idle&rd=", "/.sessiongate/login?rd="} {
		resp := b.navigate(p + url.QueryEscape("/"+strings.Repeat("x", 100<<10)))
		if readBody(t, resp); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with a 100 KiB rd: %s", p, resp.Status)
		}
	}
	// a 12 KiB rd reaches the gateway, which falls back to "/"
	big := "/" + strings.Repeat("x", 12<<10)
	resp := b.navigate("/.sessiongate/signed-out?reason=idle&rd=" + url.QueryEscape(big))
	page := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, "xxxxxxxxxx") {
		t.Errorf("signed-out page with a 12 KiB rd: %s", resp.Status)
	} else if href := hostileHref(t, page, "signin"); !strings.Contains(href, "rd=%2F") || len(href) > 200 {
		t.Errorf("signed-out page with a 12 KiB rd links to %.200q", href)
	}
	if loc := hostileLoginLocation(t, b, "/.sessiongate/login?rd="+url.QueryEscape(big), "manager", "demo"); loc != "/" {
		t.Errorf("login with a 12 KiB rd returns to %.100q", loc)
	}
	_, s = hostileStatus(t, b) // a new session after that sign-in
	over := strings.Repeat("a", 16<<10+1)
	nav := map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
	for _, tc := range []struct {
		path string
		hdr  map[string]string
		body string
	}{
		{"/.sessiongate/activity", map[string]string{"Origin": b.base, "X-Sessiongate-CSRF": s.CSRF, "Sec-Fetch-Mode": "cors"}, over},
		{"/.sessiongate/logout", nav, "csrf=" + url.QueryEscape(s.CSRF) + "&pad=" + over},
		{"/.sessiongate/sessions", nav, "action=end_others&csrf=" + url.QueryEscape(s.CSRF) + "&pad=" + over},
		{"/.sessiongate/admin", nav, "action=policy&absolute=off&csrf=" + url.QueryEscape(s.CSRF) + "&pad=" + over},
		{"/.sessiongate/backchannel-logout", nil, "logout_token=" + strings.Repeat("a", 64<<10)},
		{"/.sessiongate/activity", map[string]string{"Origin": b.base + strings.Repeat("a", 64<<10), "X-Sessiongate-CSRF": s.CSRF,
			"Sec-Fetch-Mode": "cors"}, ""},
		{"/.sessiongate/activity", map[string]string{"Origin": b.base, "X-Sessiongate-CSRF": strings.Repeat("a", 64<<10),
			"Sec-Fetch-Mode": "cors"}, ""},
	} {
		hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		resp := b.do(http.MethodPost, tc.path, hdr, strings.NewReader(tc.body))
		body := readBody(t, resp)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s (%d-byte body, %d-byte Origin): %s %.200s", tc.path, len(tc.body), len(tc.hdr["Origin"]), resp.Status, body)
		}
		if code, now := hostileStatus(t, b); code != http.StatusOK || now.LastActivity != s.LastActivity || now.AbsoluteExpiresAt != s.AbsoluteExpiresAt {
			t.Errorf("%s: the refused request changed the session: %d %+v → %+v", tc.path, code, s, now)
		}
	}
	if got := st.app.hits.Load(); got != hits {
		t.Errorf("oversized input reached the app %d times", got-hits)
	}
	expectApp(t, b.navigate("/still-fine"), "/still-fine")
}

// hostileRawGET sends a GET with the request target exactly as given (no client
// normalization) and returns the status and body.
func hostileRawGET(t *testing.T, base, target, cookie string) (int, string) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nAccept: application/json\r\nSec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n",
		target, u.Host, cookie)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body)
}

// Path tricks on the prefix through Caddy, signed in: none reaches the app,
// none serves a gateway endpoint; only the canonical path does.
func TestHostilePathTricksEndToEnd(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	cookie := "sessiongate=" + b.cookie("sessiongate").Value
	if code, body := hostileRawGET(t, b.base, "/.sessiongate/status", cookie); code != http.StatusOK || !strings.Contains(body, `"authenticated":true`) {
		t.Fatalf("canonical status: %d %s", code, body)
	}
	hits := st.app.hits.Load()
	for _, p := range []string{
		"/%2esessiongate/status", "/%2Esessiongate/status", "/.sessiongate%2Fstatus", "/.sessiongate%2fstatus",
		"/.sessiongate/sta%74us", "//.sessiongate/status", "/.sessiongate//status", "/.SessionGate/status",
		"/.SESSIONGATE/STATUS", "/x/../.sessiongate/status", "/x/%2e%2e/.sessiongate/status", "/.sessiongate/./status",
		"/.sessiongate/status.", "/.sessiongate/status;", "/.sessiongate/status;jsessionid=1", "/.sessiongate;/status",
		"/.sessiongate;jsessionid=1/status", "/.sessiongate./status", "/.sessiongate../status", "/.sessiongate%20/status",
		"/.sessiongate%00/status", "/.sessiongate%5Cstatus", `/.sessiongate\status`, "/.sessiongate", "/.sessiongate.",
		"/.sessiongate;", "/app/.sessiongate/status", "/.sessiongate/status/", "/.sessiongate/status%2F..%2F..%2Fchart",
	} {
		code, body := hostileRawGET(t, b.base, p, cookie)
		if strings.Contains(body, `"authenticated"`) {
			t.Errorf("%s served the status endpoint: %d %.100s", p, code, body)
		}
		if code != http.StatusNotFound && code != http.StatusBadRequest {
			t.Errorf("%s: %d %.100s, want 404 (or 400)", p, code, body)
		}
		if got := st.app.hits.Load(); got != hits {
			t.Fatalf("%s reached the app", p)
		}
	}
}

// hostileUser is a provider account whose every claim is markup.
var hostileUser = devidp.User{
	Subject:  `u-</script><img src=x onerror=alert(1)>`,
	Username: "mallory", Password: "pw-mallory",
	Name:   `<script>alert(2)</script> "><img src=x onerror=alert(3)> '><svg/onload=alert(4)> </title><script>alert(5)</script>` + " line\u2028sep\u2029para \r\nX-Injected: 1",
	Email:  `"><svg/onload=alert(6)>@evil.test`,
	Groups: []string{"practice-managers", `<script>alert(7)</script>`},
}

// startHostileStack is startStack with a provider that also has hostileUser.
func startHostileStack(t *testing.T, sites ...site) *stack {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := devidp.New(devidp.Options{Issuer: "http://" + l.Addr().String(), AllowLoopbackRedirects: true,
		Users:   append(devidp.DemoUsers(), hostileUser),
		Clients: []devidp.Client{{ID: testClientID, Secret: testClientSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: idp, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	st := &stack{t: t, idp: idp, app: newUpstream(t), redis: testredis.Start(t), sites: map[string]string{}}
	st.load(sites...)
	t.Cleanup(func() { _ = caddy.Stop() })
	return st
}

// checkHostilePage fails when user input became markup in a gateway page: a
// script without the page's CSP nonce, an injected element, an event
// handler attribute, a link off the site. It returns the page's text.
func checkHostilePage(t *testing.T, what string, resp *http.Response) string {
	t.Helper()
	body := readBody(t, resp)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(csp, "script-src 'nonce-") {
		t.Fatalf("%s: %s %q %q", what, resp.Status, resp.Header.Get("Content-Type"), csp)
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "img", "iframe", "object", "embed", "base":
				t.Errorf("%s: injected <%s>", what, n.Data)
			case "script":
				nonce := ""
				for _, a := range n.Attr {
					if a.Key == "nonce" {
						nonce = a.Val
					}
				}
				if nonce == "" || !strings.Contains(csp, "'nonce-"+nonce+"'") || (n.FirstChild != nil && strings.Contains(n.FirstChild.Data, "alert(")) {
					t.Errorf("%s: a script that is not the page's own", what)
				}
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("%s: injected %s=%q", what, a.Key, a.Val)
				}
				if (a.Key == "href" || a.Key == "action") && !strings.HasPrefix(a.Val, "/") {
					t.Errorf("%s: %s=%q", what, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return text.String()
}

// A user whose name, email, groups and subject are markup, signed in
// through the real provider: text on My devices, the admin page, the
// sign-out confirmation and the signed-out page; valid JSON in /status;
// header-safe upstream.
func TestHostileMarkupInClaimsEndToEnd(t *testing.T) {
	st := startHostileStack(t, site{name: "main", extra: "admin_group practice-managers\n\t\taccount_menu"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "mallory", "pw-mallory"), "/")
	// upstream headers: the claims, without the line break
	h := st.app.lastHeader()
	if got := h.Get("X-Forwarded-Name"); strings.ContainsAny(got, "\r\n") || !strings.Contains(got, "<script>alert(2)</script>") ||
		h.Get("X-Injected") != "" {
		t.Errorf("X-Forwarded-Name %q, X-Injected %q", got, h.Get("X-Injected"))
	}
	if got := h.Get("X-Forwarded-User"); got != hostileUser.Subject {
		t.Errorf("X-Forwarded-User %q", got)
	}
	// /status: valid JSON that an HTML parser cannot misread, with the exact name
	resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
	raw := readBody(t, resp)
	var s struct {
		Name    string `json:"name"`
		CSRF    string `json:"csrf"`
		Account struct {
			Name string `json:"name"`
		} `json:"account"`
	}
	if !json.Valid([]byte(raw)) || strings.ContainsAny(raw, "<>&\u2028\u2029") || json.Unmarshal([]byte(raw), &s) != nil ||
		s.Name != hostileUser.Name || s.Account.Name != hostileUser.Name {
		t.Errorf("status: %s", raw)
	}
	// the pages
	name := strings.ReplaceAll(hostileUser.Name, "\r\n", "\n") // HTML parsers normalize CR LF
	if text := checkHostilePage(t, "devices page", b.navigate("/.sessiongate/sessions")); !strings.Contains(text, name) {
		t.Errorf("devices page does not show the name as text: %.500q", text)
	}
	if text := checkHostilePage(t, "logout page", b.navigate("/.sessiongate/logout")); !strings.Contains(text, name) {
		t.Errorf("logout page does not show the name as text")
	}
	resp = b.post("/.sessiongate/admin", url.Values{"csrf": {s.CSRF}, "action": {"policy"}, "absolute": {"9h"}})
	if text := checkHostilePage(t, "admin page", resp); !strings.Contains(text, "Set by "+hostileUser.Subject) {
		t.Errorf("admin page does not show the subject as text: %.500q", text)
	}
	for _, typed := range []string{`"><svg/onload=alert(8)>@nobody.test`, `<script>alert(9)</script>`} {
		resp = b.post("/.sessiongate/admin", url.Values{"csrf": {s.CSRF}, "action": {"revoke"}, "user": {typed}})
		if text := checkHostilePage(t, "admin page, revoking "+typed, resp); !strings.Contains(text, typed) {
			t.Errorf("admin page does not echo %q as text", typed)
		}
	}
	resp = b.post("/.sessiongate/logout", url.Values{"csrf": {s.CSRF}})
	if text := checkHostilePage(t, "signed-out page", resp); !strings.Contains(text, "You have signed out") {
		t.Errorf("signed-out page: %.300q", text)
	}
}
