package devidp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
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

func TestSSOSessionSkipsForm(t *testing.T) {
	h := newHarness(t, "", nil)
	first := h.exchange(h.authorize("frontdesk", "demo"), nil)
	second := h.authorize("", "") // no credentials: the form must not be shown
	if second.formShown {
		t.Fatal("form shown despite SSO session")
	}
	tok := h.exchange(second, nil)
	if tok.idToken.Subject != first.idToken.Subject {
		t.Errorf("silent sign-in as %q, want %q", tok.idToken.Subject, first.idToken.Subject)
	}
	if sid(t, tok.claims) != sid(t, first.claims) {
		t.Error("sid changed within one SSO session")
	}
	if authTime(t, tok.claims) != authTime(t, first.claims) {
		t.Error("auth_time changed without credentials being entered")
	}
	recs := h.idp.AuthorizeRequests()
	if len(recs) != 2 || !recs[0].LoginFormShown || recs[1].LoginFormShown {
		t.Errorf("records = %+v", recs)
	}
}

func TestPromptLoginForcesForm(t *testing.T) {
	h := newHarness(t, "", nil)
	first := h.exchange(h.authorize("clinician", "demo"), nil)
	// auth_time has one-second resolution: make the second sign-in happen in
	// a later second.
	time.Sleep(time.Until(time.Unix(authTime(t, first.claims)+1, 0).Add(50 * time.Millisecond)))
	f := h.authorize("clinician", "demo", oauth2.SetAuthURLParam("prompt", "login"))
	if !f.formShown {
		t.Fatal("prompt=login did not show the form")
	}
	tok := h.exchange(f, nil)
	if authTime(t, tok.claims) <= authTime(t, first.claims) {
		t.Errorf("auth_time %d not newer than %d", authTime(t, tok.claims), authTime(t, first.claims))
	}
	recs := h.idp.AuthorizeRequests()
	if len(recs) != 2 || recs[1].Prompt != "login" || !recs[1].LoginFormShown {
		t.Errorf("records = %+v", recs)
	}

	// max_age=0 forces the form as well.
	f = h.authorize("clinician", "demo", oauth2.SetAuthURLParam("max_age", "0"))
	if !f.formShown {
		t.Error("max_age=0 did not show the form")
	}
	if recs := h.idp.AuthorizeRequests(); recs[2].MaxAge != "0" {
		t.Errorf("record = %+v", recs[2])
	}
}

func TestPromptNoneWithoutSession(t *testing.T) {
	h := newHarness(t, "", nil)
	u := h.oauth.AuthCodeURL("xyz", oauth2.SetAuthURLParam("prompt", "none"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	resp, err := h.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	q := resp.Request.URL.Query()
	if resp.Request.URL.Path != "/callback" || q.Get("error") != "login_required" || q.Get("state") != "xyz" {
		t.Errorf("prompt=none ended at %s", resp.Request.URL)
	}
}

func TestWrongPasswordShowsFormAgain(t *testing.T) {
	h := newHarness(t, "", nil)
	resp, err := h.browser.Get(h.oauth.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = SubmitLogin(h.browser, resp, "clinician", "not-the-password")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Wrong username or password") ||
		!strings.Contains(string(body), `type="password"`) {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), Banner) {
		t.Error("banner missing from the sign-in page")
	}
	// Unknown user too.
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	resp, err = SubmitLogin(h.browser, resp, "nobody", "demo")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(body), "Wrong username or password") {
		t.Fatalf("unknown user: status %d body %s", resp.StatusCode, body)
	}
	// The same request can still be completed.
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	resp, err = SubmitLogin(h.browser, resp, "clinician", "demo")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Path != "/callback" || resp.Request.URL.Query().Get("code") == "" {
		t.Fatalf("after correct password ended at %s", resp.Request.URL)
	}
}

func TestEndSession(t *testing.T) {
	h := newHarness(t, "", nil)
	tok := h.exchange(h.authorize("manager", "demo"), nil)

	q := url.Values{
		"id_token_hint":            {tok.raw},
		"post_logout_redirect_uri": {h.rpSrv.URL + "/logged-out"},
		"state":                    {"bye"},
	}
	resp, err := h.browser.Get(h.idp.Issuer() + "/end_session?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Host != h.rpURL().Host || resp.Request.URL.Path != "/logged-out" ||
		resp.Request.URL.Query().Get("state") != "bye" {
		t.Fatalf("end_session ended at %s", resp.Request.URL)
	}
	if n := h.idp.EndSessionCalls(); n != 1 {
		t.Errorf("EndSessionCalls = %d", n)
	}
	// The SSO session is gone: the next authorize shows the form.
	if f := h.authorize("manager", "demo"); !f.formShown {
		t.Error("form not shown after end_session")
	}

	// Without an allowed post_logout_redirect_uri the provider's own page
	// is shown; an unregistered one is refused.
	resp, err = h.browser.Get(h.idp.Issuer() + "/end_session")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.Request.URL.Path != LoggedOutPath || !strings.Contains(string(body), "signed out") {
		t.Errorf("bare end_session ended at %s: %s", resp.Request.URL, body)
	}
	q = url.Values{"client_id": {testClientID}, "post_logout_redirect_uri": {"https://evil.example.test/"}}
	resp, err = h.browser.Get(h.idp.Issuer() + "/end_session?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Host == "evil.example.test" || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered post_logout_redirect_uri followed: %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	if n := h.idp.EndSessionCalls(); n != 2 {
		t.Errorf("EndSessionCalls = %d, want 2", n)
	}
}

func TestRedirectURIRules(t *testing.T) {
	noLoopback := func(o *Options) { o.AllowLoopbackRedirects = false }
	h := newHarness(t, "", noLoopback)
	resp, err := h.browser.Get(h.oauth.AuthCodeURL("st"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Host == h.rpURL().Host {
		t.Errorf("unregistered loopback redirect accepted without AllowLoopbackRedirects: %d %s", resp.StatusCode, resp.Request.URL)
	}

	h = newHarness(t, "", nil)
	for _, bad := range []string{
		"http://evil.example.test/callback",
		"https://127.0.0.1.evil.example.test/cb",
		"http://127.0.0.1:1@evil.example.test/cb",
	} {
		cfg := *h.oauth
		cfg.RedirectURL = bad
		resp, err := h.browser.Get(cfg.AuthCodeURL("st"))
		if err != nil {
			t.Fatalf("%s: %v", bad, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_uri %s: status %d at %s", bad, resp.StatusCode, resp.Request.URL)
		}
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

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]Options{
		"no issuer":       {},
		"relative":        {Issuer: "/idp"},
		"colon subject":   {Issuer: "http://127.0.0.1:1", Users: []User{{Subject: "a:b", Username: "x"}}},
		"dup user":        {Issuer: "http://127.0.0.1:1", Users: []User{{Subject: "a", Username: "x"}, {Subject: "b", Username: "x"}}},
		"client no id":    {Issuer: "http://127.0.0.1:1", Clients: []Client{{}}},
		"dup client":      {Issuer: "http://127.0.0.1:1", Clients: []Client{{ID: "c"}, {ID: "c"}}},
		"query in issuer": {Issuer: "http://127.0.0.1:1/?x=1"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}

func TestDemoUsers(t *testing.T) {
	users := DemoUsers()
	if len(users) != 3 {
		t.Fatalf("%d demo users", len(users))
	}
	want := [][]string{{"clinicians"}, {"front-desk"}, {"practice-managers", "clinicians"}}
	for i, u := range users {
		if !slices.Equal(u.Groups, want[i]) || u.Password == "" || u.Subject == "" {
			t.Errorf("user %d = %+v", i, u)
		}
	}
	users[0].Groups[0] = "changed"
	if DemoUsers()[0].Groups[0] != "clinicians" {
		t.Error("DemoUsers shares state between calls")
	}
}

func TestLoginPageUnknownRequest(t *testing.T) {
	h := newHarness(t, "", nil)
	for _, u := range []string{"/login", "/login?authRequestID=nope"} {
		resp, err := http.Get(h.idp.Issuer() + u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), Banner) {
			t.Errorf("%s: %d %s", u, resp.StatusCode, body)
		}
	}
	resp, err := http.PostForm(h.idp.Issuer()+"/login", url.Values{"authRequestID": {"nope"}, "username": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST unknown request: %d", resp.StatusCode)
	}
}

func TestConcurrentBrowsers(t *testing.T) {
	h := newHarness(t, "", nil)
	for i, user := range []string{"clinician", "frontdesk", "manager", "clinician"} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			b := *h
			b.t = t
			b.browser = &http.Client{Jar: jar, Timeout: 10 * time.Second}
			first := b.exchange(b.authorize(user, "demo"), nil)
			f := b.authorize("", "")
			if f.formShown {
				t.Errorf("browser %d: form shown despite SSO session", i)
			}
			if tok := b.exchange(f, nil); tok.idToken.Subject != first.idToken.Subject {
				t.Errorf("browser %d: subject changed", i)
			}
		})
	}
}
