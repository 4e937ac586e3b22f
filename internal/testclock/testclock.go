// Package testclock is a manually advanced clock for timer tests.
package testclock

import (
	"sync"
	"time"
)

// Clock returns a fixed time that moves only when Advance is called.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock set to the current wall time truncated to the
// millisecond (stores keep milliseconds); tests only move it forward.
func New() *Clock { return &Clock{now: time.Now().Truncate(time.Millisecond)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
