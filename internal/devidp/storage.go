package devidp

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

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
