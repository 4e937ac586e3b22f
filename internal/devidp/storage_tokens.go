package devidp

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

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
