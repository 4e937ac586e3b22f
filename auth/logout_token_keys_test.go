package auth

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

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
