package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

func expectApp(t *testing.T, resp *http.Response, path string) {
	t.Helper()
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "page "+path) {
		t.Fatalf("want the app's %s, got %s at %s: %.300s", path, resp.Status, resp.Request.URL, body)
	}
}

func expectSignedOut(t *testing.T, resp *http.Response, reason, text string) string {
	t.Helper()
	body := readBody(t, resp)
	u := resp.Request.URL
	if !strings.HasSuffix(u.Path, "/.sessiongate/signed-out") || u.Query().Get("reason") != reason {
		t.Fatalf("want signed-out page with reason %s, got %s %s: %.300s", reason, u, resp.Status, body)
	}
	if !strings.Contains(body, text) {
		t.Fatalf("signed-out page lacks %q: %.600s", text, body)
	}
	return body
}

func TestSignInRoundTripAndUpstreamHygiene(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/patients?id=7", "alice", "pw-alice"), "/patients")

	// PKCE, state and nonce were sent to the provider.
	reqs := st.idp.AuthorizeRequests()
	if len(reqs) == 0 {
		t.Fatal("provider saw no authorize request")
	}
	ar := reqs[len(reqs)-1]
	if ar.CodeChallengeMethod != "S256" || ar.Nonce == "" || ar.State == "" || ar.Prompt != "" {
		t.Fatalf("authorize request: %+v", ar)
	}
	if !strings.HasSuffix(ar.RedirectURI, "/.sessiongate/callback") {
		t.Fatalf("redirect_uri %q", ar.RedirectURI)
	}

	// session cookie: sealed, HttpOnly, Lax, no longer than the absolute limit
	sc := b.cookie("sessiongate")
	if sc == nil {
		t.Fatal("no session cookie")
	}
	resp := b.navigate("/chart")
	setCookies := resp.Header.Values("Set-Cookie")
	expectApp(t, resp, "/chart")
	_ = setCookies

	// identity headers from claims; the client's copies are replaced; the
	// gateway cookie never reaches the app, the app's own cookie does.
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "app_pref", Value: "dark"}})
	resp = b.do(http.MethodGet, "/chart", map[string]string{
		"Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1", "Accept": "text/html",
		"X-Forwarded-User": "mallory", "X-Forwarded-Groups": "practice-managers",
	}, nil)
	expectApp(t, resp, "/chart")
	h := st.app.lastHeader()
	if got := h.Get("X-Forwarded-User"); got != "u-alice" {
		t.Errorf("X-Forwarded-User = %q", got)
	}
	if got := h.Values("X-Forwarded-User"); len(got) != 1 {
		t.Errorf("spoofed header survived: %v", got)
	}
	if got := h.Get("X-Forwarded-Email"); got != "alice@clinic.test" {
		t.Errorf("X-Forwarded-Email = %q", got)
	}
	if got := h.Get("X-Forwarded-Groups"); got != "clinicians,front-desk" {
		t.Errorf("X-Forwarded-Groups = %q", got)
	}
	if got := h.Get("X-Forwarded-Name"); got != "Alice Adams" {
		t.Errorf("X-Forwarded-Name = %q", got)
	}
	cookie := h.Get("Cookie")
	if strings.Contains(cookie, "sessiongate") || !strings.Contains(cookie, "app_pref=dark") {
		t.Errorf("upstream Cookie header = %q", cookie)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "absolute_timeout 2h"})
	b := st.newBrowser("main")
	first := b.navigate("/")
	loginPage := first
	final, err := submitAndCapture(b, loginPage)
	if err != nil {
		t.Fatal(err)
	}
	var sc string
	for _, c := range final {
		if strings.HasPrefix(c, "sessiongate=") {
			sc = c
		}
	}
	if sc == "" {
		t.Fatalf("no session Set-Cookie in %v", final)
	}
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=7200"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
}

func TestNeverSignedInGoesStraightToProvider(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	resp, err := b.noRedirects().Do(mustReq(t, b, "/patients", navHeaders()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, st.idp.Issuer()) {
		t.Fatalf("want 302 to the provider, got %s %s", resp.Status, loc)
	}
	// a background request is refused with JSON, never redirected
	resp = b.background(http.MethodGet, "/api/queue", nil)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"unauthenticated"`) {
		t.Fatalf("background without session: %s %s", resp.Status, body)
	}
	if st.app.hits.Load() != 0 {
		t.Fatalf("app reached %d times without a session", st.app.hits.Load())
	}
}

func TestIdleExpiryAndSignInAgain(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	b := st.newBrowser("idle")
	expectApp(t, b.signIn("/patients", "alice", "pw-alice"), "/patients")
	time.Sleep(2200 * time.Millisecond)
	resp := b.navigate("/patients?id=3")
	expectSignedOut(t, resp, "idle", "after 2 seconds of inactivity")
	if resp.Request.URL.Query().Get("rd") != "/patients?id=3" {
		t.Errorf("original URL not kept: %s", resp.Request.URL)
	}
	// Going back to the app directly must not silently sign the last user in
	// (the provider still has an SSO session): the password is asked again.
	resp = b.navigate("/patients")
	readBody(t, resp)
	if reqs := st.idp.AuthorizeRequests(); !strings.Contains(resp.Request.URL.Path, "/login") ||
		reqs[len(reqs)-1].Prompt != "login" || !reqs[len(reqs)-1].LoginFormShown {
		t.Fatalf("after a security sign-out the password must be asked again: %s %+v", resp.Request.URL, reqs[len(reqs)-1])
	}
	// "Sign in again" forces the password (prompt=login) and returns to the page
	before := len(st.idp.AuthorizeRequests())
	resp = b.navigate("/.sessiongate/login?rd=" + url.QueryEscape("/patients?id=3") + "&prompt=login")
	reqs := st.idp.AuthorizeRequests()
	if len(reqs) != before+1 || reqs[len(reqs)-1].Prompt != "login" || !reqs[len(reqs)-1].LoginFormShown {
		t.Fatalf("sign in again must send prompt=login and show the form: %+v", reqs[len(reqs)-1])
	}
	time.Sleep(1100 * time.Millisecond) // auth_time has one-second resolution
	final, err := submitLogin(b, resp, "alice", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	expectApp(t, final, "/patients")
	if final.Request.URL.RequestURI() != "/patients?id=3" {
		t.Errorf("returned to %s", final.Request.URL.RequestURI())
	}
}

func TestAbsoluteExpiryDespiteConstantActivity(t *testing.T) {
	st := startStack(t, site{name: "abs", extra: "idle_timeout 2s\n\t\twarn_before 1s\n\t\tabsolute_timeout 3s\n\t\tabsolute_warn_before 1s"})
	b := st.newBrowser("abs")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	start := time.Now()
	for time.Since(start) < 2500*time.Millisecond {
		expectApp(t, b.navigate("/chart"), "/chart")
		time.Sleep(400 * time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(3100 * time.Millisecond)))
	expectSignedOut(t, b.navigate("/chart"), "absolute", "session limit was reached")
}

func TestBackgroundPollingDoesNotExtendSession(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	b := st.newBrowser("idle")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	start := time.Now()
	ok := 0
	for time.Since(start) < 1700*time.Millisecond {
		resp := b.background(http.MethodGet, "/api/queue", nil)
		if resp.StatusCode == http.StatusOK {
			ok++
		}
		readBody(t, resp)
		time.Sleep(250 * time.Millisecond)
	}
	if ok == 0 {
		t.Fatal("polling within the idle window must pass")
	}
	time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
	resp := b.background(http.MethodGet, "/api/queue", nil)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("polling must not keep the session alive: %s %s", resp.Status, body)
	}
	var e struct{ Error, Reason, Login string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != "session_expired" || e.Reason != "idle" || e.Login == "" {
		t.Fatalf("401 body: %s (%v)", body, err)
	}
	// a meta refresh (navigation without user activation) does not count either
}

func TestMetaRefreshDoesNotExtendSession(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	b := st.newBrowser("idle")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	refresh := map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html"}
	start := time.Now()
	for time.Since(start) < 1600*time.Millisecond {
		expectApp(t, b.do(http.MethodGet, "/board", refresh, nil), "/board")
		time.Sleep(400 * time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
	expectSignedOut(t, b.do(http.MethodGet, "/board", refresh, nil), "idle", "inactivity")
}

func TestTwoDevicesHaveIndependentTimers(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	laptop, tablet := st.newBrowser("idle"), st.newBrowser("idle")
	expectApp(t, laptop.signIn("/", "alice", "pw-alice"), "/")
	expectApp(t, tablet.signIn("/", "alice", "pw-alice"), "/")
	start := time.Now()
	for time.Since(start) < 2500*time.Millisecond {
		expectApp(t, laptop.navigate("/chart"), "/chart")
		time.Sleep(400 * time.Millisecond)
	}
	expectSignedOut(t, tablet.navigate("/chart"), "idle", "inactivity")
	expectApp(t, laptop.navigate("/chart"), "/chart")
}

func TestTamperedCookieIsNoSession(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	hits := st.app.hits.Load()
	sc := b.cookie("sessiongate")
	val := []byte(sc.Value)
	val[len(val)/2] ^= 0x01
	u, _ := url.Parse(b.base)
	for _, v := range []string{string(val), sc.Value[:len(sc.Value)/2], strings.Repeat("A", 5000), ""} {
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "sessiongate", Value: v, Path: "/"}})
		resp := b.background(http.MethodGet, "/api/queue", nil)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "unauthenticated") {
			t.Fatalf("tampered cookie %.20q: %s %s", v, resp.Status, body)
		}
	}
	if st.app.hits.Load() != hits {
		t.Fatal("a tampered cookie reached the app")
	}
}

func TestOpenRedirectsRejected(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/") // provider SSO session: later sign-ins are silent
	nr := b.noRedirects()
	for _, rd := range []string{
		"//evil.example", "/\\evil.example", "https://evil.example/x", "/%2F%2Fevil.example", "%2F%2Fevil.example",
		"/%5Cevil.example", "http:evil.example", "\\\\evil.example", "//evil.example@gw", "javascript:alert(1)",
	} {
		// follow the sign-in up to the callback's redirect
		loc := "/.sessiongate/login?rd=" + url.QueryEscape(rd)
		var final string
		for i := 0; i < 10; i++ {
			resp, err := nr.Do(mustReq(t, b, loc, navHeaders()))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Request.URL.Path, devidp.LoginPath) {
				// this browser had a session: the provider asks for the password again
				if resp, err = devidp.SubmitLogin(nr, resp, "alice", "pw-alice"); err != nil {
					t.Fatal(err)
				}
			}
			resp.Body.Close()
			next := resp.Header.Get("Location")
			if next == "" {
				t.Fatalf("rd %q: flow stopped at %s %s", rd, resp.Request.URL, resp.Status)
			}
			if strings.HasSuffix(resp.Request.URL.Path, "/.sessiongate/callback") {
				final = next
				break
			}
			if !strings.HasPrefix(next, "http") {
				next = resp.Request.URL.ResolveReference(&url.URL{Path: next}).String()
				if u, err := resp.Request.URL.Parse(resp.Header.Get("Location")); err == nil {
					next = u.String()
				}
			}
			loc = next
		}
		if final != "/" {
			t.Errorf("rd %q: callback redirected to %q, want /", rd, final)
		}
	}
}

func TestStatusActivityAndLogout(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "provider_logout off"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	var s1 struct {
		Authenticated bool   `json:"authenticated"`
		IdleExpiresAt int64  `json:"idle_expires_at"`
		LastActivity  int64  `json:"last_activity"`
		CSRF          string `json:"csrf"`
		Name          string `json:"name"`
	}
	getStatus := func() {
		t.Helper()
		resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
		body := readBody(t, resp)
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &s1) != nil || !s1.Authenticated {
			t.Fatalf("status: %s %s", resp.Status, body)
		}
	}
	getStatus()
	first := s1
	time.Sleep(20 * time.Millisecond)
	getStatus()
	if s1.LastActivity != first.LastActivity || s1.Name != "Alice Adams" {
		t.Fatalf("/status must never count as activity: %+v then %+v", first, s1)
	}
	origin := b.base
	// CSRF: missing token, wrong token, cross-site origin → 403
	for _, h := range []map[string]string{
		{"Origin": origin},
		{"Origin": origin, "X-Sessiongate-CSRF": "wrong"},
		{"Origin": "https://evil.example", "X-Sessiongate-CSRF": first.CSRF},
	} {
		resp := b.background(http.MethodPost, "/.sessiongate/activity", h)
		if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("activity with %v: %s %s", h, resp.Status, body)
		}
	}
	time.Sleep(20 * time.Millisecond)
	resp := b.background(http.MethodPost, "/.sessiongate/activity", map[string]string{"Origin": origin, "X-Sessiongate-CSRF": first.CSRF})
	if body := readBody(t, resp); resp.StatusCode != 200 {
		t.Fatalf("activity: %s %s", resp.Status, body)
	}
	getStatus()
	if s1.LastActivity <= first.LastActivity || s1.IdleExpiresAt <= first.IdleExpiresAt {
		t.Fatalf("activity must move the idle deadline: %+v then %+v", first, s1)
	}
	// logout: GET confirms, POST without token refused, POST with token ends it
	resp = b.navigate("/.sessiongate/logout")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `name="csrf"`) {
		t.Fatalf("logout form: %s %.300s", resp.Status, body)
	}
	resp = b.do(http.MethodPost, "/.sessiongate/logout", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": origin}, strings.NewReader("csrf=nope"))
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without token: %s %s", resp.Status, body)
	}
	calls := st.idp.EndSessionCalls()
	resp = b.do(http.MethodPost, "/.sessiongate/logout", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": origin}, strings.NewReader("csrf="+url.QueryEscape(first.CSRF)))
	expectSignedOut(t, resp, "logout", "You have signed out")
	if st.idp.EndSessionCalls() != calls {
		t.Fatal("provider_logout off, yet the provider's end_session_endpoint was called")
	}
	resp = b.background(http.MethodGet, "/api/queue", nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %s %s", resp.Status, body)
	}
}

func TestStoreDownFailsClosedAndRecovers(t *testing.T) {
	st := startStack(t, site{name: "main"})
	if !st.redis.Managed() {
		t.Skip("needs a managed redis-server")
	}
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	hits := st.app.hits.Load()
	st.redis.Stop(t)
	resp := b.navigate("/chart")
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Sign-in service unavailable") {
		t.Fatalf("store down, navigation: %s %.300s", resp.Status, body)
	}
	resp = b.background(http.MethodGet, "/api/queue", nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("store down, background: %s %s", resp.Status, body)
	}
	if got := st.app.hits.Load(); got != hits {
		t.Fatalf("%d requests reached the app while the store was down", got-hits)
	}
	st.redis.Restart(t) // no persistence: sessions are gone, users sign in again
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp = b.navigate("/chart")
		readBody(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		t.Fatal("service did not resume after Redis came back")
	}
	expectApp(t, b.signIn("/chart", "alice", "pw-alice"), "/chart")
}

func TestReloadAppliesNewPolicyAndKeepsMemorySessions(t *testing.T) {
	st := startStack(t, site{name: "mem", store: "memory"})
	b := st.newBrowser("mem")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	st.load(site{name: "mem", store: "memory", extra: "idle_timeout 1s\n\t\twarn_before 500ms"})
	expectApp(t, b.navigate("/after-reload"), "/after-reload") // survived the reload
	time.Sleep(1200 * time.Millisecond)
	expectSignedOut(t, b.navigate("/x"), "idle", "after 1 second of inactivity")
}

func navHeaders() map[string]string {
	return map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none", "Accept": "text/html"}
}

func mustReq(t *testing.T, b *browser, path string, hdr map[string]string) *http.Request {
	t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = b.base + path
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}
