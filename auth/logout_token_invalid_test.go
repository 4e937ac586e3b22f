package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

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
