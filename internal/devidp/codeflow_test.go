package devidp

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestDiscovery(t *testing.T) {
	h := newHarness(t, "", nil)
	resp, err := http.Get(h.idp.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var doc struct {
		Issuer              string   `json:"issuer"`
		EndSession          string   `json:"end_session_endpoint"`
		Userinfo            string   `json:"userinfo_endpoint"`
		JWKS                string   `json:"jwks_uri"`
		CodeChallenge       []string `json:"code_challenge_methods_supported"`
		TokenAuthMethods    []string `json:"token_endpoint_auth_methods_supported"`
		ResponseTypes       []string `json:"response_types_supported"`
		IDTokenSigningAlgos []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != h.idp.Issuer() {
		t.Errorf("issuer = %q, want %q", doc.Issuer, h.idp.Issuer())
	}
	if doc.EndSession != h.idp.Issuer()+"/end_session" {
		t.Errorf("end_session_endpoint = %q", doc.EndSession)
	}
	if doc.Userinfo == "" || doc.JWKS == "" {
		t.Errorf("userinfo/jwks missing: %+v", doc)
	}
	if !slices.Contains(doc.CodeChallenge, "S256") {
		t.Errorf("code_challenge_methods_supported = %v", doc.CodeChallenge)
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post"} {
		if !slices.Contains(doc.TokenAuthMethods, m) {
			t.Errorf("token_endpoint_auth_methods_supported = %v lacks %s", doc.TokenAuthMethods, m)
		}
	}
	if !slices.Contains(doc.IDTokenSigningAlgos, "RS256") {
		t.Errorf("id_token_signing_alg_values_supported = %v", doc.IDTokenSigningAlgos)
	}

	keys, err := http.Get(doc.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = keys.Body.Close() }()
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(keys.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 || jwks.Keys[0]["kty"] != "RSA" || jwks.Keys[0]["d"] != nil {
		t.Errorf("jwks = %v", jwks.Keys)
	}
}

func TestCodeFlowFullIDToken(t *testing.T) {
	h := newHarness(t, "", nil)
	before := time.Now().Unix()
	f := h.authorize("manager", "demo")
	if !f.formShown {
		t.Fatal("first sign-in did not show the form")
	}
	tok := h.exchange(f, nil) // oauth2 auto-detects: client_secret_basic
	c := tok.claims
	if tok.idToken.Subject != "demo-manager-0003" {
		t.Errorf("sub = %q", tok.idToken.Subject)
	}
	sid(t, c)
	if at := authTime(t, c); at < before || at > time.Now().Unix() {
		t.Errorf("auth_time %d not within the sign-in (%d..now)", at, before)
	}
	if c["name"] != "Morgan Manager" || c["email"] != "manager@example.test" {
		t.Errorf("profile claims missing from ID token: %v", c)
	}
	if g := groupsOf(c["groups"]); !slices.Equal(g, []string{"practice-managers", "clinicians"}) {
		t.Errorf("groups = %v", c["groups"])
	}

	ui, err := h.rp.UserInfo(h.ctx, oauth2.StaticTokenSource(tok.oauth))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != "demo-manager-0003" || ui.Email != "manager@example.test" {
		t.Errorf("userinfo = %+v", ui)
	}

	recs := h.idp.AuthorizeRequests()
	if len(recs) != 1 {
		t.Fatalf("records = %+v", recs)
	}
	r := recs[0]
	if !r.LoginFormShown || r.Nonce != f.nonce || r.State != f.state || r.CodeChallengeMethod != "S256" ||
		r.ClientID != testClientID || r.RedirectURI != h.oauth.RedirectURL ||
		!slices.Equal(r.Scopes, []string{"openid", "profile", "email", "groups"}) {
		t.Errorf("record = %+v", r)
	}

	// A code is usable once.
	if _, err := h.oauth.Exchange(h.ctx, f.callback.Query().Get("code"), oauth2.VerifierOption(f.verifier)); err == nil {
		t.Error("code redeemed twice")
	}
}

func TestThinIDTokenAndClientSecretPost(t *testing.T) {
	h := newHarness(t, "", func(o *Options) { o.ThinIDToken = true })
	f := h.authorize("clinician", "demo")
	cfg := *h.oauth
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams // client_secret_post
	tok := h.exchange(f, &cfg)
	c := tok.claims
	for _, k := range []string{"name", "email", "groups", "preferred_username", "email_verified"} {
		if _, ok := c[k]; ok {
			t.Errorf("thin ID token carries %q: %v", k, c)
		}
	}
	sid(t, c)
	authTime(t, c)
	if tok.idToken.Subject != "demo-clinician-0001" {
		t.Errorf("sub = %q", tok.idToken.Subject)
	}

	ui, err := h.rp.UserInfo(h.ctx, oauth2.StaticTokenSource(tok.oauth))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uc map[string]any
	if err := ui.Claims(&uc); err != nil {
		t.Fatal(err)
	}
	if uc["sub"] != "demo-clinician-0001" || uc["name"] != "Dr Casey Clinician" || uc["email"] != "clinician@example.test" {
		t.Errorf("userinfo claims = %v", uc)
	}
	if g := groupsOf(uc["groups"]); !slices.Equal(g, []string{"clinicians"}) {
		t.Errorf("userinfo groups = %v", uc["groups"])
	}
}

func TestWrongClientSecretRejected(t *testing.T) {
	h := newHarness(t, "", nil)
	f := h.authorize("clinician", "demo")
	cfg := *h.oauth
	cfg.ClientSecret = "wrong"
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if _, err := cfg.Exchange(h.ctx, f.callback.Query().Get("code"), oauth2.VerifierOption(f.verifier)); err == nil {
		t.Fatal("exchange with a wrong secret succeeded")
	}
}

func TestPKCEVerifierChecked(t *testing.T) {
	h := newHarness(t, "", nil)
	f := h.authorize("clinician", "demo")
	if _, err := h.oauth.Exchange(h.ctx, f.callback.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("exchange with a wrong code_verifier succeeded")
	}
}

func TestIssuerWithPath(t *testing.T) {
	h := newHarness(t, "/idp", nil)
	f := h.authorize("clinician", "demo")
	tok := h.exchange(f, nil)
	if tok.idToken.Issuer != h.idp.Issuer() || !strings.HasSuffix(tok.idToken.Issuer, "/idp") {
		t.Errorf("iss = %q", tok.idToken.Issuer)
	}
	if f := h.authorize("", ""); f.formShown {
		t.Error("SSO session not used under an issuer path")
	}
}
