// Package auth is sessiongate's OpenID Connect relying party: discovery,
// the authorization code flow with PKCE, state and nonce, ID token
// verification (go-oidc), userinfo, and the provider's logout URL. It also
// seals cookies. It does not import Caddy.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
