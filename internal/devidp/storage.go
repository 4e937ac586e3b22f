package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequestTTL bounds how long a sign-in may take.
const authRequestTTL = 10 * time.Minute

var (
	errNotFound      = errors.New("devidp: not found")
	errExpired       = errors.New("devidp: expired")
	errUnsupported   = errors.New("devidp: not supported by the development provider")
	errBadCredential = errors.New("devidp: invalid client credentials")
)

// ctxKey keys the per-request information in a context.
type ctxKey struct{}

// requestInfo carries what the storage needs to know about the HTTP request
// being served, which the op.Storage interface does not pass.
type requestInfo struct {
	redirectURI           string // redirect_uri of an authorize request
	postLogoutRedirectURI string // post_logout_redirect_uri of end_session
	recordIndex           int    // AuthorizeRecord index, -1 if none
	ssoToken              string // value of the SSO cookie, if any
	clearSSOCookie        func() // clears the SSO cookie in the response
}

func withRequestInfo(ctx context.Context, info *requestInfo) context.Context {
	return context.WithValue(ctx, ctxKey{}, info)
}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(ctxKey{}).(*requestInfo)
	return info
}

// accessToken is an issued (opaque) access token.
type accessToken struct {
	id       string
	subject  string
	clientID string
	scopes   []string
	sid      string
	issued   time.Time
	expires  time.Time
	authTime time.Time
}

// ssoSession is the provider's own browser session.
type ssoSession struct {
	token    string // cookie value
	sid      string // "sid" claim
	subject  string
	authTime time.Time
}

// signingKey implements op.SigningKey and op.Key.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

// SignatureAlgorithm returns RS256.
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }

// Key returns the private key.
func (k *signingKey) Key() any { return k.key }

// ID returns the key id (the JWK thumbprint).
func (k *signingKey) ID() string { return k.id }

// publicKey is the public half of a signingKey, for the JWKS endpoint.
type publicKey struct{ *signingKey }

// Algorithm returns RS256.
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }

// Use returns "sig".
func (k publicKey) Use() string { return "sig" }

// Key returns the public key.
func (k publicKey) Key() any { return &k.key.PublicKey }

// storage implements op.Storage in memory.
type storage struct {
	thinIDToken   bool
	loopback      bool
	tokenLifetime time.Duration
	loginURL      func(string) string
	key           *signingKey
	retired       []*signingKey // previous signing keys, still published
	now           func() time.Time

	mu              sync.Mutex
	usersByName     map[string]*User
	usersBySubject  map[string]*User
	clients         map[string]Client
	authRequests    map[string]*authRequest
	codes           map[string]string // code -> auth request id
	tokens          map[string]*accessToken
	sessions        map[string]*ssoSession // cookie token -> session
	records         []AuthorizeRecord
	endSessionCalls int
	endSessionHints int // end_session requests with a valid id_token_hint
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
	_ op.StorageNotFoundError           = notFoundError{}
	_ op.SigningKey                     = (*signingKey)(nil)
	_ op.Key                            = publicKey{}
)

// notFoundError marks a missing object for the op package.
type notFoundError struct{ err error }

// Error returns the wrapped error's message.
func (e notFoundError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e notFoundError) Unwrap() error { return e.err }

// IsNotFound marks the error as op.StorageNotFoundError.
func (e notFoundError) IsNotFound() {}

func newID() string { return rand.Text() }

// --- auth requests -------------------------------------------------------

// CreateAuthRequest stores a validated authorization request.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	ar := &authRequest{
		id:           newID(),
		created:      s.now(),
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		scopes:       slices.Clone([]string(req.Scopes)),
		state:        req.State,
		nonce:        req.Nonce,
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		prompt:       slices.Clone([]string(req.Prompt)),
		loginHint:    req.LoginHint,
		hintSubject:  userID,
		recordIndex:  -1,
	}
	if req.MaxAge != nil {
		m := *req.MaxAge
		ar.maxAge = &m
	}
	if req.CodeChallenge != "" {
		method := req.CodeChallengeMethod
		if method == "" {
			method = oidc.CodeChallengeMethodPlain
		}
		ar.codeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: method}
	}
	if info := requestInfoFrom(ctx); info != nil {
		ar.recordIndex = info.recordIndex
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked()
	s.authRequests[ar.id] = ar
	return ar.clone(), nil
}

// purgeLocked drops expired auth requests, codes and tokens.
func (s *storage) purgeLocked() {
	now := s.now()
	for id, ar := range s.authRequests {
		if now.Sub(ar.created) > authRequestTTL {
			delete(s.authRequests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.authRequests[id]; !ok {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// authRequestLocked returns the live auth request id.
func (s *storage) authRequestLocked(id string) (*authRequest, error) {
	ar, ok := s.authRequests[id]
	if !ok {
		return nil, notFoundError{fmt.Errorf("auth request %q: %w", id, errNotFound)}
	}
	if s.now().Sub(ar.created) > authRequestTTL {
		delete(s.authRequests, id)
		return nil, fmt.Errorf("auth request %q: %w", id, errExpired)
	}
	return ar, nil
}

// AuthRequestByID returns a copy of the auth request.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.authRequestLocked(id)
	if err != nil {
		return nil, err
	}
	return ar.clone(), nil
}

// pendingAuthRequest returns a copy of an auth request that still waits for
// sign-in.
func (s *storage) pendingAuthRequest(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.authRequestLocked(id)
	if err != nil {
		return nil, err
	}
	if ar.done {
		return nil, fmt.Errorf("auth request %q: already completed: %w", id, errExpired)
	}
	return ar.clone(), nil
}

// AuthRequestByCode returns the auth request a code was issued for.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, notFoundError{fmt.Errorf("code: %w", errNotFound)}
	}
	ar, err := s.authRequestLocked(id)
	if err != nil {
		return nil, err
	}
	return ar.clone(), nil
}

// SaveAuthCode binds an authorization code to an auth request.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.authRequestLocked(id); err != nil {
		return err
	}
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest removes an auth request and its code, so a code is
// usable once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	for code, reqID := range s.codes {
		if reqID == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// completeAuthRequest marks an auth request as signed in.
func (s *storage) completeAuthRequest(id, subject, sid string, authTime time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, err := s.authRequestLocked(id)
	if err != nil {
		return err
	}
	ar.done = true
	ar.subject = subject
	ar.sid = sid
	ar.authTime = authTime
	return nil
}

// --- tokens --------------------------------------------------------------

func (s *storage) newAccessToken(req op.TokenRequest) *accessToken {
	now := s.now()
	t := &accessToken{
		id:      newID(),
		subject: req.GetSubject(),
		scopes:  slices.Clone(req.GetScopes()),
		issued:  now,
		expires: now.Add(s.tokenLifetime),
	}
	if ar, ok := req.(*authRequest); ok {
		t.clientID = ar.clientID
		t.sid = ar.sid
		t.authTime = ar.authTime
	} else if aud := req.GetAudience(); len(aud) > 0 {
		t.clientID = aud[0]
	}
	return t
}

// CreateAccessToken issues an opaque access token.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	t := s.newAccessToken(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.id] = t
	return t.id, t.expires, nil
}

// CreateAccessAndRefreshTokens is not supported: there are no refresh tokens.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, fmt.Errorf("refresh tokens: %w", errUnsupported)
}

// TokenRequestByRefreshToken is not supported: there are no refresh tokens.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, fmt.Errorf("refresh tokens: %w", errUnsupported)
}

// GetRefreshTokenInfo reports that no token is a refresh token.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// RevokeToken revokes an access token.
func (s *storage) RevokeToken(_ context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenOrID]
	if !ok {
		return nil // RFC 7009: unknown tokens are not an error
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	if userID != "" && t.subject != userID {
		return nil
	}
	delete(s.tokens, tokenOrID)
	return nil
}

// tokenLocked returns a live access token.
func (s *storage) tokenLocked(id string) (*accessToken, error) {
	t, ok := s.tokens[id]
	if !ok {
		return nil, fmt.Errorf("access token: %w", errNotFound)
	}
	if s.now().After(t.expires) {
		delete(s.tokens, id)
		return nil, fmt.Errorf("access token: %w", errExpired)
	}
	return t, nil
}

// --- sessions ------------------------------------------------------------

// TerminateSession ends every SSO session of userID.
func (s *storage) TerminateSession(_ context.Context, userID, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, sess := range s.sessions {
		if sess.subject == userID {
			delete(s.sessions, tok)
		}
	}
	return nil
}

// TerminateSessionFromRequest ends the browser's SSO session (from its
// cookie) and the session named by the "sid" of an id_token_hint, clears the
// SSO cookie and returns where to redirect.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	info := requestInfoFrom(ctx)
	var hintSID string
	if req.IDTokenHintClaims != nil {
		hintSID, _ = req.IDTokenHintClaims.Claims["sid"].(string)
	}
	s.mu.Lock()
	if info != nil && info.ssoToken != "" {
		delete(s.sessions, info.ssoToken)
	}
	if hintSID != "" {
		for tok, sess := range s.sessions {
			if sess.sid == hintSID {
				delete(s.sessions, tok)
			}
		}
	}
	s.endSessionCalls++
	if req.IDTokenHintClaims != nil {
		s.endSessionHints++
	}
	s.mu.Unlock()
	if info != nil && info.clearSSOCookie != nil {
		info.clearSSOCookie()
	}
	return req.RedirectURI, nil
}

// session returns a copy of the SSO session for a cookie value, or nil.
func (s *storage) session(token string) *ssoSession {
	if token == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[token]
	if !ok {
		return nil
	}
	c := *sess
	return &c
}

// signIn records a password sign-in of subject at authTime. The browser's
// existing SSO session (cookie value token) is kept, with a new auth_time,
// when it belongs to the same subject; otherwise it is replaced.
func (s *storage) signIn(token, subject string, authTime time.Time) ssoSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[token]; ok && token != "" {
		if sess.subject == subject {
			sess.authTime = authTime
			return *sess
		}
		delete(s.sessions, token)
	}
	sess := &ssoSession{token: newID(), sid: newID(), subject: subject, authTime: authTime}
	s.sessions[sess.token] = sess
	return *sess
}

// --- users and clients ---------------------------------------------------

// checkPassword returns a copy of the user if the credentials are right.
func (s *storage) checkPassword(username, password string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.usersByName[username]
	if !ok {
		return User{}, false
	}
	if subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return User{}, false
	}
	return u.clone(), true
}

func (s *storage) userBySubject(subject string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.usersBySubject[subject]
	if !ok {
		return nil, fmt.Errorf("user %q: %w", subject, errNotFound)
	}
	c := u.clone()
	return &c, nil
}

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

// --- claims --------------------------------------------------------------

// SetUserinfoFromScopes is deprecated in the op package; see
// SetUserinfoFromRequest.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims: sid always, and
// name/email/groups unless the provider issues thin ID tokens.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	info.Subject = req.GetSubject()
	if ar, ok := req.(*authRequest); ok && ar.sid != "" {
		info.AppendClaims("sid", ar.sid)
	}
	if s.thinIDToken {
		return nil
	}
	u, err := s.userBySubject(req.GetSubject())
	if err != nil {
		return err
	}
	fillUserinfo(info, u, scopes) // keeps the sid claim added above
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, err := s.tokenLocked(tokenID)
	var scopes []string
	if err == nil {
		if t.subject != subject {
			err = fmt.Errorf("access token subject mismatch: %w", errNotFound)
		}
		scopes = slices.Clone(t.scopes)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	u, err := s.userBySubject(subject)
	if err != nil {
		return err
	}
	fillUserinfo(info, u, scopes)
	return nil
}

// SetIntrospectionFromToken answers the introspection endpoint.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, err := s.tokenLocked(tokenID)
	var tok accessToken
	if err == nil {
		tok = *t
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if tok.subject != subject {
		return fmt.Errorf("access token subject mismatch: %w", errNotFound)
	}
	u, err := s.userBySubject(subject)
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	fillUserinfo(info, u, tok.scopes)
	resp.SetUserInfo(info)
	resp.Active = true
	resp.Scope = tok.scopes
	resp.ClientID = tok.clientID
	resp.Subject = subject
	resp.Audience = []string{tok.clientID}
	resp.Expiration = oidc.FromTime(tok.expires)
	resp.IssuedAt = oidc.FromTime(tok.issued)
	resp.AuthTime = oidc.FromTime(tok.authTime)
	resp.JWTID = tok.id
	resp.TokenType = oidc.BearerToken
	return nil
}

// GetPrivateClaimsFromScopes adds nothing to JWT access tokens.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest adds nothing to JWT access tokens.
func (s *storage) GetPrivateClaimsFromRequest(context.Context, op.TokenRequest, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is not supported: no JWT client authentication.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, fmt.Errorf("JWT profile: %w", errUnsupported)
}

// ValidateJWTProfileScopes is not supported: no JWT profile grant.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, fmt.Errorf("JWT profile: %w", errUnsupported)
}

// --- keys ----------------------------------------------------------------

// SigningKey returns the RSA key that signs ID tokens.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.currentKey(), nil }

// currentKey is the key that signs now.
func (s *storage) currentKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// SignatureAlgorithms returns RS256.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet returns the public signing keys for the JWKS endpoint: the current
// one and those retired by RotateSigningKey (tokens they signed still verify).
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := []op.Key{publicKey{s.key}}
	for _, k := range s.retired {
		keys = append(keys, publicKey{k})
	}
	return keys, nil
}

// Health always reports healthy.
func (s *storage) Health(context.Context) error { return nil }

// --- observability -------------------------------------------------------

func (s *storage) addRecord(rec AuthorizeRecord) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, rec)
	return len(s.records) - 1
}

func (s *storage) markFormShown(index int) {
	if index < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if index < len(s.records) {
		s.records[index].LoginFormShown = true
	}
}
