package devidp

import (
	"context"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

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
