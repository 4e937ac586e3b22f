package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
	// listenConn and trackingConn are the two connections' sockets, for
	// unread
	listenConn, trackingConn atomic.Pointer[syscall.RawConn]
	replID                   atomic.Pointer[string] // the master the copy was read from
	bg                       *background.Group
}

// newTracker starts a tracker on the server opt reaches (behind Sentinel:
// the master, through Sentinel's dialer).
func newTracker(l *localCopy, opt redis.Options) *tracker {
	opt.MaxRetries, opt.DialerRetries = -1, 1
	opt.PushNotificationProcessor = nil
	t := &tracker{copy: l, addr: opt.Addr, bg: background.New()}
	probe := opt
	t.probe = redis.NewClient(&probe)
	tracking := opt
	tracking.PoolSize, tracking.MinIdleConns = 1, 0
	tracking.Dialer = watching(opt.Dialer, &t.trackingConn, l.drop)
	t.tracking = redis.NewClient(&tracking)
	listen := opt
	listen.Protocol = 2 // invalidations arrive as messages on invalidateChannel
	listen.PoolSize, listen.MinIdleConns = 1, 0
	listen.Dialer = watching(opt.Dialer, &t.listenConn, l.drop)
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
			if _, ended := peek(t.trackingConn.Load()); ended {
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
		_ = conn.ClientTrackingOff(context.Background()).Err() // it goes back to the probe's pool
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

// watching wraps dial so that the socket of each connection it makes is kept
// in sock, for peek. A new connection replaces a lost one (go-redis dials
// again on its own): the copy is dropped first, before its socket can look
// healthy to peek.
func watching(dial func(context.Context, string, string) (net.Conn, error),
	sock *atomic.Pointer[syscall.RawConn], drop func()) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		drop()
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		raw := c
		if tc, ok := raw.(*tls.Conn); ok {
			raw = tc.NetConn()
		}
		var rc syscall.RawConn
		if sc, ok := raw.(syscall.Conn); ok {
			rc, _ = sc.SyscallConn()
		}
		if rc == nil {
			sock.Store(nil) // peek then says ended: no hits
		} else {
			sock.Store(&rc)
		}
		return c, nil
	}
}

// unread reports whether announcements have reached this machine that the
// tracker has not applied (bytes wait on the invalidation connection), or
// whether either connection has ended: then the copy must not be used.
func (t *tracker) unread() bool {
	waiting, ended := peek(t.listenConn.Load())
	if waiting || ended {
		return true
	}
	_, ended = peek(t.trackingConn.Load())
	return ended
}

// connections checks that the invalidation connection is subscribed and the
// tracking connection announces to it, both on this server (CLIENT LIST),
// and returns the server's INFO replication.
func (t *tracker) connections(ctx context.Context) (string, error) {
	listen, track := t.listenID.Load(), t.trackingID.Load()
	if listen == 0 || track == 0 {
		return "", errors.New("the tracking connections are not set up yet")
	}
	list, err := t.probe.Do(ctx, "CLIENT", "LIST", "ID", listen, track).Text()
	if err != nil {
		return "", err
	}
	if err := trackingListed(list, listen, track); err != nil {
		return "", err
	}
	return t.probe.Info(ctx, "replication").Result()
}

// checkMaster empties the copy when the server is not the master it was
// read from (by replication ID).
func (t *tracker) checkMaster(repl string) {
	id := infoField(repl, "master_replid")
	if old := t.replID.Load(); old == nil || *old != id {
		t.replID.Store(&id)
		t.copy.drop()
	}
}

// close stops the tracker's goroutines and closes its connections.
func (t *tracker) close() error {
	subErr := t.sub.Close() // ends the pending Receive
	t.bg.Stop()             // holdTracking closes its connection
	return errors.Join(subErr, t.probe.Close(), t.tracking.Close(), t.listen.Close())
}

// trackingListed reads CLIENT LIST's lines of the invalidation connection
// (subscribed to one channel) and the tracking connection (tracking in
// broadcast mode, redirecting to the former, which Redis still finds).
func trackingListed(list string, listen, track int64) error {
	var listenLine, trackLine string
	for line := range strings.SplitSeq(list, "\n") {
		switch {
		case strings.HasPrefix(line, "id="+strconv.FormatInt(listen, 10)+" "):
			listenLine = line
		case strings.HasPrefix(line, "id="+strconv.FormatInt(track, 10)+" "):
			trackLine = line
		}
	}
	if !strings.Contains(listenLine, " sub=1 ") {
		return errors.New("the invalidation connection is not subscribed on this server")
	}
	flags := clientField(trackLine, "flags")
	if !strings.Contains(flags, "t") || !strings.Contains(flags, "B") || strings.Contains(flags, "R") ||
		clientField(trackLine, "redir") != strconv.FormatInt(listen, 10) {
		return errors.New("this server does not announce writes to the invalidation connection")
	}
	return nil
}

// clientField reads one field of a CLIENT LIST line.
func clientField(line, name string) string {
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}
