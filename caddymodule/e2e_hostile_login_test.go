package caddymodule_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/internal/devidp"
)

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
