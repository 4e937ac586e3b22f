package devidp

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is a pending (or, after sign-in, completed) authorization
// request. The storage hands out copies, so a value seen by the op package
// never changes under it.
type authRequest struct {
	id            string
	created       time.Time
	clientID      string
	redirectURI   string
	scopes        []string
	state         string
	nonce         string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	prompt        []string
	maxAge        *uint
	loginHint     string
	hintSubject   string // subject of a valid id_token_hint, if any
	recordIndex   int    // index into Provider records, -1 if none

	done     bool
	subject  string
	authTime time.Time
	sid      string
}

var _ op.AuthRequest = (*authRequest)(nil)

// clone returns a copy that shares nothing mutable with r.
func (r *authRequest) clone() *authRequest {
	c := *r
	c.scopes = slices.Clone(r.scopes)
	c.prompt = slices.Clone(r.prompt)
	if r.codeChallenge != nil {
		cc := *r.codeChallenge
		c.codeChallenge = &cc
	}
	if r.maxAge != nil {
		m := *r.maxAge
		c.maxAge = &m
	}
	return &c
}

// GetID returns the auth request id.
func (r *authRequest) GetID() string { return r.id }

// GetACR returns no authentication context class.
func (r *authRequest) GetACR() string { return "" }

// GetAMR returns "pwd" once the user signed in with a password.
func (r *authRequest) GetAMR() []string {
	if r.done {
		return []string{"pwd"}
	}
	return nil
}

// GetAudience returns the client id.
func (r *authRequest) GetAudience() []string { return []string{r.clientID} }

// GetAuthTime returns when the user entered credentials.
func (r *authRequest) GetAuthTime() time.Time { return r.authTime }

// GetClientID returns the client id.
func (r *authRequest) GetClientID() string { return r.clientID }

// GetCodeChallenge returns the PKCE challenge, if any.
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return r.codeChallenge }

// GetNonce returns the nonce to echo into the ID token.
func (r *authRequest) GetNonce() string { return r.nonce }

// GetRedirectURI returns the redirect_uri of the request.
func (r *authRequest) GetRedirectURI() string { return r.redirectURI }

// GetResponseType returns the response_type (always code).
func (r *authRequest) GetResponseType() oidc.ResponseType { return r.responseType }

// GetResponseMode returns the response_mode.
func (r *authRequest) GetResponseMode() oidc.ResponseMode { return r.responseMode }

// GetScopes returns the granted scopes.
func (r *authRequest) GetScopes() []string { return r.scopes }

// GetState returns the state parameter.
func (r *authRequest) GetState() string { return r.state }

// GetSubject returns the signed-in subject.
func (r *authRequest) GetSubject() string { return r.subject }

// Done reports whether the user has signed in.
func (r *authRequest) Done() bool { return r.done }

// hasPrompt reports whether prompt p was requested.
func (r *authRequest) hasPrompt(p string) bool { return slices.Contains(r.prompt, p) }

// needsFreshLogin reports whether an SSO session for subject, authenticated
// at authTime, is not enough for this request at now.
func (r *authRequest) needsFreshLogin(subject string, authTime, now time.Time) bool {
	if r.hasPrompt(oidc.PromptLogin) || r.hasPrompt(oidc.PromptSelectAccount) {
		return true
	}
	if r.maxAge != nil {
		if *r.maxAge == 0 || now.Sub(authTime) > time.Duration(*r.maxAge)*time.Second {
			return true
		}
	}
	return r.hintSubject != "" && r.hintSubject != subject
}
