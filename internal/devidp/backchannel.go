package devidp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Back-Channel Logout (OpenID Connect Back-Channel Logout 1.0) constants.
const (
	// BackchannelLogoutEvent is the member of the "events" claim that marks a
	// JWT as a Logout Token.
	BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// LogoutTokenType is the JOSE "typ" header of an explicitly typed Logout
	// Token.
	LogoutTokenType = "logout+jwt"
	// LogoutTokenLifetime is how long a Logout Token issued by LogoutToken
	// is valid.
	LogoutTokenLifetime = 2 * time.Minute
	// backchannelTimeout bounds one back-channel logout request.
	backchannelTimeout = 10 * time.Second
)

// LogoutToken returns a Logout Token (Back-Channel Logout 1.0, section 2.4)
// for the registered client clientID: a JWT signed with the key that signs
// ID tokens (published at jwks_uri), with the JOSE header typ "logout+jwt"
// and kid, and the claims iss, aud (clientID), iat, exp (LogoutTokenLifetime
// later), a random jti, the back-channel logout event, and sub and/or sid
// (an empty one is omitted). It never contains a nonce. At least one of
// subject and sid must be non-empty.
func (p *Provider) LogoutToken(clientID, subject, sid string) (string, error) {
	if subject == "" && sid == "" {
		return "", errors.New("devidp: logout token needs a subject, a sid or both")
	}
	p.store.mu.Lock()
	_, known := p.store.clients[clientID]
	p.store.mu.Unlock()
	if !known {
		return "", fmt.Errorf("devidp: logout token for client %q: %w", clientID, errNotFound)
	}
	now := p.store.now()
	claims := map[string]any{
		"iss":    p.issuer,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(LogoutTokenLifetime).Unix(),
		"jti":    newID(),
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
	}
	if subject != "" {
		claims["sub"] = subject
	}
	if sid != "" {
		claims["sid"] = sid
	}
	return p.SignLogoutClaims(claims, LogoutTokenType)
}

// SignLogoutClaims is a TEST HELPER: it signs an arbitrary claims set with
// the provider's ID token signing key (RS256, with kid) and returns the
// compact JWS. typ is the JOSE "typ" header; it is omitted when empty.
// Nothing is checked or added, so tests can build malformed Logout Tokens
// (missing events, a nonce, a foreign audience, ...) that are nevertheless
// properly signed. Use LogoutToken to issue a valid one.
func (p *Provider) SignLogoutClaims(claims map[string]any, typ string) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("devidp: encode logout token claims: %w", err)
	}
	key := p.store.currentKey()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: key.SignatureAlgorithm(),
		Key:       &jose.JSONWebKey{Key: key.Key(), KeyID: key.ID()},
	}, opts)
	if err != nil {
		return "", fmt.Errorf("devidp: logout token signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("devidp: sign logout token: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("devidp: serialize logout token: %w", err)
	}
	return token, nil
}

// SendBackchannelLogout issues a Logout Token (see LogoutToken) and POSTs it
// to a relying party's back-channel logout endpoint as
// application/x-www-form-urlencoded "logout_token=<token>" (Back-Channel
// Logout 1.0, section 2.5), as an OpenID provider does. Redirects are not
// followed, and the request times out after 10 seconds unless ctx ends it
// sooner. The caller must close the response body; a non-2xx status is not
// an error.
func (p *Provider) SendBackchannelLogout(ctx context.Context, endpoint, clientID, subject, sid string) (*http.Response, error) {
	token, err := p.LogoutToken(clientID, subject, sid)
	if err != nil {
		return nil, err
	}
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("devidp: back-channel logout request to %q: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{
		Timeout: backchannelTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devidp: back-channel logout to %q: %w", endpoint, err)
	}
	return resp, nil
}
