package session

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/background"
)

// LocalCacheOptions tune the Redis store's local copy of sessions.
type LocalCacheOptions struct {
	// Off turns the local copy off: every check is a round trip to Redis.
	Off bool
	// MaxEntries bounds the users (and settings) the copy holds (default
	// 100,000; each costs about 300 bytes on the node, nothing in Redis).
	MaxEntries int
}

// localCopy serves session checks from a copy, on this node, of what it read
// of the users' hashes; Redis keeps the copy exact with server-assisted
// client-side caching in broadcasting mode: on the master (in a Cluster, on
// every master) a tracker's tracking connection asks Redis (CLIENT TRACKING
// ON BCAST REDIRECT) to announce every write to a key under sg:{ or
// sg:setting: on its invalidation connection, which a goroutine reads as the
// announcements come and drops the copies of those keys. So a sign-out on
// any node, a revocation, a touch or a setting reaches every node within one
// network latency, with no polling; and no check uses the copy while an
// announcement has reached this machine unread (unread).
//
// The copy is trusted only under a lease: a probe renews it every
// localProbeEvery when every tracker's server answers, still announces to
// the tracker's live invalidation connection, is the same master (role and
// replication ID) and, under the replica guard, is trusted by it; in a
// Cluster, when the trackers are on the masters there are now. Anything else
// — the probe failing or late, a tracker's connection lost, the store's
// breaker opening, a new master — empties the copy at once, and checks take
// the round trip until the next good probe. No copy is served more than
// localMaxStaleness after it was read, whatever happens.
//
// The copy only ever answers "valid, and not within margin of a deadline";
// every other case (missing, ended, near a deadline) runs the check script,
// which keeps "the end is reported once" and the tombstones' reasons.
type localCopy struct {
	table *localTable
	// reads fills the copy: a client of its own (single server, Sentinel),
	// or the store's Cluster client, which routes each key to its master
	reads     redis.UniversalClient
	ownsReads bool
	// cluster is the store's Cluster client (nil otherwise); trackers are
	// the servers announcing writes: one, or one per Cluster master
	cluster  *redis.ClusterClient
	trackers atomic.Pointer[[]*tracker]
	// clock, when set, replaces Redis TIME (tests): exact, no margin.
	clock Clock
	// trust judges the server's INFO replication (the replica guard), or nil.
	trust func(info string) error

	lease atomic.Int64 // hits are served while table.since() < lease
	// mu guards gen: drops so far, so that a probe never renews a lease
	// for a copy dropped while it ran
	mu      sync.Mutex
	gen     uint64
	clockMu sync.Mutex
	clocks  []clockSample
	best    atomic.Pointer[clockSample]

	// changed is closed (and replaced) when a shared setting may have
	// changed: Redis announced a write under sg:setting:, or the copy was
	// dropped (announcements may have been missed)
	changed atomic.Pointer[chan struct{}]

	memo *localMemo
	bg   *background.Group
}

// clockSample is Redis TIME measured against this machine's clock: offset
// is Redis minus local, within ±uncertainty (half the round trip).
type clockSample struct {
	offset, uncertainty time.Duration
}

const (
	// localProbeEvery is how often the lease is renewed.
	localProbeEvery = 100 * time.Millisecond
	// localLease is how long one good probe lets the copy be trusted.
	localLease = 500 * time.Millisecond
	// localProbeTimeout bounds one probe.
	localProbeTimeout = 250 * time.Millisecond
	// localMaxStaleness is the backstop: no copy is served longer after it
	// was read, even if its invalidation was lost.
	localMaxStaleness = 2 * time.Second
	// clockSamples is how many probes the clock offset is chosen from (the
	// one with the shortest round trip).
	clockSamples = 10
	// clockSlack covers Redis TIME's and the scripts' millisecond rounding
	// and drift between probes.
	clockSlack = 2 * time.Millisecond
	// defaultLocalEntries bounds the copy by default.
	defaultLocalEntries = 100_000
	// localWaitEvery is how often a tracker looks whether its tracking
	// connection has ended (checks look at every request).
	localWaitEvery = 100 * time.Millisecond
	// invalidateChannel is where Redis announces writes to a redirect
	// target that speaks RESP2.
	invalidateChannel = "__redis__:invalidate"
)

// trackedPrefixes are the keys whose writes Redis announces: the users'
// hashes and the shared settings.
var trackedPrefixes = []string{"sg:{", "sg:setting:"}

// newLocalCopy builds the local copy for main, or says why there is none.
func newLocalCopy(main redis.UniversalClient, o LocalCacheOptions, clock Clock,
	trust func(string) error) (*localCopy, string) {
	if o.Off {
		return nil, "turned off (local_cache off)"
	}
	entries := o.MaxEntries
	if entries <= 0 {
		entries = defaultLocalEntries
	}
	l := &localCopy{table: newLocalTable(entries), clock: clock, trust: trust, memo: newLocalMemo(),
		bg: background.New()}
	none := []*tracker{}
	l.trackers.Store(&none)
	ch := make(chan struct{})
	l.changed.Store(&ch)
	switch c := main.(type) {
	case *redis.Client:
		// the copy's clients reach the server main reaches (behind
		// Sentinel: the master, through Sentinel's dialer); a failed read
		// falls back to the script, whose client retries
		opt := *c.Options()
		one := []*tracker{newTracker(l, opt)}
		l.trackers.Store(&one)
		opt.MaxRetries, opt.DialerRetries = -1, 1
		opt.PushNotificationProcessor = nil
		l.reads, l.ownsReads = redis.NewClient(&opt), true
	case *redis.ClusterClient:
		l.reads, l.cluster = c, c // trackers follow the masters (followMasters)
	default:
		return nil, fmt.Sprintf("not available for a %T", main)
	}
	l.bg.Go(l.renewLease)
	return l, ""
}

// unread reports whether announcements have reached this machine that no
// tracker has applied yet.
func (l *localCopy) unread() bool {
	trackers := *l.trackers.Load()
	for _, t := range trackers {
		if t.unread() {
			return true
		}
	}
	return len(trackers) == 0
}

// now is Redis's time as this node estimates it and how far off it may be;
// ok is false when the copy may not be used (no lease).
func (l *localCopy) now() (now time.Time, margin time.Duration, ok bool) {
	if int64(l.table.since()) >= l.lease.Load() {
		return time.Time{}, 0, false
	}
	if l.clock != nil {
		return l.clock(), 0, true
	}
	s := l.best.Load()
	if s == nil {
		return time.Time{}, 0, false
	}
	return time.Now().Add(s.offset), s.uncertainty + clockSlack, true
}

// addSample keeps the last clockSamples offsets and uses the one measured
// with the shortest round trip.
func (l *localCopy) addSample(s clockSample) {
	l.clockMu.Lock()
	defer l.clockMu.Unlock()
	l.clocks = append(l.clocks, s)
	if len(l.clocks) > clockSamples {
		l.clocks = l.clocks[1:]
	}
	best := l.clocks[0]
	for _, c := range l.clocks[1:] {
		if c.uncertainty < best.uncertainty {
			best = c
		}
	}
	l.best.Store(&best)
}

// announce wakes whoever waits for a change of the shared settings.
func (l *localCopy) announce() {
	next := make(chan struct{})
	close(*l.changed.Swap(&next))
}

// SettingsChanged returns a channel that is closed when a shared setting may
// have changed on any node (nil without the local copy): followers of a
// setting re-read it then, from the copy, instead of polling.
func (r *RedisStore) SettingsChanged() <-chan struct{} {
	if r.local == nil {
		return nil
	}
	return *r.local.changed.Load()
}

// ReadsLocally reports whether reads are served from the local copy now
// (it is on, and its lease holds): a change on any node then reaches this
// one within the invalidation latency, so following a shared setting often
// costs nothing.
func (r *RedisStore) ReadsLocally() bool {
	if r.local == nil || r.health.down.Load() {
		return false
	}
	_, _, ok := r.local.now()
	return ok
}

// close stops the goroutines and closes the connections.
func (l *localCopy) close() error {
	l.lease.Store(0)
	l.bg.Stop()
	var errs []error
	for _, t := range *l.trackers.Load() {
		errs = append(errs, t.close())
	}
	l.table.flush()
	if l.ownsReads {
		errs = append(errs, l.reads.Close())
	}
	return errors.Join(errs...)
}
