package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"testing"
	"time"

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
