package session

import (
	"context"
	"sync"
	"time"
)

// localMemo is what a node knows of sessions better than its local copy may,
// for as long as the copy may lag behind Redis (localMemoFor):
//   - sessions this node saw end (its own sign-outs and the checks that found
//     an end) and settings it wrote, which it then reads from Redis, so that
//     its next request never meets the copy from before the invalidation
//     arrived (read-your-writes);
//   - activity this node recorded (touches Redis confirmed), so that what it
//     reports to the banner does not go back in time;
//   - touches on their way, which a check by script waits for, so that the
//     script never judges a deadline the touch has moved.
//
// Times are this machine's monotonic clock: they measure the copy's lag, not
// the sessions' timers.
type localMemo struct {
	mu        sync.Mutex
	bypass    map[string]time.Time // read from Redis until
	touched   map[string]touchMark
	pending   map[string]*pendingTouch
	nextSweep int
}

// touchMark is a last activity Redis confirmed, kept until forget.
type touchMark struct{ at, forget time.Time }

// pendingTouch is a touch on its way: done closes when it ends; at is the
// activity it writes, again activity that came meanwhile, which it writes
// next.
type pendingTouch struct {
	done      chan struct{}
	at, again time.Time
}

// localMemoFor is how long the memo keeps what it learnt: longer than an
// entry of the local copy can be served (localMaxStaleness).
const localMemoFor = localMaxStaleness + time.Second

// memoSweepAt is the size at which the memo first drops what it has kept long
// enough.
const memoSweepAt = 1024

func newLocalMemo() *localMemo {
	return &localMemo{bypass: map[string]time.Time{}, touched: map[string]touchMark{},
		pending: map[string]*pendingTouch{}, nextSweep: memoSweepAt}
}

// memoKey names a session in the memo.
func memoKey(ref Ref) string { return ref.UserKey + "/" + ref.ID }

// settingMemoKey names a setting in the memo.
func settingMemoKey(name string) string { return "setting\x00" + name }

// skip makes reads of key bypass the copy for a while: the session ended, or
// this node wrote the setting.
func (m *localMemo) skip(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bypass[key] = time.Now().Add(localMemoFor)
	delete(m.touched, key)
	m.sweepLocked()
}

// skipped reports whether reads of key bypass the copy.
func (m *localMemo) skipped(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	forget, ok := m.bypass[key]
	return ok && time.Now().Before(forget)
}

// lastTouch is the latest activity this node recorded for the session,
// confirmed by Redis or on its way (zero when none is remembered): what it
// reports, so that its own answers never go back in time. (A touch that is
// then lost makes the session end earlier than reported, never later.)
func (m *localMemo) lastTouch(key string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last time.Time
	if t, ok := m.touched[key]; ok && time.Now().Before(t.forget) {
		last = t.at
	}
	if p, ok := m.pending[key]; ok {
		for _, at := range []time.Time{p.at, p.again} {
			if at.After(last) {
				last = at
			}
		}
	}
	return last
}

// startTouch registers a touch of activity at `at`; false when one is on
// its way already, which then writes at next.
func (m *localMemo) startTouch(key string, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, busy := m.pending[key]; busy {
		if at.After(p.again) {
			p.again = at
		}
		return false
	}
	m.pending[key] = &pendingTouch{done: make(chan struct{}), at: at}
	return true
}

// finishTouch ends a write of the session's touch: confirmed is the activity
// Redis took (zero when it did not). When activity came meanwhile, the touch
// stays on its way and finishTouch returns that activity to write next.
func (m *localMemo) finishTouch(key string, confirmed time.Time) (again time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ended := m.bypass[key]; !confirmed.IsZero() && !ended && confirmed.After(m.touched[key].at) {
		m.touched[key] = touchMark{at: confirmed, forget: time.Now().Add(localMemoFor)}
		m.sweepLocked()
	}
	p, ok := m.pending[key]
	if !ok {
		return time.Time{}
	}
	if again = p.again; !again.IsZero() {
		p.at, p.again = again, time.Time{}
		return again
	}
	close(p.done)
	delete(m.pending, key)
	return time.Time{}
}

// awaitTouch waits until the session's touch on its way (if any) is done.
func (m *localMemo) awaitTouch(ctx context.Context, key string) {
	m.mu.Lock()
	p, ok := m.pending[key]
	m.mu.Unlock()
	if !ok {
		return
	}
	select {
	case <-p.done:
	case <-ctx.Done():
	}
}

// clear forgets everything but the touches on their way (the local copy was
// emptied, so nothing it held can be older than Redis any more).
func (m *localMemo) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.touched)
}

// sweepLocked drops what the memo has kept long enough, once it has grown;
// m.mu is held.
func (m *localMemo) sweepLocked() {
	if len(m.bypass)+len(m.touched) < m.nextSweep {
		return
	}
	now := time.Now()
	for k, forget := range m.bypass {
		if !now.Before(forget) {
			delete(m.bypass, k)
		}
	}
	for k, t := range m.touched {
		if !now.Before(t.forget) {
			delete(m.touched, k)
		}
	}
	m.nextSweep = max(memoSweepAt, 2*(len(m.bypass)+len(m.touched)))
}
