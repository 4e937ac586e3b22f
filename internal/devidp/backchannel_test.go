package devidp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// publishedKeys fetches the provider's JWKS the way a relying party does:
// discovery document, then jwks_uri.
func publishedKeys(t *testing.T, issuer string) jose.JSONWebKeySet {
	t.Helper()
	getJSON := func(u string, v any) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", u, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	getJSON(issuer+"/.well-known/openid-configuration", &doc)
	if doc.JWKS == "" {
		t.Fatal("discovery has no jwks_uri")
	}
	var set jose.JSONWebKeySet
	getJSON(doc.JWKS, &set)
	return set
}

// verifyLogoutToken checks raw's signature against the published keys and
// returns its JOSE header and claims.
func verifyLogoutToken(t *testing.T, issuer, raw string) (jose.Header, map[string]any) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse logout token: %v", err)
	}
	if len(jws.Signatures) != 1 {
		t.Fatalf("%d signatures", len(jws.Signatures))
	}
	hdr := jws.Signatures[0].Header
	set := publishedKeys(t, issuer)
	keys := set.Key(hdr.KeyID)
	if hdr.KeyID == "" || len(keys) != 1 {
		t.Fatalf("kid %q matches %d published keys", hdr.KeyID, len(keys))
	}
	payload, err := jws.Verify(keys[0].Public())
	if err != nil {
		t.Fatalf("logout token does not verify with the published key: %v", err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return hdr, claims
}

func TestLogoutToken(t *testing.T) {
	h := newHarness(t, "", nil)
	cases := []struct {
		name, sub, sid string
	}{
		{"sub and sid", "demo-clinician-0001", "sid-1"},
		{"sid only", "", "sid-2"},
		{"sub only", "demo-clinician-0001", ""},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second).Unix()
			raw, err := h.idp.LogoutToken(testClientID, tc.sub, tc.sid)
			if err != nil {
				t.Fatal(err)
			}
			hdr, claims := verifyLogoutToken(t, h.idp.Issuer(), raw)
			if hdr.Algorithm != string(jose.RS256) {
				t.Errorf("alg = %q", hdr.Algorithm)
			}
			if typ := hdr.ExtraHeaders[jose.HeaderType]; typ != LogoutTokenType {
				t.Errorf("typ = %v, want %q", typ, LogoutTokenType)
			}
			if claims["iss"] != h.idp.Issuer() {
				t.Errorf("iss = %v", claims["iss"])
			}
			if claims["aud"] != testClientID {
				t.Errorf("aud = %v", claims["aud"])
			}
			iat, _ := claims["iat"].(float64)
			exp, _ := claims["exp"].(float64)
			if int64(iat) < before || int64(iat) > time.Now().Unix() {
				t.Errorf("iat = %v", claims["iat"])
			}
			if time.Duration(exp-iat)*time.Second != LogoutTokenLifetime {
				t.Errorf("exp - iat = %v s", exp-iat)
			}
			jti, _ := claims["jti"].(string)
			if jti == "" || seen[jti] {
				t.Errorf("jti = %q (empty or repeated)", jti)
			}
			seen[jti] = true
			events, ok := claims["events"].(map[string]any)
			if !ok || len(events) != 1 {
				t.Fatalf("events = %#v", claims["events"])
			}
			if ev, ok := events[BackchannelLogoutEvent].(map[string]any); !ok || len(ev) != 0 {
				t.Errorf("events[%s] = %#v, want {}", BackchannelLogoutEvent, events[BackchannelLogoutEvent])
			}
			if _, ok := claims["nonce"]; ok {
				t.Error("logout token has a nonce")
			}
			for name, want := range map[string]string{"sub": tc.sub, "sid": tc.sid} {
				got, present := claims[name]
				switch {
				case want == "" && present:
					t.Errorf("%s = %v, want absent", name, got)
				case want != "" && got != want:
					t.Errorf("%s = %v, want %q", name, got, want)
				}
			}
		})
	}
}

func TestLogoutTokenErrors(t *testing.T) {
	h := newHarness(t, "", nil)
	if _, err := h.idp.LogoutToken(testClientID, "", ""); err == nil {
		t.Error("token without sub and sid issued")
	}
	if _, err := h.idp.LogoutToken("unknown-client", "demo-clinician-0001", ""); !errors.Is(err, errNotFound) {
		t.Errorf("unknown client: err = %v", err)
	}
}

func TestSignLogoutClaims(t *testing.T) {
	h := newHarness(t, "", nil)
	raw, err := h.idp.SignLogoutClaims(map[string]any{"aud": "other", "nonce": "n"}, "")
	if err != nil {
		t.Fatal(err)
	}
	hdr, claims := verifyLogoutToken(t, h.idp.Issuer(), raw)
	if _, ok := hdr.ExtraHeaders[jose.HeaderType]; ok {
		t.Errorf("typ header present: %v", hdr.ExtraHeaders)
	}
	if len(claims) != 2 || claims["aud"] != "other" || claims["nonce"] != "n" {
		t.Errorf("claims = %v", claims)
	}
	raw, err = h.idp.SignLogoutClaims(map[string]any{}, "JWT")
	if err != nil {
		t.Fatal(err)
	}
	if hdr, _ := verifyLogoutToken(t, h.idp.Issuer(), raw); hdr.ExtraHeaders[jose.HeaderType] != "JWT" {
		t.Errorf("typ = %v", hdr.ExtraHeaders[jose.HeaderType])
	}
}

func TestSendBackchannelLogout(t *testing.T) {
	h := newHarness(t, "", nil)
	type received struct {
		method, contentType string
		form                url.Values
	}
	got := make(chan received, 1)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/backchannel", http.StatusFound)
			return
		}
		err := r.ParseForm()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- received{r.Method, r.Header.Get("Content-Type"), r.PostForm}
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(rp.Close)

	resp, err := h.idp.SendBackchannelLogout(t.Context(), rp.URL+"/backchannel", testClientID, "demo-manager-0003", "sid-9")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	req := <-got
	if req.method != http.MethodPost || req.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("%s with Content-Type %q", req.method, req.contentType)
	}
	if len(req.form) != 1 || len(req.form["logout_token"]) != 1 {
		t.Fatalf("form = %v", req.form)
	}
	_, claims := verifyLogoutToken(t, h.idp.Issuer(), req.form.Get("logout_token"))
	if claims["sub"] != "demo-manager-0003" || claims["sid"] != "sid-9" || claims["aud"] != testClientID {
		t.Errorf("claims = %v", claims)
	}

	// A redirect is returned to the caller, not followed.
	resp, err = h.idp.SendBackchannelLogout(t.Context(), rp.URL+"/moved", testClientID, "", "sid-9")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("redirect: status %d", resp.StatusCode)
	}
	select {
	case r := <-got:
		t.Errorf("redirect followed: %+v", r)
	default:
	}

	if _, err := h.idp.SendBackchannelLogout(t.Context(), rp.URL, testClientID, "", ""); err == nil {
		t.Error("sent a logout token without sub and sid")
	}
}

// TestLogoutTokenMatchesIDToken checks that the Logout Token for a real
// sign-in is signed with the ID token's key and names the same sid.
func TestLogoutTokenMatchesIDToken(t *testing.T) {
	h := newHarness(t, "", nil)
	tok := h.exchange(h.authorize("manager", "demo"), nil)
	idJWS, err := jose.ParseSignedCompact(tok.raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := h.idp.LogoutToken(testClientID, tok.idToken.Subject, sid(t, tok.claims))
	if err != nil {
		t.Fatal(err)
	}
	hdr, claims := verifyLogoutToken(t, h.idp.Issuer(), raw)
	if want := idJWS.Signatures[0].Header.KeyID; hdr.KeyID != want {
		t.Errorf("kid = %q, ID token kid = %q", hdr.KeyID, want)
	}
	if claims["sid"] != tok.claims["sid"] || claims["sub"] != tok.idToken.Subject || claims["iss"] != tok.idToken.Issuer {
		t.Errorf("claims = %v, ID token claims = %v", claims, tok.claims)
	}
}
