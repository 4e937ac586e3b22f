package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

const (
	logoutClientID     = "gateway"
	logoutClientSecret = "s3cret"
	logoutSubject      = "demo-clinician-0001"
	logoutSID          = "sid-0123456789"
)

// startLogoutIdP runs a development provider on a loopback listener with
// the client logoutClientID registered. key may be nil.
func startLogoutIdP(t *testing.T, key *rsa.PrivateKey) (*devidp.Provider, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	idp, err := devidp.New(devidp.Options{
		Issuer:     "http://" + srv.Listener.Addr().String(),
		Users:      devidp.DemoUsers(),
		Clients:    []devidp.Client{{ID: logoutClientID, Secret: logoutClientSecret}},
		SigningKey: key,
	})
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)
	return idp, srv
}

func newLogoutRP(issuer string) *RelyingParty {
	return New(Config{
		Issuer:       issuer,
		ClientID:     logoutClientID,
		ClientSecret: logoutClientSecret,
		Scopes:       []string{"openid"},
	})
}

// logoutClaims returns a valid Logout Token claims set for idp.
func logoutClaims(idp *devidp.Provider) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":    idp.Issuer(),
		"aud":    logoutClientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    rand.Text(),
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
		"sub":    logoutSubject,
		"sid":    logoutSID,
	}
}

func signLogout(t *testing.T, idp *devidp.Provider, claims map[string]any, typ string) string {
	t.Helper()
	raw, err := idp.SignLogoutClaims(claims, typ)
	if err != nil {
		t.Fatalf("SignLogoutClaims: %v", err)
	}
	return raw
}

func TestVerifyLogoutTokenValid(t *testing.T) {
	idp, _ := startLogoutIdP(t, nil)
	rp := newLogoutRP(idp.Issuer())
	cases := []struct{ name, sub, sid string }{
		{"sub and sid", logoutSubject, logoutSID},
		{"sid only", "", logoutSID},
		{"sub only", logoutSubject, ""},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := idp.LogoutToken(logoutClientID, tc.sub, tc.sid)
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			got, err := rp.VerifyLogoutToken(t.Context(), raw)
			if err != nil {
				t.Fatalf("VerifyLogoutToken: %v", err)
			}
			if got.Subject != tc.sub || got.SessionID != tc.sid {
				t.Errorf("sub, sid = %q, %q; want %q, %q", got.Subject, got.SessionID, tc.sub, tc.sid)
			}
			if got.JTI == "" || seen[got.JTI] {
				t.Errorf("JTI = %q (empty or repeated)", got.JTI)
			}
			seen[got.JTI] = true
			if got.IssuedAt.After(before) || before.Sub(got.IssuedAt) > time.Minute {
				t.Errorf("IssuedAt = %v, now %v", got.IssuedAt, before)
			}
			if d := got.Expiry.Sub(got.IssuedAt); d != devidp.LogoutTokenLifetime {
				t.Errorf("Expiry - IssuedAt = %v", d)
			}
		})
	}
}

// TestVerifyLogoutTokenTypes checks the accepted JOSE "typ" headers.
func TestVerifyLogoutTokenTypes(t *testing.T) {
	idp, _ := startLogoutIdP(t, nil)
	rp := newLogoutRP(idp.Issuer())
	for _, typ := range []string{"", "logout+jwt", "Logout+JWT", "application/logout+jwt", "JWT", "jwt"} {
		raw := signLogout(t, idp, logoutClaims(idp), typ)
		if _, err := rp.VerifyLogoutToken(t.Context(), raw); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
}

func TestVerifyLogoutTokenInvalid(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp, _ := startLogoutIdP(t, key)
	other, _ := startLogoutIdP(t, nil)   // another provider, another key
	sameKey, _ := startLogoutIdP(t, key) // another provider, same key
	rp := newLogoutRP(idp.Issuer())

	// with returns valid claims changed by edit.
	with := func(edit func(c map[string]any)) map[string]any {
		c := logoutClaims(idp)
		edit(c)
		return c
	}
	without := func(names ...string) map[string]any {
		return with(func(c map[string]any) {
			for _, n := range names {
				delete(c, n)
			}
		})
	}
	set := func(name string, v any) map[string]any {
		return with(func(c map[string]any) { c[name] = v })
	}
	events := func(v any) map[string]any { return set("events", map[string]any{backchannelLogoutEvent: v}) }

	valid := signLogout(t, idp, logoutClaims(idp), devidp.LogoutTokenType)
	parts := strings.Split(valid, ".")
	sig := []byte(parts[2])
	sig[10] ^= 0x01 // still base64url, different signature bytes
	tamperedSig := parts[0] + "." + parts[1] + "." + string(sig)
	forgedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"iss":"`+idp.Issuer()+`","aud":"`+logoutClientID+`","iat":`+itoa(time.Now().Unix())+
			`,"exp":`+itoa(time.Now().Add(time.Minute).Unix())+`,"jti":"x","sub":"victim",`+
			`"events":{"`+backchannelLogoutEvent+`":{}}}`)) + "." + parts[2]

	otherToken, err := other.LogoutToken(logoutClientID, logoutSubject, logoutSID)
	if err != nil {
		t.Fatal(err)
	}
	sameKeyToken, err := sameKey.LogoutToken(logoutClientID, logoutSubject, logoutSID)
	if err != nil {
		t.Fatal(err)
	}
	hmacSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType(devidp.LogoutTokenType))
	if err != nil {
		t.Fatal(err)
	}
	hmacJWS, err := hmacSigner.Sign([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	hmacToken, err := hmacJWS.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	noneToken := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."

	oversized := signLogout(t, idp, set("pad", strings.Repeat("x", MaxLogoutTokenSize)), devidp.LogoutTokenType)

	cases := []struct {
		name string
		raw  string
	}{
		{"empty", ""},
		{"garbage", "not-a-jwt"},
		{"three garbage parts", "a.b.c"},
		{"oversized", oversized},
		{"tampered signature", tamperedSig},
		{"payload swapped under a valid signature", forgedPayload},
		{"HS256", hmacToken},
		{"alg none", noneToken},
		{"other provider", otherToken},
		{"wrong issuer, provider's key", sameKeyToken},
		{"wrong issuer claim", signLogout(t, idp, set("iss", other.Issuer()), "")},
		{"no issuer", signLogout(t, idp, without("iss"), "")},
		{"wrong audience", signLogout(t, idp, set("aud", "another-client"), "")},
		{"audience list without us", signLogout(t, idp, set("aud", []string{"a", "b"}), "")},
		{"no audience", signLogout(t, idp, without("aud"), "")},
		{"expired", signLogout(t, idp, with(func(c map[string]any) {
			c["iat"] = time.Now().Add(-10 * time.Minute).Unix()
			c["exp"] = time.Now().Add(-8 * time.Minute).Unix()
		}), "")},
		{"no exp", signLogout(t, idp, without("exp"), "")},
		{"no iat", signLogout(t, idp, without("iat"), "")},
		{"iat in the future", signLogout(t, idp, set("iat", time.Now().Add(time.Hour).Unix()), "")},
		{"no events", signLogout(t, idp, without("events"), "")},
		{"events not an object", signLogout(t, idp, set("events", backchannelLogoutEvent), "")},
		{"events an array", signLogout(t, idp, set("events", []string{backchannelLogoutEvent}), "")},
		{"events without the logout member", signLogout(t, idp, set("events", map[string]any{"urn:other": map[string]any{}}), "")},
		{"events member a string", signLogout(t, idp, events("yes"), "")},
		{"events member true", signLogout(t, idp, events(true), "")},
		{"events member null", signLogout(t, idp, events(nil), "")},
		{"events member an array", signLogout(t, idp, events([]any{}), "")},
		{"nonce", signLogout(t, idp, set("nonce", "n-123"), "")},
		{"nonce null", signLogout(t, idp, set("nonce", nil), "")},
		{"nonce empty", signLogout(t, idp, set("nonce", ""), "")},
		{"neither sub nor sid", signLogout(t, idp, without("sub", "sid"), "")},
		{"empty sub and sid", signLogout(t, idp, with(func(c map[string]any) { c["sub"], c["sid"] = "", "" }), "")},
		{"sub not a string", signLogout(t, idp, set("sub", 42), "")},
		{"no jti", signLogout(t, idp, without("jti"), "")},
		{"empty jti", signLogout(t, idp, set("jti", ""), "")},
		{"typ at+jwt", signLogout(t, idp, logoutClaims(idp), "at+jwt")},
		{"typ secevent+jwt", signLogout(t, idp, logoutClaims(idp), "secevent+jwt")},
		{"typ logout+jwt+extra", signLogout(t, idp, logoutClaims(idp), "logout+jwt+extra")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rp.VerifyLogoutToken(t.Context(), tc.raw)
			if !errors.Is(err, ErrInvalidLogoutToken) {
				t.Fatalf("err = %v, want ErrInvalidLogoutToken", err)
			}
			if errors.Is(err, ErrProviderUnavailable) {
				t.Errorf("err = %v also wraps ErrProviderUnavailable", err)
			}
			if got != (LogoutClaims{}) {
				t.Errorf("claims returned with the error: %+v", got)
			}
		})
	}

	// The untampered token is fine, and the base claims are valid.
	if _, err := rp.VerifyLogoutToken(t.Context(), valid); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	if len(oversized) <= MaxLogoutTokenSize {
		t.Fatalf("oversized token is only %d bytes", len(oversized))
	}
	big := maps.Clone(logoutClaims(idp))
	big["pad"] = strings.Repeat("x", MaxLogoutTokenSize/2)
	if _, err := rp.VerifyLogoutToken(t.Context(), signLogout(t, idp, big, "")); err != nil {
		t.Errorf("token under the size limit: %v", err)
	}
}

func TestVerifyLogoutTokenProviderUnavailable(t *testing.T) {
	idp, srv := startLogoutIdP(t, nil)
	raw, err := idp.LogoutToken(logoutClientID, logoutSubject, logoutSID)
	if err != nil {
		t.Fatal(err)
	}

	// Discovered, then the provider goes away: its keys cannot be fetched.
	rp := newLogoutRP(idp.Issuer())
	if rp.EndSessionEndpoint(t.Context()) == "" {
		t.Fatal("discovery failed")
	}
	srv.Close()
	_, err = rp.VerifyLogoutToken(t.Context(), raw)
	if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrInvalidLogoutToken) {
		t.Errorf("keys unreachable: err = %v, want only ErrProviderUnavailable", err)
	}

	// Never discovered.
	rp = newLogoutRP(idp.Issuer())
	_, err = rp.VerifyLogoutToken(t.Context(), raw)
	if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrInvalidLogoutToken) {
		t.Errorf("discovery unreachable: err = %v, want only ErrProviderUnavailable", err)
	}
}

// TestVerifyLogoutTokenKeysError checks that a provider whose jwks_uri
// answers with an error is reported as unavailable, not as a bad token.
func TestVerifyLogoutTokenKeysError(t *testing.T) {
	idp, _ := startLogoutIdP(t, nil)
	front := discoveryFront(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	claims := logoutClaims(idp)
	claims["iss"] = front.URL
	raw := signLogout(t, idp, claims, devidp.LogoutTokenType)
	_, err := newLogoutRP(front.URL).VerifyLogoutToken(t.Context(), raw)
	if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrInvalidLogoutToken) {
		t.Errorf("err = %v, want only ErrProviderUnavailable", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// discoveryFront serves a discovery document whose jwks_uri is its own
// /keys, answered by keys (everything but discovery goes there).
func discoveryFront(t *testing.T, keys http.HandlerFunc) *httptest.Server {
	t.Helper()
	var front *httptest.Server
	front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issuer":"` + front.URL + `","authorization_endpoint":"` + front.URL +
				`/auth","token_endpoint":"` + front.URL + `/token","jwks_uri":"` + front.URL +
				`/keys","id_token_signing_alg_values_supported":["RS256"]}`))
			return
		}
		keys(w, r)
	}))
	t.Cleanup(front.Close)
	return front
}

// TestVerifyLogoutTokenFetchesKeysOnce: the provider's keys are fetched once
// per relying party, not once per posted token (#15 point 8): any
// unauthenticated POST with a well-formed token must not make the gateway
// fetch the JWKS again.
func TestVerifyLogoutTokenFetchesKeysOnce(t *testing.T) {
	idp, _ := startLogoutIdP(t, nil)
	var jwksFetches int
	front := discoveryFront(t, func(w http.ResponseWriter, r *http.Request) {
		jwksFetches++
		// the provider's own keys, fetched through this front
		resp, err := http.Get(idp.Issuer() + "/keys")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	})
	rp := newLogoutRP(front.URL)
	for i := range 20 {
		claims := logoutClaims(idp)
		claims["iss"] = front.URL
		claims["jti"] = "jti-" + itoa(int64(i))
		raw := signLogout(t, idp, claims, devidp.LogoutTokenType)
		if _, err := rp.VerifyLogoutToken(t.Context(), raw); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	if jwksFetches != 1 {
		t.Fatalf("20 logout tokens fetched the provider's keys %d times, want once", jwksFetches)
	}
}
