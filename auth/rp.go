// Package auth is sessiongate's OpenID Connect relying party: discovery,
// the authorization code flow with PKCE, state and nonce, ID token
// verification (go-oidc), userinfo, and the provider's logout URL. It also
// seals cookies. It does not import Caddy.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures a RelyingParty.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// HTTPClient talks to the provider; default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock for token checks; default time.Now.
	Now func() time.Time
}

// ErrProviderUnavailable means discovery or a call to the provider failed.
var ErrProviderUnavailable = errors.New("identity provider unavailable")

// RelyingParty signs users in with one OpenID provider. Discovery happens on
// first use and is retried after a failure, so a provider that is down when
// Caddy starts does not stop the gateway (live sessions keep working).
type RelyingParty struct {
	cfg Config

	mu          sync.Mutex
	provider    *oidc.Provider
	endSession  string
	lastAttempt time.Time
	discovering chan struct{} // closed when the discovery under way ends
	// logoutKeys verifies Logout Tokens: one key set per provider, made at
	// discovery, so that keys are fetched once and again only for an
	// unknown key ID (go-oidc), not for every token posted.
	logoutKeys oidc.KeySet
}

// New returns a relying party; it does not contact the provider.
func New(cfg Config) *RelyingParty {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RelyingParty{cfg: cfg}
}

func (rp *RelyingParty) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, rp.cfg.HTTPClient)
}

// discover returns the provider, fetching its discovery document once. The
// mutex is not held across the fetch (up to the HTTP client's timeout):
// callers that need no network (a sign-out reading the end-session
// endpoint of a provider already discovered) never wait for it, and
// concurrent callers wait for the one fetch under way rather than start
// their own. A failed fetch is not retried for a second (rp.cfg.Now).
func (rp *RelyingParty) discover(ctx context.Context) (*oidc.Provider, error) {
	rp.mu.Lock()
	for rp.provider == nil && rp.discovering != nil {
		wait := rp.discovering
		rp.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: discovery at %s: %w", ErrProviderUnavailable, rp.cfg.Issuer, ctx.Err())
		}
		rp.mu.Lock()
	}
	if rp.provider != nil {
		p := rp.provider
		rp.mu.Unlock()
		return p, nil
	}
	now := rp.cfg.Now()
	if !rp.lastAttempt.IsZero() && now.Sub(rp.lastAttempt) < time.Second {
		rp.mu.Unlock()
		return nil, fmt.Errorf("%w: discovery failed moments ago", ErrProviderUnavailable)
	}
	rp.lastAttempt = now
	done := make(chan struct{})
	rp.discovering = done
	rp.mu.Unlock()

	p, err := oidc.NewProvider(rp.ctx(ctx), rp.cfg.Issuer)
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
		JWKS       string `json:"jwks_uri"`
	}
	if err == nil {
		_ = p.Claims(&extra)
	}

	rp.mu.Lock()
	rp.discovering = nil
	if err == nil {
		rp.provider, rp.endSession = p, extra.EndSession
		if extra.JWKS != "" {
			// not the request's context: the key set outlives the request
			rp.logoutKeys = oidc.NewRemoteKeySet(rp.ctx(context.Background()), extra.JWKS)
		}
	}
	rp.mu.Unlock()
	close(done)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery at %s: %w", ErrProviderUnavailable, rp.cfg.Issuer, err)
	}
	return p, nil
}

func (rp *RelyingParty) oauth2Config(p *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     rp.cfg.ClientID,
		ClientSecret: rp.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  redirectURL,
		Scopes:       rp.cfg.Scopes,
	}
}

// LoginState is what the browser carries (sealed) between the redirect to
// the provider and the callback.
type LoginState struct {
	State      string `json:"s"`
	Nonce      string `json:"n"`
	Verifier   string `json:"v"`
	ReturnTo   string `json:"r"`
	ForceLogin bool   `json:"f,omitempty"`
	Issued     int64  `json:"t"` // unix seconds
}

// Expired reports whether the sign-in took longer than allowed.
func (s LoginState) Expired(now time.Time) bool {
	return now.Sub(time.Unix(s.Issued, 0)) > loginStateTTL
}

// NewLoginState creates fresh state, nonce and PKCE verifier.
func (rp *RelyingParty) NewLoginState(returnTo string, forceLogin bool) LoginState {
	return LoginState{
		State:      randomToken(),
		Nonce:      randomToken(),
		Verifier:   oauth2.GenerateVerifier(),
		ReturnTo:   returnTo,
		ForceLogin: forceLogin,
		Issued:     rp.cfg.Now().Unix(),
	}
}

// AuthCodeURL is where the browser goes to sign in.
func (rp *RelyingParty) AuthCodeURL(ctx context.Context, redirectURL string, st LoginState) (string, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if st.ForceLogin {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	return rp.oauth2Config(p, redirectURL).AuthCodeURL(st.State, opts...), nil
}

// Identity is the signed-in user as the provider describes them.
type Identity struct {
	Subject  string
	Name     string
	Email    string
	Groups   []string
	SID      string
	IDToken  string
	AuthTime time.Time
	// Claims are all claims of the ID token merged with userinfo.
	Claims map[string]any
}

// CallbackError is a sign-in failure whose Message can be shown to the user.
type CallbackError struct {
	Message string
	Err     error
}

// Error implements error: the user's message and the cause.
func (e *CallbackError) Error() string { return e.Message + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *CallbackError) Unwrap() error { return e.Err }

func callbackErr(msg string, err error) error { return &CallbackError{Message: msg, Err: err} }

// authTimeSkew is how far the provider's clock may lag ours when checking
// that a forced sign-in really happened after it was asked for.
const authTimeSkew = 60 * time.Second

// Exchange completes the sign-in: checks state, redeems the code with the
// PKCE verifier, verifies the ID token (signature, iss, aud, exp, nonce),
// merges userinfo claims, and for forced sign-ins checks auth_time.
func (rp *RelyingParty) Exchange(ctx context.Context, redirectURL string, q url.Values, st LoginState) (*Identity, error) {
	if e := q.Get("error"); e != "" {
		return nil, callbackErr("The identity provider refused the sign-in", fmt.Errorf("%s: %s", e, q.Get("error_description")))
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return nil, callbackErr("The sign-in could not be matched to this browser", errors.New("state mismatch"))
	}
	if st.Expired(rp.cfg.Now()) {
		return nil, callbackErr("The sign-in took too long", errors.New("login state expired"))
	}
	code := q.Get("code")
	if code == "" {
		return nil, callbackErr("The identity provider sent no authorization code", errors.New("missing code"))
	}
	p, err := rp.discover(ctx)
	if err != nil {
		return nil, err
	}
	oc := rp.oauth2Config(p, redirectURL)
	tok, err := oc.Exchange(rp.ctx(ctx), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, callbackErr("The identity provider rejected the sign-in code", err)
		}
		return nil, fmt.Errorf("%w: token endpoint: %w", ErrProviderUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, callbackErr("The identity provider sent no ID token", errors.New("missing id_token"))
	}
	verifier := p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID, Now: rp.cfg.Now})
	idt, err := verifier.Verify(rp.ctx(ctx), raw)
	if err != nil {
		return nil, callbackErr("The ID token could not be verified", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, callbackErr("The ID token does not belong to this sign-in", errors.New("nonce mismatch"))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, callbackErr("The ID token could not be read", err)
	}
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(rp.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrProviderUnavailable, err)
		}
		if ui.Subject != idt.Subject {
			return nil, callbackErr("The identity provider's profile does not match the ID token", errors.New("userinfo sub mismatch"))
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err == nil {
			for k, v := range extra {
				if _, ok := claims[k]; !ok || k == "groups" || k == "name" || k == "email" {
					claims[k] = v
				}
			}
		}
	}
	id := &Identity{Subject: idt.Subject, IDToken: raw, Claims: claims}
	id.Name, _ = claims["name"].(string)
	if id.Name == "" {
		id.Name, _ = claims["preferred_username"].(string)
	}
	id.Email, _ = claims["email"].(string)
	id.SID, _ = claims["sid"].(string)
	id.Groups = stringList(claims["groups"])
	if at, ok := claims["auth_time"].(float64); ok {
		id.AuthTime = time.Unix(int64(at), 0)
	}
	if st.ForceLogin {
		if id.AuthTime.IsZero() || id.AuthTime.Before(time.Unix(st.Issued, 0).Add(-authTimeSkew)) {
			return nil, callbackErr("The identity provider did not ask for your password again", errors.New("auth_time predates forced login"))
		}
	}
	return id, nil
}

// EndSessionEndpoint returns the provider's RP-initiated logout endpoint,
// or "" when it advertises none or is not yet discovered.
func (rp *RelyingParty) EndSessionEndpoint(ctx context.Context) string {
	if _, err := rp.discover(ctx); err != nil {
		return ""
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.endSession
}

// ClaimList reads a claim that lists values (groups, roles): a JSON array
// of strings, or a single string.
func ClaimList(v any) []string { return stringList(v) }

// stringList reads a claim that is a string array or a single string.
func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	case string:
		if x != "" {
			return []string{x}
		}
	}
	return nil
}

// ClaimString renders a claim for an upstream header: strings as they are,
// lists joined with commas, numbers and booleans in JSON form.
func ClaimString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return fmt.Sprint(x)
	}
	if l := stringList(v); l != nil {
		out := ""
		for i, s := range l {
			if i > 0 {
				out += ","
			}
			out += s
		}
		return out
	}
	return fmt.Sprint(v)
}
