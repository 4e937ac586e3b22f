package config

import "time"

// Policy is the set of timers applied to one session.
type Policy struct {
	// IdleTimeout ends the session after this long without user activity.
	IdleTimeout time.Duration `json:"idle_timeout"`
	// AbsoluteTimeout ends the session this long after sign-in.
	AbsoluteTimeout time.Duration `json:"absolute_timeout"`
	// WarnBefore is the idle warning lead shown by the banner.
	WarnBefore time.Duration `json:"warn_before"`
	// AbsoluteWarnBefore is the absolute warning lead shown by the banner.
	AbsoluteWarnBefore time.Duration `json:"absolute_warn_before"`
}
