package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/background"
)

// tracker keeps the local copy exact for the keys of one Redis server (the
// master; in a Cluster, one per master): a tracking connection asks the
// server to announce every write under trackedPrefixes to an invalidation
// connection, which a goroutine reads as the announcements come.
type tracker struct {
	copy *localCopy
	addr string
	// probe runs plain commands on the server, tracking holds the tracking
	// connection, listen the invalidation connection.
	probe, tracking, listen *redis.Client
	sub                     *redis.PubSub
	listenID                atomic.Int64 // the invalidation connection's client ID
	trackingID              atomic.Int64 // the tracking connection's (0 while none is set up)
	// listenConn and trackingConn watch the two connections' sockets, for
	// unread; held says bytes taken from listenConn's may wait unapplied in
	// go-redis's buffer (heldConn)
	listenConn, trackingConn connWatch
	held                     atomic.Bool
	// drained is closed (and replaced) each time go-redis asks the
	// invalidation connection for more: every whole message read before is
	// applied (see heldConn)
	drained atomic.Pointer[chan struct{}]
	// pong is the payload of the last PING answered on the invalidation
	// connection and applied, pongs is closed (and replaced) at each
	pong   atomic.Pointer[string]
	pongs  atomic.Pointer[chan struct{}]
	pinged atomic.Uint64          // PINGs sent, for their payloads
	replID atomic.Pointer[string] // the master the copy was read from
	bg     *background.Group
}

// newTracker starts a tracker on the server opt reaches (behind Sentinel:
// the master, through Sentinel's dialer).
func newTracker(l *localCopy, opt redis.Options) *tracker {
	opt.MaxRetries, opt.DialerRetries = -1, 1 // a failed read falls back to the script, whose client retries
	opt.PushNotificationProcessor = nil
	opt.ClientName = localClientName
	t := &tracker{copy: l, addr: opt.Addr, bg: background.New()}
	pongs, drained := make(chan struct{}), make(chan struct{})
	t.pongs.Store(&pongs)
	t.drained.Store(&drained)
	probe := opt
	t.probe = redis.NewClient(&probe)
	tracking := opt
	tracking.PoolSize, tracking.MinIdleConns = 1, 0
	t.trackingConn.reset = l.drop
	tracking.Dialer = watching(opt.Dialer, &t.trackingConn)
	t.tracking = redis.NewClient(&tracking)
	listen := opt
	listen.Protocol = 2 // invalidations arrive as messages on invalidateChannel
	listen.PoolSize, listen.MinIdleConns = 1, 0
	t.listenConn.reset = func() {
		l.drop()
		t.listenID.Store(0) // until OnConnect: no probe vouches for the old connection meanwhile
	}
	t.listenConn.held = &t.held
	t.listenConn.drained = func() {
		next := make(chan struct{})
		close(*t.drained.Swap(&next))
	}
	listen.Dialer = watching(opt.Dialer, &t.listenConn)
	listen.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return fmt.Errorf("invalidation connection: %w", err)
		}
		t.listenID.Store(id)
		return nil
	}
	t.listen = redis.NewClient(&listen)
	t.sub = t.listen.Subscribe(context.Background(), invalidateChannel)
	t.bg.Go(t.applyInvalidations)
	t.bg.Go(t.holdTracking)
	return t
}

// applyInvalidations reads the invalidation connection and drops the copies
// Redis announces changed. Anything else it reads — an error, a lost
// connection, a flush (no key) — empties the copy.
func (t *tracker) applyInvalidations(ctx context.Context) {
	l := t.copy
	for ctx.Err() == nil {
		msg, err := t.sub.Receive(ctx)
		if err != nil {
			l.drop()
			select { // the subscription dials again on the next Receive
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		if hook := l.beforeApply.Load(); hook != nil {
			(*hook)()
		}
		if p, ok := msg.(*redis.Pong); ok {
			t.pong.Store(&p.Payload)
			next := make(chan struct{})
			close(*t.pongs.Swap(&next))
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
		setting := false
		for _, key := range m.PayloadSlice {
			l.table.invalidate(key)
			setting = setting || strings.HasPrefix(key, settingKey(""))
		}
		if setting {
			l.announce()
		}
	}
}

// holdTracking keeps the tracking connection: it turns tracking on
// (redirected to the invalidation connection, broadcasting writes under
// trackedPrefixes) and empties the copy (what was read before was not
// announced); when the connection ends (after which Redis announces nothing:
// checks stop using the copy at once, see unread) or the invalidation
// connection changes, it empties the copy and starts again.
func (t *tracker) holdTracking(ctx context.Context) {
	for ctx.Err() == nil {
		listen := t.listenID.Load()
		conn, err := t.track(ctx, listen)
		if err != nil {
			t.copy.drop()
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		for t.listenID.Load() == listen {
			if _, ended := peek(t.trackingConn.sock.Load()); ended {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(localWaitEvery):
			}
			if ctx.Err() != nil {
				break
			}
		}
		t.copy.drop()
		t.trackingID.Store(0)
		offCtx, cancel := context.WithTimeout(context.Background(), localProbeTimeout)
		_ = conn.ClientTrackingOff(offCtx).Err() // a connection that answers goes back to the pool untracked
		cancel()
		_ = conn.Close()
	}
}

// track opens a tracking connection towards the invalidation connection
// listen and empties the copy.
func (t *tracker) track(ctx context.Context, listen int64) (*redis.Conn, error) {
	if listen == 0 {
		return nil, errors.New("no invalidation connection yet")
	}
	conn := t.tracking.Conn()
	id, err := conn.ClientID(ctx).Result()
	if err == nil { // a pooled connection may have tracked before (BCAST cannot be switched while on)
		err = conn.ClientTrackingOff(ctx).Err()
	}
	if err == nil {
		err = conn.ClientTrackingOn(ctx, &redis.ClientTrackingOptions{Redirect: listen, Bcast: true,
			Prefixes: trackedPrefixes}).Err()
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("turn tracking on: %w", err)
	}
	t.copy.drop()
	t.trackingID.Store(id)
	return conn, nil
}

// close stops the tracker's goroutines and closes its connections.
func (t *tracker) close() error {
	subErr := t.sub.Close() // ends the pending Receive
	t.bg.Stop()             // holdTracking closes its connection
	return errors.Join(subErr, t.probe.Close(), t.tracking.Close(), t.listen.Close())
}
