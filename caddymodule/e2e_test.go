package caddymodule_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

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
