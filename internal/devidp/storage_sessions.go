package devidp

import (
	"context"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// ssoSession is the provider's own browser session.
type ssoSession struct {
	token    string // cookie value
	sid      string // "sid" claim
	subject  string
	authTime time.Time
}

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
