package caddymodule_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A page on another site signs nobody back in (#15 point 1): the browser had
// a session, it ended, and an attacker's page makes the browser send a
// cross-site request to the gateway. SameSite=Lax keeps every gateway cookie
// home (the session and the seen marker), while the provider's single
// sign-on cookie still goes to the provider. Whatever the method or kind of
// request, the sign-in it starts must ask for the password (prompt=login),
// never ride the provider's session.
func TestHostileCrossSiteRequestNeverSignsInSilently(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	base := st.sites["main"]
	idp, _ := url.Parse(st.idp.Issuer())
	for _, tc := range []struct {
		name, method string
		hdr          map[string]string
	}{
		{"auto-submitted form POST", http.MethodPost, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
			"Sec-Fetch-Dest": "document", "Origin": "http://attacker.example", "Content-Type": "application/x-www-form-urlencoded"}},
		{"POST without Fetch Metadata", http.MethodPost, map[string]string{"Origin": "http://attacker.example",
			"Content-Type": "application/x-www-form-urlencoded"}},
		{"iframe on another site", http.MethodGet, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
			"Sec-Fetch-Dest": "iframe"}},
		{"frame without Fetch Metadata", http.MethodGet, map[string]string{"Referer": "http://attacker.example/page", "Accept": "text/html"}},
		{"the login endpoint in an iframe", http.MethodGet, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
			"Sec-Fetch-Dest": "iframe", "X-Path": "/.sessiongate/login?rd=/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// the browser's cookies as a cross-site request carries them: the
			// provider's (its SSO session), none of the gateway's
			jar, _ := cookiejar.New(nil)
			var sso []*http.Cookie
			for _, c := range b.client.Jar.Cookies(idp) {
				if !strings.HasPrefix(c.Name, "sessiongate") && !strings.HasPrefix(c.Name, "__Host-sessiongate") {
					sso = append(sso, c)
				}
			}
			if len(sso) == 0 {
				t.Fatal("the provider set no single sign-on cookie: the probe would prove nothing")
			}
			jar.SetCookies(idp, sso)
			client := &http.Client{Jar: jar}
			path := "/patients"
			if p := tc.hdr["X-Path"]; p != "" {
				path = p
			}
			var body *strings.Reader
			if tc.method == http.MethodPost {
				body = strings.NewReader("note=hello")
			} else {
				body = strings.NewReader("")
			}
			req, _ := http.NewRequest(tc.method, base+path, body)
			for k, v := range tc.hdr {
				if k != "X-Path" {
					req.Header.Set(k, v)
				}
			}
			before, hits := len(st.idp.AuthorizeRequests()), st.app.hits.Load()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page := readBody(t, resp)
			if st.app.hits.Load() != hits {
				t.Fatal("the request reached the app")
			}
			reqs := st.idp.AuthorizeRequests()
			if len(reqs) == before {
				// no sign-in started here (a background request's 401, a frame's
				// break-out page): the sign-in link it offers asks for the password
				if !strings.Contains(page, "prompt=login") {
					t.Fatalf("answer without a sign-in link that asks for the password: %s %.300s", resp.Status, page)
				}
				return
			}
			if last := reqs[len(reqs)-1]; last.Prompt != "login" || !last.LoginFormShown {
				t.Fatalf("sign-in without prompt=login (prompt %q, form shown %v): the provider's session signed the browser in; ended at %s %.200s",
					last.Prompt, last.LoginFormShown, resp.Request.URL, page)
			}
			if strings.HasPrefix(resp.Request.URL.String(), base) {
				t.Fatalf("ended on the gateway's site %s, not the provider's login form", resp.Request.URL)
			}
		})
	}
}

// A client cannot take its own identity headers away from the app (#15
// point 3): a proxy drops the headers the Connection header lists, after
// the gateway has set them.
func TestHostileConnectionHeaderCannotDropIdentity(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	for _, conn := range []string{
		"close, X-Forwarded-User, X-Forwarded-Groups",
		"x-forwarded-user",
		"keep-alive, X_Forwarded_User",
	} {
		resp := b.do(http.MethodGet, "/chart", map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document",
			"Accept": "text/html", "Connection": conn}, nil)
		expectApp(t, resp, "/chart")
		h := st.app.lastHeader()
		if got := h.Get("X-Forwarded-User"); got != "u-alice" {
			t.Errorf("Connection: %s: the app saw X-Forwarded-User %q, want u-alice", conn, got)
		}
	}
}

// A refused sign-out clears nothing (#15 point 4): a form on another site
// posting to /logout carries no session cookie and no token. Answering it by
// clearing the browser's cookies would leave the session valid on the
// server (the saved cookie still works) with no sign-out audited.
func TestHostileCrossSiteLogoutClearsNothing(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	req, _ := http.NewRequest(http.MethodPost, st.sites["main"]+"/.sessiongate/logout", strings.NewReader("csrf=forged"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://attacker.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	// the cross-site request carries none of the gateway's cookies: no jar
	bare := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := bare.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "sessiongate") {
			t.Errorf("a refused sign-out set cookie %s=%q (Max-Age %d)", c.Name, c.Value, c.MaxAge)
		}
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/.sessiongate/logout" {
		t.Errorf("want 303 to the same-site confirmation page, got %d %s", resp.StatusCode, loc)
	}
	// the session is untouched and the confirmation page offers to end it
	expectApp(t, b.navigate("/after"), "/after")
	page := readBody(t, b.navigate("/.sessiongate/logout"))
	if !strings.Contains(page, `name="csrf"`) {
		t.Errorf("the confirmation page has no form: %.300s", page)
	}
}

// Sign-in state cookies do not pile up (#15 point 10): every navigation of a
// signed-out browser starts a sign-in with its own state cookie (Max-Age
// 900, about 450 bytes); about 50 of them made the Cookie header too large
// for anything, the sign-in included (431). A browser keeps the newest four.
func TestHostileLoginStatesDoNotPileUp(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	client := b.noRedirects() // the browser's jar, without following to the provider
	base, _ := url.Parse(st.sites["main"])
	for i := range 60 {
		req, _ := http.NewRequest(http.MethodGet, st.sites["main"]+"/board", nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Accept", "text/html")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("navigation %d of a signed-out browser: %s", i+1, resp.Status)
		}
		n := 0
		for _, c := range b.client.Jar.Cookies(base) {
			if strings.Contains(c.Name, "sessiongate_login_") {
				n++
			}
		}
		if n > 4 {
			t.Fatalf("after %d sign-ins started the browser holds %d state cookies, want at most 4", i+1, n)
		}
	}
	// and the browser can still sign in
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
}

// A sealed cookie is bound to its provider and client (#15 point 7): two
// site blocks that reuse one cookie secret (one environment variable) and
// share a store do not accept each other's cookies — the provider may have
// assigned the user to only one of the clients.
func TestHostileCookieBoundToClient(t *testing.T) {
	st := startStack(t, site{name: "a"}, site{name: "b", extra: "client_id another-client"})
	b := st.newBrowser("a")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	// the same browser (cookies are per host, not per port: site b gets
	// site a's session cookie) goes to site b
	resp := b.do(http.MethodGet, st.sites["b"]+"/chart", map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document",
		"Sec-Fetch-Site": "none", "Sec-Fetch-User": "?1", "Accept": "text/html"}, nil)
	body := readBody(t, resp)
	if strings.HasPrefix(resp.Request.URL.String(), st.sites["b"]+"/chart") && resp.StatusCode == http.StatusOK {
		t.Fatalf("site b accepted site a's session cookie: %.200s", body)
	}
}

// A sign-in over a session the browser still has ends that session and the
// audit trail says so (#15 point 9): before, it ended without an event.
func TestSignInOverAnExistingSessionIsAudited(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	st := startStackWithAudit(t, auditLog, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	time.Sleep(1100 * time.Millisecond) // auth_time has one-second resolution
	resp := b.navigate("/.sessiongate/login?rd=%2F&prompt=login")
	final, err := submitLogin(b, resp, "alice", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	expectApp(t, final, "/")
	var signIns, endedByNewSignIn int
	for _, e := range auditEvents(t, auditLog) {
		switch {
		case e["msg"] == "sign-in":
			signIns++
		case e["msg"] == "sign-out" && e["by"] == "new sign-in" && e["user"] == "u-alice":
			endedByNewSignIn++
		}
	}
	if signIns != 2 || endedByNewSignIn != 1 {
		t.Fatalf("audit: %d sign-ins, %d sign-outs by a new sign-in; want 2 and 1", signIns, endedByNewSignIn)
	}
}
