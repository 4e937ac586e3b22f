package session

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable wraps every store failure that is not a verdict about the
// session (network, timeouts, a server error). The gateway fails closed on it.
var ErrUnavailable = errors.New("session store unavailable")

// CheckResult is the verdict of one Check.
type CheckResult struct {
	// Valid is true when the session exists and both deadlines are ahead.
	Valid bool
	// Session is the session when Valid.
	Session *Session
	// Reason says why the session is not valid.
	Reason Reason
	// Ended is true for the one check that found the session's end (expired
	// now, or forgotten at its deadline); later checks see the reason only.
	// The gateway records the sign-out in the audit log on it.
	Ended bool
	// Subject is the user's subject when Ended and the store still knew it.
	Subject string
	// Now is the store's clock at the check.
	Now time.Time
	// IdleDeadline and AbsoluteDeadline are the deadlines after the check
	// (AbsoluteDeadline is zero without an absolute limit).
	IdleDeadline, AbsoluteDeadline time.Time
}

// CreateOptions tune Create.
type CreateOptions struct {
	// MaxSessions ends the user's oldest sessions (reason "elsewhere") when
	// the new one would exceed it; 0 means unlimited.
	MaxSessions int
}

// Sessions keeps the sessions themselves: the check on every request, and
// what starts, ends and lists them. Every method takes a context and returns
// an error wrapping ErrUnavailable when the backing service fails.
type Sessions interface {
	// Create stores s as a new session, setting CreatedAt and LastActivity to
	// the store's clock, and returns the IDs of sessions it ended to respect
	// MaxSessions.
	Create(ctx context.Context, s *Session, limits LimitTable, opts CreateOptions) (ended []string, err error)
	// Check finds the session and applies the timer rules in one atomic
	// operation; when activity is true and the session is valid, its idle
	// timer restarts. A session found expired (or already forgotten at its
	// deadline) is replaced by a tombstone with the reason.
	Check(ctx context.Context, ref Ref, limits LimitTable, activity bool) (CheckResult, error)
	// Get returns the session (with device and IP) without checking or
	// touching it; nil when it does not exist. Display claims (name, email,
	// groups) may be absent: the Redis store leaves them to the cookie.
	Get(ctx context.Context, ref Ref) (*Session, error)
	// End ends one session, remembering reason so that the device's next
	// request can say why. Ending a missing session is not an error.
	End(ctx context.Context, ref Ref, reason Reason) error
	// List returns the live sessions of a user, oldest first (display
	// claims may be absent, as for Get).
	List(ctx context.Context, userKey string, limits LimitTable) ([]*Session, error)
	// CountSessions counts the sessions of all users within their deadlines
	// under limits (for the active sessions gauge; it may scan the store, so
	// call it sparingly).
	CountSessions(ctx context.Context, limits LimitTable) (int, error)
}

// Directory finds users and sessions by the names others know them by: an
// administrator revoking a user by name, a provider's back-channel logout
// naming its own session ID. Errors wrap ErrUnavailable as for Sessions.
type Directory interface {
	// RememberUser records names under which an administrator can find the
	// user, for revoking all of a user's sessions by name: each name with its
	// kind (subject, sign-in name, verified email), compared without regard
	// to case. One name may belong to several users.
	RememberUser(ctx context.Context, userKey, subject string, names []UserName) error
	// LookupUser returns the users remembered under name as a name of kind,
	// sorted by subject; none if nobody.
	LookupUser(ctx context.Context, kind NameKind, name string) ([]UserMatch, error)
	// SessionsForIdPSession returns the sessions created under the
	// provider's session ID sid (Session.IdPSessionID), for back-channel
	// logout by sid. Sessions that ended since may be included.
	SessionsForIdPSession(ctx context.Context, sid string) ([]Ref, error)
}

// SharedState is the small state every gateway node shares besides
// sessions: runtime settings (the manager's absolute timeout) and replay
// markers (logout tokens seen). Errors wrap ErrUnavailable as for Sessions.
type SharedState interface {
	// Setting returns a runtime setting shared by every gateway node ("" when
	// unset).
	Setting(ctx context.Context, name string) (string, error)
	// SetSetting stores a runtime setting shared by every gateway node.
	SetSetting(ctx context.Context, name, value string) error
	// Once records key for ttl and reports whether it was not recorded
	// already (replay protection for logout tokens).
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Forget removes what Once recorded for key, for when the work it
	// guarded failed and must be possible again.
	Forget(ctx context.Context, key string) error
}

// Store is a whole session store, as the memory and Redis stores implement
// it: the roles above, Rescues (rescue.go) and Close.
type Store interface {
	Sessions
	Directory
	SharedState
	Rescues
	// Close releases the store's resources.
	Close() error
}

// Clock returns the current time. Stores use the backing service's clock
// (Redis TIME) when no Clock is given; tests inject one.
type Clock func() time.Time

// Options are common to both stores.
type Options struct {
	// Clock replaces the store's clock (Redis TIME, or time.Now for the
	// memory store); for tests.
	Clock Clock
	// TombstoneTTL is how long the reason of an explicitly ended session is
	// remembered, so that its device's next request can say why. It should
	// be at least the longest absolute timeout. Default 24h.
	TombstoneTTL time.Duration
	// Replicas makes the Redis store's revocations survive a failover; the
	// zero value turns that off (single server).
	Replicas ReplicaOptions
	// LocalCache tunes the Redis store's local copy of sessions (on by
	// default).
	LocalCache LocalCacheOptions
}

func (o *Options) setDefaults() {
	if o.TombstoneTTL <= 0 {
		o.TombstoneTTL = 24 * time.Hour
	}
}

// Both stores implement every role.
var (
	_ Store = (*MemoryStore)(nil)
	_ Store = (*RedisStore)(nil)
)
