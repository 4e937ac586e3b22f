package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// MaxLogoutTokenSize is the largest Logout Token, in bytes, that
// VerifyLogoutToken accepts. Real tokens are well under 2 KiB.
const MaxLogoutTokenSize = 16 << 10

// backchannelLogoutEvent is the member of the "events" claim that marks a
// JWT as a Logout Token (OpenID Connect Back-Channel Logout 1.0, 2.4).
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenIATSkew is how far in the future a Logout Token's iat may lie
// (clock skew between the provider and us).
const logoutTokenIATSkew = 5 * time.Minute

// ErrInvalidLogoutToken means a Logout Token failed validation: the sender
// should be answered 400 Bad Request. Errors returned by VerifyLogoutToken
// wrap it together with the reason.
var ErrInvalidLogoutToken = errors.New("invalid logout token")

// LogoutClaims are the verified claims of a Back-Channel Logout Token.
type LogoutClaims struct {
	// Subject is the "sub" claim; empty when the token names only a session.
	// Without SessionID it means: end every session of this user.
	Subject string
	// SessionID is the "sid" claim: the provider's session, as in the ID
	// token's "sid". Empty when the token names only a subject.
	SessionID string
	// JTI is the token identifier; remember it until Expiry to reject
	// replays.
	JTI string
	// IssuedAt is the "iat" claim.
	IssuedAt time.Time
	// Expiry is the "exp" claim: a replayed JTI need not be remembered
	// after it.
	Expiry time.Time
}

// invalidLogoutToken returns an error wrapping ErrInvalidLogoutToken with
// a reason and, when not nil, the underlying error.
func invalidLogoutToken(reason string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidLogoutToken, reason, err)
	}
	return fmt.Errorf("%w: %s", ErrInvalidLogoutToken, reason)
}

// VerifyLogoutToken validates a Logout Token received at the back-channel
// logout endpoint (OpenID Connect Back-Channel Logout 1.0, section 2.6): the
// signature with the provider's published keys and an algorithm the provider
// advertises; iss, aud (our client ID) and exp (with go-oidc); iat present
// and not in the future; an "events" object whose back-channel logout
// member is a JSON object; no "nonce"; "sub", "sid" or both; "jti"; and,
// when the JOSE header has a "typ", that it is logout+jwt (or the generic
// JWT that many providers still send). Tokens larger than MaxLogoutTokenSize
// are rejected unparsed.
//
// Validation failures wrap ErrInvalidLogoutToken. When the provider's
// discovery document or keys cannot be fetched, the error wraps
// ErrProviderUnavailable instead. Replay detection (remembering JTI until
// Expiry) is the caller's job.
func (rp *RelyingParty) VerifyLogoutToken(ctx context.Context, raw string) (LogoutClaims, error) {
	if raw == "" {
		return LogoutClaims{}, invalidLogoutToken("empty", nil)
	}
	if len(raw) > MaxLogoutTokenSize {
		return LogoutClaims{}, invalidLogoutToken(fmt.Sprintf("larger than %d bytes", MaxLogoutTokenSize), nil)
	}
	p, err := rp.discover(ctx)
	if err != nil {
		return LogoutClaims{}, fmt.Errorf("verify logout token: %w", err)
	}
	var meta struct {
		Issuer string   `json:"issuer"`
		JWKS   string   `json:"jwks_uri"`
		Algs   []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return LogoutClaims{}, fmt.Errorf("%w: read discovery document: %w", ErrProviderUnavailable, err)
	}
	if meta.JWKS == "" {
		return LogoutClaims{}, fmt.Errorf("%w: discovery document has no jwks_uri", ErrProviderUnavailable)
	}
	algs := signingAlgs(meta.Algs)

	// Cheap header checks first, so that malformed or mistyped tokens are
	// refused without contacting the provider.
	joseAlgs := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		joseAlgs[i] = jose.SignatureAlgorithm(a)
	}
	jws, err := jose.ParseSignedCompact(raw, joseAlgs)
	if err != nil {
		return LogoutClaims{}, invalidLogoutToken("malformed JWS", err)
	}
	if len(jws.Signatures) != 1 {
		return LogoutClaims{}, invalidLogoutToken("not exactly one signature", nil)
	}
	if typ, ok := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; ok {
		s, _ := typ.(string)
		if !logoutTokenType(s) {
			return LogoutClaims{}, invalidLogoutToken(fmt.Sprintf("typ header %q is not logout+jwt", fmt.Sprint(typ)), nil)
		}
	}

	// Signature, iss, aud, exp, jti, sub/sid, events member present, no
	// nonce: go-oidc. The key set is wrapped to tell a provider whose keys
	// cannot be fetched from a bad signature.
	rp.mu.Lock()
	shared := rp.logoutKeys
	rp.mu.Unlock()
	keys := &keyFetchProbe{inner: shared}
	verifier := oidc.NewVerifier(meta.Issuer, keys, &oidc.Config{
		ClientID:             rp.cfg.ClientID,
		SupportedSigningAlgs: algs,
		Now:                  rp.cfg.Now,
	})
	lt, err := verifier.VerifyLogout(ctx, raw)
	if err != nil {
		if keys.fetchErr != nil {
			return LogoutClaims{}, fmt.Errorf("%w: fetch signing keys: %w", ErrProviderUnavailable, keys.fetchErr)
		}
		return LogoutClaims{}, invalidLogoutToken("verification failed", err)
	}

	// What go-oidc leaves to us.
	var claims map[string]json.RawMessage
	if err := lt.Claims(&claims); err != nil {
		return LogoutClaims{}, invalidLogoutToken("claims are not a JSON object", err)
	}
	if lt.IssuedAt.IsZero() {
		return LogoutClaims{}, invalidLogoutToken("no iat claim", nil)
	}
	if lt.IssuedAt.After(rp.cfg.Now().Add(logoutTokenIATSkew)) {
		return LogoutClaims{}, invalidLogoutToken("iat is in the future", nil)
	}
	if !isJSONObject(claims["events"]) {
		return LogoutClaims{}, invalidLogoutToken("events claim is not a JSON object", nil)
	}
	var events map[string]json.RawMessage
	if err := json.Unmarshal(claims["events"], &events); err != nil {
		return LogoutClaims{}, invalidLogoutToken("events claim", err)
	}
	if !isJSONObject(events[backchannelLogoutEvent]) {
		return LogoutClaims{}, invalidLogoutToken("events member "+backchannelLogoutEvent+" is missing or not a JSON object", nil)
	}
	if _, ok := claims["nonce"]; ok {
		return LogoutClaims{}, invalidLogoutToken("nonce claim present", nil)
	}
	if lt.Subject == "" && lt.SessionID == "" {
		return LogoutClaims{}, invalidLogoutToken("neither sub nor sid", nil)
	}
	if lt.TokenID == "" {
		return LogoutClaims{}, invalidLogoutToken("no jti claim", nil)
	}
	return LogoutClaims{
		Subject:   lt.Subject,
		SessionID: lt.SessionID,
		JTI:       lt.TokenID,
		IssuedAt:  lt.IssuedAt,
		Expiry:    lt.Expiry,
	}, nil
}

// keyFetchProbe is an oidc.KeySet that delegates to go-oidc's RemoteKeySet
// and remembers whether fetching the key set failed. RemoteKeySet wraps
// every fetch failure ("fetching keys %w"), while a signature that no
// fetched key verifies yields an error that wraps nothing; IDTokenVerifier
// flattens both into text, hence the probe. It serves one verification
// (one goroutine) only.
type keyFetchProbe struct {
	inner    oidc.KeySet
	fetchErr error
}

// VerifySignature verifies jwt with the inner key set.
func (k *keyFetchProbe) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	if err != nil && errors.Unwrap(err) != nil {
		k.fetchErr = err
	}
	return payload, err
}

// signingAlgs returns the asymmetric JWS algorithms among those the provider
// advertises for ID tokens (Logout Tokens are signed with the same keys), or
// RS256 when it advertises none of them. HMAC and "none" are never allowed.
func signingAlgs(advertised []string) []string {
	var out []string
	for _, a := range advertised {
		switch a {
		case oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
			oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA:
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []string{oidc.RS256}
	}
	return out
}

// logoutTokenType reports whether a JOSE "typ" header value is acceptable
// for a Logout Token: "logout+jwt" (the explicit type of Back-Channel Logout
// 1.0, section 4.1) or the generic "JWT", case-insensitively and with an
// optional "application/" prefix (RFC 7515, section 4.1.9). "JWT" is
// accepted because widely used providers (Auth0, for one) send it; the
// events claim and the absence of nonce still tell a Logout Token from an
// ID token. Any other type, such as "at+jwt", is refused.
func logoutTokenType(typ string) bool {
	t := strings.ToLower(typ)
	t = strings.TrimPrefix(t, "application/")
	return t == "logout+jwt" || t == "jwt"
}

// isJSONObject reports whether raw is a JSON object (not null, an array or
// a scalar).
func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}
