package devidp

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// GetClientByClientID returns the client, with the loopback redirect URI of
// the current request added when loopback redirects are allowed.
func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	s.mu.Lock()
	cfg, ok := s.clients[clientID]
	s.mu.Unlock()
	if !ok {
		return nil, notFoundError{fmt.Errorf("client %q: %w", clientID, errNotFound)}
	}
	c := &opClient{
		cfg:                    cfg.clone(),
		redirectURIs:           slices.Clone(cfg.RedirectURIs),
		postLogoutRedirectURIs: slices.Clone(cfg.PostLogoutRedirectURIs),
		loginURL:               s.loginURL,
		idTokenLifetime:        s.tokenLifetime,
		thinIDToken:            s.thinIDToken,
	}
	if info := requestInfoFrom(ctx); s.loopback && info != nil {
		if info.redirectURI != "" && isLoopbackHTTPURI(info.redirectURI) {
			c.redirectURIs = append(c.redirectURIs, info.redirectURI)
		}
		if info.postLogoutRedirectURI != "" && isLoopbackHTTPURI(info.postLogoutRedirectURI) {
			c.postLogoutRedirectURIs = append(c.postLogoutRedirectURIs, info.postLogoutRedirectURI)
		}
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a client's secret.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	s.mu.Lock()
	cfg, ok := s.clients[clientID]
	s.mu.Unlock()
	if !ok || cfg.Secret == "" {
		return fmt.Errorf("client %q: %w", clientID, errBadCredential)
	}
	if subtle.ConstantTimeCompare([]byte(cfg.Secret), []byte(clientSecret)) != 1 {
		return fmt.Errorf("client %q: %w", clientID, errBadCredential)
	}
	return nil
}
