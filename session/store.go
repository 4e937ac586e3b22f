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
	// Session is the session when Valid (IDToken is not loaded by Check).
	Session *Session
	// Reason says why the session is not valid.
	Reason Reason
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

// Store keeps sessions. Every method takes a context and returns an error
// wrapping ErrUnavailable when the backing service fails.
type Store interface {
	// Create stores s as a new session, setting CreatedAt and LastActivity to
	// the store's clock, and returns the IDs of sessions it ended to respect
	// MaxSessions.
	Create(ctx context.Context, s *Session, limits LimitSet, opts CreateOptions) (ended []string, err error)
	// Check finds the session and applies the timer rules in one atomic
	// operation; when activity is true and the session is valid, its idle
	// timer restarts. A session found expired is removed.
	Check(ctx context.Context, ref Ref, limits LimitSet, activity bool) (CheckResult, error)
	// Get returns the full session (including IDToken) without checking or
	// touching it; nil when it does not exist.
	Get(ctx context.Context, ref Ref) (*Session, error)
	// End ends one session, remembering reason so that the device's next
	// request can say why. Ending a missing session is not an error.
	End(ctx context.Context, ref Ref, reason Reason) error
	// List returns the live sessions of a user, oldest first.
	List(ctx context.Context, userKey string, limits LimitSet) ([]*Session, error)
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
}

func (o *Options) setDefaults() {
	if o.TombstoneTTL <= 0 {
		o.TombstoneTTL = 24 * time.Hour
	}
}
