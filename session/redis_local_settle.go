package session

import (
	"context"
	"time"
)

// localSettleWait is how long a check waits at most for the trackers to
// apply what has reached this machine (usually the answer to a probe's
// PING, every localProbeEvery) before it runs the script instead: the
// tracker's goroutine, woken by the poller, needs a few microseconds, or
// under load as long as the scheduler makes it wait, which is still far
// cheaper than a round trip for every check meanwhile.
const localSettleWait = 5 * time.Millisecond

// settled reports whether every announcement that has reached this machine
// has been applied, waiting up to settleWait for the trackers to apply what
// is there; false at once when a tracker's connection has ended or there is
// no tracker.
func (l *localCopy) settled(ctx context.Context) bool {
	var timeout <-chan time.Time
	for {
		trackers := *l.trackers.Load()
		if len(trackers) == 0 {
			return false
		}
		var wait <-chan struct{}
		for _, t := range trackers {
			drained := *t.drained.Load() // before looking: a read after this closes it
			pending, ended := t.pending()
			if ended {
				return false
			}
			if pending {
				wait = drained
				break
			}
		}
		if wait == nil {
			return true
		}
		if timeout == nil {
			timer := time.NewTimer(l.settleWait)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-wait:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// pending reports whether bytes have reached this machine on the tracker's
// invalidation connection that it has not applied (waiting in the kernel
// or in go-redis's buffer), and whether either of its connections has
// ended.
func (t *tracker) pending() (pending, ended bool) {
	// the kernel first: bytes leave it only after held is set (heldConn)
	waiting, ended := peek(t.listenConn.sock.Load())
	if ended {
		return false, true
	}
	if waiting || t.held.Load() {
		return true, false
	}
	_, ended = peek(t.trackingConn.sock.Load())
	return false, ended
}
