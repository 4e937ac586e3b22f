package devidp

import (
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Client is a relying party registered at the development provider.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client_secret, accepted with client_secret_basic and
	// client_secret_post. An empty Secret registers a public client, which
	// must use PKCE instead.
	Secret string
	// RedirectURIs are matched exactly. When Options.AllowLoopbackRedirects is
	// set, any http redirect URI on 127.0.0.1, ::1 or localhost (any port,
	// any path) is accepted as well.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the allowed post_logout_redirect_uri values
	// for end_session, with the same loopback rule as RedirectURIs.
	PostLogoutRedirectURIs []string
}

// clone returns a deep copy of c.
func (c Client) clone() Client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	return c
}

// isLoopbackHTTPURI reports whether raw is an absolute http URI without user
// information or fragment whose host is 127.0.0.1, ::1 or localhost.
func isLoopbackHTTPURI(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	host := u.Hostname()
	if host != "localhost" && host != "127.0.0.1" && host != "::1" {
		return false
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	return true
}

// opClient is the op.Client handed to the op package for one request. It is
// built fresh for every GetClientByClientID call, so it may carry the
// loopback redirect URI of the request being handled.
type opClient struct {
	cfg                    Client
	redirectURIs           []string
	postLogoutRedirectURIs []string
	loginURL               func(authRequestID string) string
	idTokenLifetime        time.Duration
	thinIDToken            bool
}

var _ op.Client = (*opClient)(nil)

// GetID returns the client_id.
func (c *opClient) GetID() string { return c.cfg.ID }

// RedirectURIs returns the registered redirect URIs (plus an accepted
// loopback URI of the current request).
func (c *opClient) RedirectURIs() []string { return c.redirectURIs }

// PostLogoutRedirectURIs returns the registered post-logout redirect URIs
// (plus an accepted loopback URI of the current request).
func (c *opClient) PostLogoutRedirectURIs() []string { return c.postLogoutRedirectURIs }

// ApplicationType is always web: the code flow with http redirects is allowed.
func (c *opClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }

// AuthMethod is client_secret_basic (client_secret_post is accepted too), or
// none for a public client.
func (c *opClient) AuthMethod() oidc.AuthMethod {
	if c.cfg.Secret == "" {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

// ResponseTypes allows the code flow only.
func (c *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

// GrantTypes allows the authorization_code grant only.
func (c *opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode}
}

// LoginURL returns the sign-in page for an auth request.
func (c *opClient) LoginURL(id string) string { return c.loginURL(id) }

// AccessTokenType is an opaque bearer token, usable at the userinfo endpoint.
func (c *opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

// IDTokenLifetime is the configured token lifetime.
func (c *opClient) IDTokenLifetime() time.Duration { return c.idTokenLifetime }

// DevMode is off: redirect URIs are checked as for a production client.
func (c *opClient) DevMode() bool { return false }

// RestrictAdditionalIdTokenScopes does not restrict anything.
func (c *opClient) RestrictAdditionalIdTokenScopes() func(scopes []string) []string {
	return func(scopes []string) []string { return scopes }
}

// RestrictAdditionalAccessTokenScopes does not restrict anything.
func (c *opClient) RestrictAdditionalAccessTokenScopes() func(scopes []string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed allows the non-standard "groups" scope besides the standard
// ones, which the op package always allows.
func (c *opClient) IsScopeAllowed(scope string) bool { return scope == scopeGroups }

// IDTokenUserinfoClaimsAssertion reports whether profile and email claims go
// into the ID token even though an access token is issued too.
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return !c.thinIDToken }

// ClockSkew is zero.
func (c *opClient) ClockSkew() time.Duration { return 0 }
