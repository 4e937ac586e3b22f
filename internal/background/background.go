// Package background runs a component's goroutines under one context, so
// that stopping the component is one call, which returns once every one of
// them has ended. The gateway (following the organization's timer, watching
// long-lived responses) and the session stores (the memory store's sweeper,
// the Redis store's reachability probe) stop this way.
package background

import (
	"context"
	"sync"
)

// Group is a set of goroutines that share one context. The zero value is
// not usable; call New.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup
}

// New returns a running Group.
func New() *Group {
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{ctx: ctx, cancel: cancel}
}

// Go runs f in a new goroutine with the group's context, which is cancelled
// by Stop; f must return soon after. It reports false, and does not run f,
// once the group has stopped.
func (g *Group) Go(f func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.wg.Go(func() { f(g.ctx) })
	return true
}

// Context is the group's context: done once Stop has been called. Work
// started on the group's behalf outside Go (a timeout for one call) derives
// from it, so that Stop interrupts it too.
func (g *Group) Context() context.Context { return g.ctx }

// Stop cancels the group's context and waits for its goroutines to return.
// Later calls return at once.
func (g *Group) Stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}
