package devidp

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequestTTL bounds how long a sign-in may take.
const authRequestTTL = 10 * time.Minute

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
