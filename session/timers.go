package session

import (
	"strings"
	"time"
)

// Limits are the two timers of one session. Absolute 0 means no absolute limit.
type Limits struct {
	Idle     time.Duration
	Absolute time.Duration
}

// LimitTable is the limits in force: the site's and those of each group
// policy, with the manager's absolute timeout applied. The
// limits of a session are resolved at check time, so a config reload or an
// admin change applies to live sessions at once.
type LimitTable struct {
	Default Limits
	// Groups maps a group policy's name (a group) to its limits. A session under
	// several group policies gets the strictest value of each timer.
	Groups map[string]Limits
}

// For resolves the limits of a session under policyGroups (comma-separated
// group policy names, Session.PolicyGroups). Names without a configured
// group policy are ignored.
func (ls LimitTable) For(policyGroups string) Limits {
	if policyGroups == "" || len(ls.Groups) == 0 {
		return ls.Default
	}
	var out Limits
	found := false
	for name := range strings.SplitSeq(policyGroups, ",") {
		l, ok := ls.Groups[name]
		if !ok {
			continue
		}
		if !found {
			out, found = l, true
			continue
		}
		out.Idle = min(out.Idle, l.Idle)
		out.Absolute = stricterAbsolute(out.Absolute, l.Absolute)
	}
	if !found {
		return ls.Default
	}
	return out
}

func stricterAbsolute(a, b time.Duration) time.Duration {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	default:
		return min(a, b)
	}
}

// Deadlines returns when the idle and the absolute timer run out; the
// absolute deadline is zero when there is no absolute limit.
func Deadlines(createdAt, lastActivity time.Time, l Limits) (idle, absolute time.Time) {
	idle = lastActivity.Add(l.Idle)
	if l.Absolute > 0 {
		absolute = createdAt.Add(l.Absolute)
	}
	return idle, absolute
}

// Evaluate applies the timer rules: a session is valid iff now is before
// both deadlines. When both have passed, the absolute limit is named.
func Evaluate(createdAt, lastActivity time.Time, l Limits, now time.Time) (valid bool, why Reason) {
	idle, absolute := Deadlines(createdAt, lastActivity, l)
	if !absolute.IsZero() && !now.Before(absolute) {
		return false, ReasonAbsolute
	}
	if !now.Before(idle) {
		return false, ReasonIdle
	}
	return true, ""
}

// NearestDeadline is the earlier of the two deadlines: the session's TTL.
func NearestDeadline(createdAt, lastActivity time.Time, l Limits) time.Time {
	idle, absolute := Deadlines(createdAt, lastActivity, l)
	if !absolute.IsZero() && absolute.Before(idle) {
		return absolute
	}
	return idle
}

// MissingReason names why a session that the store no longer holds (and for
// which it kept no explicit reason) ended, from the sign-in time the cookie
// carries: the store forgets a session at its nearest deadline.
func MissingReason(ref Ref, l Limits, now time.Time) Reason {
	created := time.UnixMilli(ref.CreatedAt)
	switch {
	case l.Absolute > 0 && !now.Before(created.Add(l.Absolute)):
		return ReasonAbsolute
	case !now.Before(created.Add(l.Idle)):
		return ReasonIdle
	default:
		return ReasonEnded
	}
}
