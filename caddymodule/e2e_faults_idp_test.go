package caddymodule_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The identity provider is down: a sign-in shows a clear page with a retry
// link (no crash); live sessions keep working; after the provider rotates
// its signing key, new sign-ins still verify.
func TestIdentityProviderFaults(t *testing.T) {
	down := &atomic.Bool{}
	st := startStackWith(t, stackOptions{idpDown: down}, site{name: "main"})

	// down before the first sign-in: discovery fails
	down.Store(true)
	b := st.newBrowser("main")
	resp := b.navigate("/patients")
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "identity provider cannot be reached") ||
		!strings.Contains(body, "/.sessiongate/login") {
		t.Fatalf("provider down at sign-in: %s %.600s", resp.Status, body)
	}
	down.Store(false)
	time.Sleep(1100 * time.Millisecond) // a failed discovery is not retried for a second
	expectApp(t, b.signIn("/patients", "alice", "pw-alice"), "/patients")

	// down while sessions live: they keep working (no provider call per request)
	down.Store(true)
	for i := range 5 {
		expectApp(t, b.navigate(fmt.Sprintf("/while-down/%d", i)), fmt.Sprintf("/while-down/%d", i))
	}
	if code, _ := statusOf(t, b, st.sites["main"]); code != 200 {
		t.Fatalf("status while the provider is down: %d", code)
	}
	// a new sign-in while down: the gateway still sends the browser to the
	// provider (discovery is cached); the provider going down between the
	// login form and the code exchange gives the clear page with a retry link
	down.Store(false)
	b2 := st.newBrowser("main")
	loginPage := b2.navigate("/patients")
	c := *b2.client
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/.sessiongate/callback") {
			down.Store(true)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	resp, err := submitLoginWith(&c, loginPage, "clinician", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(body, "identity provider cannot be reached") || !strings.Contains(body, "/.sessiongate/login") {
		t.Fatalf("provider down at the code exchange: %s %.600s", resp.Status, body)
	}
	if b2.cookie("sessiongate") != nil {
		t.Fatal("a session cookie was set although the sign-in failed")
	}
	down.Store(false)

	// key rotation: tokens signed with the new key verify (the gateway refetches the keys)
	oldKid := st.idp.SigningKeyID()
	if err := st.idp.RotateSigningKey(); err != nil {
		t.Fatal(err)
	}
	if st.idp.SigningKeyID() == oldKid {
		t.Fatal("key did not rotate")
	}
	b3 := st.newBrowser("main")
	expectApp(t, b3.signIn("/patients", "clinician", "demo"), "/patients")
	// and a back-channel logout token signed with the new key is accepted
	tok, err := st.idp.LogoutToken(testClientID, "demo-clinician-0001", "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.PostForm(st.sites["main"]+"/.sessiongate/backchannel-logout", url.Values{"logout_token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, r); r.StatusCode != http.StatusOK {
		t.Fatalf("logout token signed with the rotated key: %s %s", r.Status, body)
	}
	expectSignedOut(t, b3.navigate("/patients"), "backchannel", "sign-in service")
}
