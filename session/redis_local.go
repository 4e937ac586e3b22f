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
	// main is the store's client to a single server or, behind Sentinel,
	// to the master (nil in a Cluster): the copy follows the server it
	// writes to, and reads through the tracker's probe client
	main *redis.Client
	// cluster reads in a Cluster, routing each key to its master: the
	// store's client, or one of the copy's own when the store's may read
	// from replicas (ownsCluster)
	cluster     *redis.ClusterClient
	ownsCluster bool
	// trackers are the servers announcing writes: one, or one per Cluster
	// master
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
	// dropped or trusted again (announcements may have been missed);
	// settings counts those moments (from 1)
	changed  atomic.Pointer[chan struct{}]
	settings atomic.Uint64

	// settleWait bounds how long a check waits for the trackers to apply
	// what has reached this machine before it runs the script instead
	settleWait time.Duration

	memo *localMemo
	bg   *background.Group
	// beforeApply, when set (tests), runs as a tracker has received a
	// message and before it applies it.
	beforeApply atomic.Pointer[func()]
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
	// localClientName names the copy's connections in CLIENT LIST.
	localClientName = "sessiongate-local-copy"
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
	if !localCopySupported {
		return nil, "not available on this operating system (needs MSG_PEEK)"
	}
	if tlsOn(main) {
		return nil, "not available over TLS (rediss://): the copy must see every announcement arrive, " +
			"and TLS keeps what it has decrypted out of sight"
	}
	entries := o.MaxEntries
	if entries <= 0 {
		entries = defaultLocalEntries
	}
	l := &localCopy{table: newLocalTable(entries), clock: clock, trust: trust, memo: newLocalMemo(),
		bg: background.New(), settleWait: localSettleWait}
	none := []*tracker{}
	l.trackers.Store(&none)
	ch := make(chan struct{})
	l.changed.Store(&ch)
	l.settings.Store(1)
	switch c := main.(type) {
	case *redis.Client:
		// the tracker's clients reach the server main reaches (behind
		// Sentinel: the master, through Sentinel's dialer)
		l.main = c
		one := []*tracker{newTracker(l, *c.Options())}
		l.trackers.Store(&one)
	case *redis.ClusterClient:
		l.cluster = c // trackers follow the masters (followMasters)
		if opt := *c.Options(); opt.ReadOnly || opt.RouteByLatency || opt.RouteRandomly {
			// the copy is filled from masters only: a replica's answer may
			// be older than an announcement already applied
			opt.ReadOnly, opt.RouteByLatency, opt.RouteRandomly = false, false, false
			l.cluster, l.ownsCluster = redis.NewClusterClient(&opt), true
		}
	default:
		return nil, fmt.Sprintf("not available for a %T", main)
	}
	l.bg.Go(l.renewLease)
	return l, ""
}

// tlsOn reports whether main speaks TLS to Redis.
func tlsOn(main redis.UniversalClient) bool {
	switch c := main.(type) {
	case *redis.Client:
		return c.Options().TLSConfig != nil
	case *redis.ClusterClient:
		return c.Options().TLSConfig != nil
	}
	return false
}

// announce counts a moment a shared setting may have changed and wakes
// whoever waits for one.
func (l *localCopy) announce() {
	l.settings.Add(1) // before the swap: see SettingsVersion
	next := make(chan struct{})
	close(*l.changed.Swap(&next))
}

// SettingsVersion counts the moments a shared setting may have changed on
// any node (Redis announced a write to one, or announcements may have been
// missed), and returns a channel closed at the next one; 0 and nil without
// the local copy. A follower of a setting re-reads it when the channel
// closes, instead of polling, and says which version it has read: a node
// that answers checks from its copy waits for its followers to have read
// the current version, so that no check after a manager's change has
// reached the node is judged by the previous choice.
func (r *RedisStore) SettingsVersion() (uint64, <-chan struct{}) {
	if r.local == nil {
		return 0, nil
	}
	ch := *r.local.changed.Load() // before the count: a change between the two wakes the caller again
	return r.local.settings.Load(), ch
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
	if l.ownsCluster {
		errs = append(errs, l.cluster.Close())
	}
	return errors.Join(errs...)
}
