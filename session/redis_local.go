package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
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
// client-side caching in broadcasting mode: a tracking connection asks Redis
// (CLIENT TRACKING ON BCAST REDIRECT) to announce every write to a key under
// sg:{ or sg:setting: on an invalidation connection, which a goroutine reads
// as the announcements come and drops the copies of those keys. So a
// sign-out on any node, a revocation, a touch or a setting reaches every node
// within one network latency, with no polling.
//
// The copy is trusted only under a lease: a probe on the tracking connection
// renews it every localProbeEvery when Redis answers, still announces to this
// node's live invalidation connection, is the same master (role and
// replication ID) and, under the replica guard, is trusted by it. Anything
// else — the probe failing or late, the invalidation connection lost, the
// store's breaker opening, a new master — empties the copy at once, and checks
// take the round trip until the next good probe. No copy is served more than
// localMaxStaleness after it was read, whatever happens.
//
// The copy only ever answers "valid, and not within margin of a deadline";
// every other case (missing, ended, near a deadline) runs the check script,
// which keeps "the end is reported once" and the tombstones' reasons.
type localCopy struct {
	table *localTable
	// reads fills the copy and holds the tracking connection; listen
	// holds the invalidation connection.
	reads, listen *redis.Client
	sub           *redis.PubSub
	listenID      atomic.Int64 // the invalidation connection's client ID
	// listenConn is the invalidation connection's socket, for unread
	listenConn atomic.Pointer[syscall.RawConn]
	// trackingID is the tracking connection's client ID (0 while none is
	// set up; holdTracking holds the connection)
	trackingID atomic.Int64
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
	replID  atomic.Pointer[string] // the master the copy was read from

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
	// localWaitEvery is how long the tracking connection's blocking read
	// waits before the next; localWaitKey is never written.
	localWaitEvery = 100 * time.Millisecond
	localWaitKey   = "sg-local-copy-wait"
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
	c, ok := main.(*redis.Client)
	if !ok {
		return nil, "not available for a Redis Cluster yet: every check is a round trip"
	}
	entries := o.MaxEntries
	if entries <= 0 {
		entries = defaultLocalEntries
	}
	l := &localCopy{table: newLocalTable(entries), clock: clock, trust: trust, memo: newLocalMemo(),
		bg: background.New()}
	// both clients reach the server main reaches (behind Sentinel: the
	// master, through Sentinel's dialer); a failed read falls back to the
	// script, whose client retries
	opt := *c.Options()
	opt.MaxRetries, opt.DialerRetries = -1, 1
	opt.PushNotificationProcessor = nil
	reads := opt
	l.reads = redis.NewClient(&reads)
	listen := opt
	listen.Protocol = 2 // invalidations arrive as messages on invalidateChannel
	listen.PoolSize, listen.MinIdleConns = 1, 0
	dial := listen.Dialer
	listen.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err == nil {
			l.watch(c)
		}
		return c, err
	}
	listen.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return fmt.Errorf("invalidation connection: %w", err)
		}
		l.listenID.Store(id)
		return nil
	}
	l.listen = redis.NewClient(&listen)
	l.sub = l.listen.Subscribe(context.Background(), invalidateChannel)
	l.bg.Go(l.applyInvalidations)
	l.bg.Go(l.holdTracking)
	l.bg.Go(l.renewLease)
	return l, ""
}

// applyInvalidations reads the invalidation connection and drops the copies
// Redis announces changed. Anything else it reads — an error, a lost
// connection, a flush (no key) — empties the copy.
func (l *localCopy) applyInvalidations(ctx context.Context) {
	for ctx.Err() == nil {
		msg, err := l.sub.Receive(ctx)
		if err != nil {
			l.drop()
			select { // the subscription dials again on the next Receive
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		m, ok := msg.(*redis.Message)
		if !ok || m.Channel != invalidateChannel {
			continue // subscription confirmations
		}
		if len(m.PayloadSlice) == 0 {
			l.drop()
			continue
		}
		for _, key := range m.PayloadSlice {
			l.table.invalidate(key)
		}
	}
}

// watch keeps the socket of a new invalidation connection for unread.
func (l *localCopy) watch(c net.Conn) {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	var rc syscall.RawConn
	if sc, ok := c.(syscall.Conn); ok {
		rc, _ = sc.SyscallConn()
	}
	if rc == nil {
		l.listenConn.Store(nil) // unread then always says yes: no hits
		return
	}
	l.listenConn.Store(&rc)
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
	subErr := l.sub.Close() // ends the pending Receive
	l.bg.Stop()             // holdTracking closes its connection
	l.table.flush()
	return errors.Join(subErr, l.reads.Close(), l.listen.Close())
}
