package caddymodule_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

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
