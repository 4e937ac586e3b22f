package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Paths of the pages this package serves next to the op endpoints, relative
// to the issuer.
const (
	// LoginPath is the sign-in page; it takes the auth request id in the
	// authRequestID query parameter (GET) or form field (POST).
	LoginPath = "/login"
	// LoggedOutPath is where end_session redirects when the relying party
	// gave no (allowed) post_logout_redirect_uri.
	LoggedOutPath = "/logged-out"
)

// Banner is shown at the top of every page of the development provider.
const Banner = "Development sign-in — not for production"

// DefaultTokenLifetime is the lifetime of ID and access tokens when
// Options.TokenLifetime is zero.
const DefaultTokenLifetime = time.Hour

// Options configures a development provider.
type Options struct {
	// Issuer is the exact issuer URL, e.g. "http://127.0.0.1:41234". Create
	// the listener first, then build the provider with its address. An issuer
	// with a path is supported: ServeHTTP then expects request paths under it.
	Issuer string
	// Users are the accounts that can sign in.
	Users []User
	// Clients are the registered relying parties.
	Clients []Client
	// AllowLoopbackRedirects also accepts, for every client, any redirect or
	// post-logout redirect URI on http://127.0.0.1, http://[::1] or
	// http://localhost with any port and path (tests use random ports).
	AllowLoopbackRedirects bool
	// ThinIDToken, when true, makes the ID token carry only protocol claims
	// (sub, iss, aud, exp, iat, auth_time, nonce, sid, at_hash, ...), so
	// name, email and groups are available only from the userinfo endpoint
	// (as Okta does). When false they are in the ID token as well.
	ThinIDToken bool
	// Logger receives sign-in and sign-out events. Optional. (The op package
	// itself logs with slog's default logger.)
	Logger *slog.Logger

	// TokenLifetime is the lifetime of ID and access tokens;
	// DefaultTokenLifetime when zero.
	TokenLifetime time.Duration
	// SigningKey signs ID tokens. Optional: when nil, New generates a 2048-bit
	// RSA key. Tests that build many providers may share one key.
	SigningKey *rsa.PrivateKey
}

// AuthorizeRecord is a copy of the parameters of one request to the
// authorization endpoint, kept for tests.
type AuthorizeRecord struct {
	Prompt              string
	MaxAge              string
	Nonce               string
	CodeChallengeMethod string
	State               string
	RedirectURI         string
	ClientID            string
	Scopes              []string
	// LoginFormShown reports whether the sign-in form was shown for this
	// request (false when the SSO session completed it silently, or when the
	// request was rejected).
	LoginFormShown bool
}

// Provider is a development OpenID Provider. It is an http.Handler serving
// discovery, authorize, token, userinfo, keys, end_session and the sign-in
// page. It is safe for concurrent use.
type Provider struct {
	issuer     string
	prefix     string // path of the issuer without trailing slash
	cookieName string
	cookiePath string
	secure     bool
	logger     *slog.Logger
	store      *storage
	op         *op.Provider
	handler    http.Handler
	pages      *template.Template
}

// New builds a development provider.
func New(opts Options) (*Provider, error) {
	iss, err := url.Parse(opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("devidp: issuer %q: %w", opts.Issuer, err)
	}
	if (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" || iss.RawQuery != "" || iss.Fragment != "" {
		return nil, fmt.Errorf("devidp: issuer %q must be an absolute http(s) URL without query or fragment", opts.Issuer)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	lifetime := opts.TokenLifetime
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	base := strings.TrimSuffix(opts.Issuer, "/")
	prefix := strings.TrimSuffix(iss.Path, "/")

	store := &storage{
		thinIDToken:    opts.ThinIDToken,
		loopback:       opts.AllowLoopbackRedirects,
		tokenLifetime:  lifetime,
		now:            time.Now,
		usersByName:    make(map[string]*User),
		usersBySubject: make(map[string]*User),
		clients:        make(map[string]Client),
		authRequests:   make(map[string]*authRequest),
		codes:          make(map[string]string),
		tokens:         make(map[string]*accessToken),
		sessions:       make(map[string]*ssoSession),
		loginURL: func(id string) string {
			return base + LoginPath + "?authRequestID=" + url.QueryEscape(id)
		},
	}
	for _, u := range opts.Users {
		switch {
		case u.Subject == "" || u.Username == "":
			return nil, errors.New("devidp: every user needs a Subject and a Username")
		case strings.Contains(u.Subject, ":"):
			return nil, fmt.Errorf("devidp: user subject %q must not contain a colon", u.Subject)
		case store.usersByName[u.Username] != nil:
			return nil, fmt.Errorf("devidp: duplicate username %q", u.Username)
		case store.usersBySubject[u.Subject] != nil:
			return nil, fmt.Errorf("devidp: duplicate subject %q", u.Subject)
		}
		c := u.clone()
		store.usersByName[c.Username] = &c
		store.usersBySubject[c.Subject] = &c
	}
	for _, c := range opts.Clients {
		if c.ID == "" {
			return nil, errors.New("devidp: every client needs an ID")
		}
		if _, dup := store.clients[c.ID]; dup {
			return nil, fmt.Errorf("devidp: duplicate client %q", c.ID)
		}
		store.clients[c.ID] = c.clone()
	}

	if store.key, err = newSigningKey(opts.SigningKey); err != nil {
		return nil, err
	}

	config := &op.Config{
		DefaultLogoutRedirectURI: base + LoggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedScopes: []string{
			oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, scopeGroups,
		},
		SupportedClaims: append(slices.Clone(op.DefaultSupportedClaims), "sid", "groups"),
	}
	if _, err := rand.Read(config.CryptoKey[:]); err != nil {
		return nil, fmt.Errorf("devidp: generate token encryption key: %w", err)
	}
	provider, err := op.NewProvider(config, store, op.StaticIssuer(opts.Issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("devidp: create OpenID provider: %w", err)
	}
	pages, err := template.New("pages").Parse(pageTemplates)
	if err != nil {
		return nil, fmt.Errorf("devidp: parse page templates: %w", err)
	}
	issuerHash := sha256.Sum256([]byte(opts.Issuer))
	p := &Provider{
		issuer: opts.Issuer,
		prefix: prefix,
		// Cookies ignore ports, and tests run many providers (and gateways)
		// on 127.0.0.1: give every provider its own cookie name.
		cookieName: "devidp_sso_" + hex.EncodeToString(issuerHash[:6]),
		cookiePath: prefix + "/",
		secure:     iss.Scheme == "https",
		logger:     logger,
		store:      store,
		op:         provider,
		pages:      pages,
	}
	var h http.Handler = http.HandlerFunc(p.route)
	if prefix != "" {
		h = http.StripPrefix(prefix, h)
	}
	p.handler = h
	return p, nil
}

// Issuer returns the issuer URL exactly as configured.
func (p *Provider) Issuer() string { return p.issuer }

// ServeHTTP serves discovery, authorize, token, userinfo, keys, end_session
// and the sign-in page.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.handler.ServeHTTP(w, r)
}

// route dispatches a request whose path is relative to the issuer.
func (p *Provider) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case LoginPath:
		p.serveLogin(w, r)
	case LoggedOutPath:
		p.renderMessage(w, http.StatusOK, "Signed out", "You have been signed out of the development identity provider.")
	case p.op.AuthorizationEndpoint().Relative():
		p.serveAuthorize(w, r)
	case p.op.EndSessionEndpoint().Relative():
		p.serveEndSession(w, r)
	default:
		p.op.ServeHTTP(w, r)
	}
}

// serveAuthorize records the request and hands it to the op package.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm() // the op package reports malformed requests itself
	rec := AuthorizeRecord{
		Prompt:              r.Form.Get("prompt"),
		MaxAge:              r.Form.Get("max_age"),
		Nonce:               r.Form.Get("nonce"),
		CodeChallengeMethod: r.Form.Get("code_challenge_method"),
		State:               r.Form.Get("state"),
		RedirectURI:         r.Form.Get("redirect_uri"),
		ClientID:            r.Form.Get("client_id"),
		Scopes:              strings.Fields(r.Form.Get("scope")),
	}
	info := &requestInfo{
		redirectURI: rec.RedirectURI,
		recordIndex: p.store.addRecord(rec),
	}
	p.op.ServeHTTP(w, r.WithContext(withRequestInfo(r.Context(), info)))
}

// serveEndSession hands end_session to the op package with what the storage
// needs to end the browser's SSO session.
func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	info := &requestInfo{
		postLogoutRedirectURI: r.Form.Get("post_logout_redirect_uri"),
		recordIndex:           -1,
		clearSSOCookie:        func() { p.clearCookie(w) },
	}
	if c, err := r.Cookie(p.cookieName); err == nil {
		info.ssoToken = c.Value
	}
	p.logger.Info("devidp: end_session", "client_id", r.Form.Get("client_id"))
	p.op.ServeHTTP(w, r.WithContext(withRequestInfo(r.Context(), info)))
}
