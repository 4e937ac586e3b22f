// Package session holds the session model, the timer rules (pure functions of
// an injected "now") and the Store interface with its memory and Redis
// implementations. It does not import Caddy.
package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Session is one device's sign-in.
type Session struct {
	// ID is 256 bits of randomness, base64url; it never appears in logs.
	ID string
	// UserKey identifies the user (a hash of issuer and subject) and is the
	// Redis hash tag that keeps all of a user's keys in one Cluster slot.
	UserKey string
	// Subject is the provider's "sub" claim.
	Subject string
	// Name and Email are display claims.
	Name, Email string
	// Groups are the user's groups from the provider.
	Groups []string
	// Claims holds the extra claims named by identity_headers, rendered as strings.
	Claims map[string]string
	// PolicyGroups names the group policies that apply to this session, comma
	// separated; empty means the site's timeouts.
	PolicyGroups string
	// IdPSessionID is the provider's "sid" claim, for back-channel logout.
	IdPSessionID string
	// CreatedAt is the sign-in time (store clock); the absolute timer runs from it.
	CreatedAt time.Time
	// LastActivity is the last user activity (store clock); the idle timer runs from it.
	LastActivity time.Time
	// Device is a short user-agent summary, IP the client address at sign-in.
	Device, IP string
	// IdentityInStore makes the store keep the display claims (Name, Email,
	// Groups, Claims, IdPSessionID) instead of the cookie: the gateway sets
	// it when they would make the cookie too large. Otherwise they travel in
	// the sealed cookie (Ref.Identity) and the Redis store keeps only the
	// timers and the device.
	IdentityInStore bool
}

// Identity is what the provider said about the user at sign-in, besides the
// subject: sealed in the session cookie so that the store need not keep it.
type Identity struct {
	Name   string            `json:"n,omitempty"`
	Email  string            `json:"e,omitempty"`
	Groups []string          `json:"g,omitempty"`
	Claims map[string]string `json:"x,omitempty"`
	// SID is the provider's session ID ("sid" claim).
	SID string `json:"s,omitempty"`
}

// Identity returns the session's display claims.
func (s *Session) Identity() *Identity {
	return &Identity{Name: s.Name, Email: s.Email, Groups: s.Groups, Claims: s.Claims, SID: s.IdPSessionID}
}

// SetIdentity copies display claims into the session; nil leaves it as is.
func (s *Session) SetIdentity(id *Identity) {
	if id == nil {
		return
	}
	s.Name, s.Email, s.Groups, s.Claims, s.IdPSessionID = id.Name, id.Email, id.Groups, id.Claims, id.SID
}

// Ref is what the session cookie carries: enough to find the session with
// one store call and to name the reason when the session is gone.
type Ref struct {
	ID        string `json:"i"`
	UserKey   string `json:"u"`
	CreatedAt int64  `json:"c"` // unix milliseconds
	// PolicyGroups is the session's group policy names, so that the reason of a
	// session the store has already forgotten is inferred from its own
	// limits.
	PolicyGroups string `json:"p,omitempty"`
	// Subject is the user's subject, so that the audit log names the user of
	// a session the store has already forgotten.
	Subject string `json:"s,omitempty"`
	// Identity is the user's display claims from the sign-in; nil when the
	// store keeps them (Session.IdentityInStore) or for a Ref that only
	// names a session (ending it, listing it).
	Identity *Identity `json:"d,omitempty"`
}

// Ref returns the cookie reference for s, with its display claims unless
// the store keeps them.
func (s *Session) Ref() Ref {
	ref := Ref{ID: s.ID, UserKey: s.UserKey, CreatedAt: s.CreatedAt.UnixMilli(), PolicyGroups: s.PolicyGroups, Subject: s.Subject}
	if !s.IdentityInStore {
		ref.Identity = s.Identity()
	}
	return ref
}

// NewID returns a new random 256-bit identifier, base64url without padding.
func NewID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// UserKey derives the stable, non-reversible user key from issuer and subject.
func UserKey(issuer, subject string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + subject))
	return hex.EncodeToString(h[:16])
}

// LogID is a short hash of a session ID that is safe to log and to show.
func LogID(id string) string {
	h := sha256.Sum256([]byte("sessiongate-log\x00" + id))
	return hex.EncodeToString(h[:8])
}
