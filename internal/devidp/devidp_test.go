package devidp

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	testClientID     = "gateway"
	testClientSecret = "s3cret"
)

// harness runs a provider and a relying party callback server on loopback
// listeners, plus a browser-like client with a cookie jar.
type harness struct {
	t        *testing.T
	ctx      context.Context
	idp      *Provider
	idpSrv   *httptest.Server
	rpSrv    *httptest.Server
	rp       *oidc.Provider
	oauth    *oauth2.Config
	browser  *http.Client
	verifier *oidc.IDTokenVerifier
}

// newHarness starts a provider with DemoUsers and one confidential client
// whose only registered redirect URI is not the RP's (random-port) one, so
// the loopback rule is exercised. path is the issuer path ("" for none).
func newHarness(t *testing.T, path string, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, ctx: t.Context()}

	h.rpSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/callback":
			_, _ = io.WriteString(w, "rp callback")
		case "/logged-out":
			_, _ = io.WriteString(w, "rp logged out")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(h.rpSrv.Close)

	h.idpSrv = httptest.NewUnstartedServer(nil)
	opts := Options{
		Issuer: "http://" + h.idpSrv.Listener.Addr().String() + path,
		Users:  DemoUsers(),
		Clients: []Client{{
			ID:                     testClientID,
			Secret:                 testClientSecret,
			RedirectURIs:           []string{"https://gateway.example.test/callback"},
			PostLogoutRedirectURIs: []string{"https://gateway.example.test/"},
		}},
		AllowLoopbackRedirects: true,
	}
	if mod != nil {
		mod(&opts)
	}
	idp, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.idp = idp
	h.idpSrv.Config.Handler = idp
	h.idpSrv.Start()
	t.Cleanup(h.idpSrv.Close)

	h.rp, err = oidc.NewProvider(h.ctx, idp.Issuer())
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	h.oauth = &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Endpoint:     h.rp.Endpoint(),
		RedirectURL:  h.rpSrv.URL + "/callback",
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email", "groups"},
	}
	h.verifier = h.rp.Verifier(&oidc.Config{ClientID: testClientID})

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	h.browser = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	return h
}

// flow is one run of the authorization code flow.
type flow struct {
	state, nonce, verifier string
	formShown              bool
	callback               *url.URL
}

// authorize starts a code flow with PKCE in the browser. If the provider
// shows the sign-in form, it is submitted with username/password.
func (h *harness) authorize(username, password string, extra ...oauth2.AuthCodeOption) *flow {
	h.t.Helper()
	f := &flow{state: "st-" + newID(), nonce: "n-" + newID(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}, extra...)
	resp, err := h.browser.Get(h.oauth.AuthCodeURL(f.state, opts...))
	if err != nil {
		h.t.Fatalf("authorize: %v", err)
	}
	if resp.Request.URL.Host != h.rpURL().Host {
		f.formShown = true
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			h.t.Fatalf("login page: status %d: %s", resp.StatusCode, body)
		}
		resp, err = SubmitLogin(h.browser, resp, username, password)
		if err != nil {
			h.t.Fatalf("SubmitLogin: %v", err)
		}
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.Request.URL.Host != h.rpURL().Host || resp.Request.URL.Path != "/callback" {
		h.t.Fatalf("flow ended at %s (status %d): %s", resp.Request.URL, resp.StatusCode, body)
	}
	f.callback = resp.Request.URL
	if got := f.callback.Query().Get("state"); got != f.state {
		h.t.Fatalf("state = %q, want %q", got, f.state)
	}
	if e := f.callback.Query().Get("error"); e != "" {
		h.t.Fatalf("authorize error %s: %s", e, f.callback.Query().Get("error_description"))
	}
	return f
}

func (h *harness) rpURL() *url.URL {
	u, _ := url.Parse(h.rpSrv.URL)
	return u
}

// tokens holds the result of a code exchange.
type tokens struct {
	oauth   *oauth2.Token
	raw     string
	idToken *oidc.IDToken
	claims  map[string]any
}

// exchange redeems the flow's code and verifies the ID token with go-oidc.
func (h *harness) exchange(f *flow, cfg *oauth2.Config) *tokens {
	h.t.Helper()
	if cfg == nil {
		cfg = h.oauth
	}
	tok, err := cfg.Exchange(h.ctx, f.callback.Query().Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		h.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		h.t.Fatal("token response has no id_token")
	}
	idt, err := h.verifier.Verify(h.ctx, raw)
	if err != nil {
		h.t.Fatalf("go-oidc rejected the ID token: %v", err)
	}
	if idt.Nonce != f.nonce {
		h.t.Fatalf("nonce = %q, want %q", idt.Nonce, f.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		h.t.Fatalf("at_hash: %v", err)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		h.t.Fatal(err)
	}
	return &tokens{oauth: tok, raw: raw, idToken: idt, claims: claims}
}

func authTime(t *testing.T, claims map[string]any) int64 {
	t.Helper()
	v, ok := claims["auth_time"].(float64)
	if !ok || v <= 0 {
		t.Fatalf("auth_time missing or invalid: %v", claims["auth_time"])
	}
	return int64(v)
}

func sid(t *testing.T, claims map[string]any) string {
	t.Helper()
	s, _ := claims["sid"].(string)
	if s == "" {
		t.Fatalf("sid claim missing: %v", claims)
	}
	return s
}

func groupsOf(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, g := range list {
		s, _ := g.(string)
		out = append(out, s)
	}
	return out
}
