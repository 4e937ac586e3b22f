package session

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

// faultProxy forwards loopback connections to a Redis server and breaks them
// the ways networks do: a flow that goes silent (dropped on the way, no
// reset; Redis keeps listing the connection), a connection cut on the
// client's side only, new connections slow to get their first answer.
type faultProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	conns  []*proxiedConn
	stall  atomic.Int64 // a new connection's first answer waits this long (ns)
}

// proxiedConn is one forwarded connection.
type proxiedConn struct {
	client, server net.Conn
	subscriber     atomic.Bool // the client sent SUBSCRIBE on it
	silent, cut    atomic.Bool
}

// startFaultProxy listens on a loopback port until the test ends.
func startFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{addr: ln.Addr().String(), target: target}
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.client.Close()
			_ = c.server.Close()
		}
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			c := &proxiedConn{client: client, server: server}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			go c.pump(server, client, true, 0)
			go c.pump(client, server, false, time.Duration(p.stall.Load()))
		}
	}()
	return p
}

// pump copies src to dst until src ends, dropping what a silent or cut
// connection carries; a cut connection's server side stays open.
func (c *proxiedConn) pump(dst, src net.Conn, fromClient bool, stall time.Duration) {
	buf := make([]byte, 32<<10)
	for first := true; ; first = false {
		n, err := src.Read(buf)
		if err != nil {
			if !c.cut.Load() {
				_ = dst.Close()
			}
			return
		}
		if fromClient && bytes.Contains(bytes.ToUpper(buf[:n]), []byte("SUBSCRIBE")) {
			c.subscriber.Store(true)
		}
		if first && stall > 0 {
			time.Sleep(stall)
		}
		if c.silent.Load() || c.cut.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil && !c.cut.Load() {
			_ = src.Close()
			return
		}
	}
}

// subscriber returns the live invalidation connection (the last that sent
// SUBSCRIBE).
func (p *faultProxy) subscriber(t *testing.T) *proxiedConn {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.conns) - 1; i >= 0; i-- {
		if c := p.conns[i]; c.subscriber.Load() && !c.silent.Load() && !c.cut.Load() {
			return c
		}
	}
	t.Fatal("no invalidation connection through the proxy")
	return nil
}

// behindProxy is a node whose every connection to srv goes through a fault
// proxy, with another node connected directly.
func behindProxy(t *testing.T) (a, b *RedisStore, px *faultProxy) {
	srv := testredis.Start(t)
	px = startFaultProxy(t, srv.Addr)
	bc := redis.NewClient(&redis.Options{Addr: px.addr})
	t.Cleanup(func() { _ = bc.Close() })
	return localStore(t, srv.Client(t), Options{}), localStore(t, bc, Options{}), px
}

// awaitLocalReads waits until st serves from its copy again.
func awaitLocalReads(t *testing.T, st *RedisStore, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); !st.ReadsLocally(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the copy was not trusted again within %v", within)
		}
	}
}

// An invalidation connection that goes silent (its flow dropped without a
// reset: Redis keeps listing it, subscribed) loses the copy its lease at the
// next probe, whose PING gets no answer: a session ended meanwhile on
// another node is refused within the lease, not served until the copy's
// 2 s backstop. The silent connection is replaced and the copy comes back.
func TestLocalCopyLeaseEndsWhenTheInvalidationConnectionGoesSilent(t *testing.T) {
	a, b, px := behindProxy(t)
	ctx := context.Background()
	s := cachedOn(t, a, b, "silent")
	px.subscriber(t).silent.Store(true)
	if err := a.End(ctx, s.Ref(), ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	took := refusedWithin(t, b, s.Ref(), localLimits, ReasonRevoked, time.Now())
	if took > localLease+localProbeEvery+localProbeTimeout {
		t.Fatalf("refused only after %v: longer than the lease allows", took)
	}
	awaitLocalReads(t, b, 5*time.Second)
	s = cachedOn(t, a, b, "after-silent")
	if err := a.End(ctx, s.Ref(), ReasonLogout); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b, s.Ref(), localLimits, ReasonLogout, time.Now())
}

// The invalidation connection cut on this side only (Redis still lists it,
// subscribed, with the tracking connection announcing to it) while its
// replacement is slow to come up: no probe vouches for the old connection
// meanwhile, so a session ended on another node in that window is refused.
func TestLocalCopyNotTrustedWhileTheInvalidationConnectionIsReplaced(t *testing.T) {
	a, b, px := behindProxy(t)
	ctx := context.Background()
	s := cachedOn(t, a, b, "replaced")
	if err := b.client.Ping(ctx).Err(); err != nil { // node b's connections are up: only the replacement is slow
		t.Fatal(err)
	}
	const stall = time.Second
	px.stall.Store(int64(stall))
	old := px.subscriber(t)
	old.cut.Store(true)
	_ = old.client.Close()
	cutAt := time.Now()
	time.Sleep(2 * localProbeEvery) // the replacement waits for its first answer; probes run
	mustValid(t, b, s.Ref(), false) // a copy trusted now would hold the session from here
	if err := a.End(ctx, s.Ref(), ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	if res, err := b.Check(ctx, s.Ref(), localLimits, false); err != nil || res.Valid {
		t.Fatalf("a session ended on node a was served from a copy nobody announces to: %+v %v", res, err)
	}
	if time.Since(cutAt) >= stall {
		t.Fatal("the check came after the replacement was up: the test proves nothing; make the stall longer")
	}
	px.stall.Store(0)
	awaitLocalReads(t, b, 5*time.Second)
}

// endWithTrackerHeld makes node b's tracker stop on the next message it
// receives, ends s on node a, and returns once b's tracker holds a message
// (the announcement, or a probe's PING answer ahead of it); release lets it
// go on (more than once is fine).
func endWithTrackerHeld(t *testing.T, a, b *RedisStore, s *Session) (release func()) {
	t.Helper()
	received, held := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	hook := func() {
		select {
		case received <- struct{}{}:
		default:
		}
		<-held
	}
	b.local.beforeApply.Store(&hook)
	if err := a.End(context.Background(), s.Ref(), ReasonRevoked); err != nil {
		release()
		t.Fatal(err)
	}
	select {
	case <-received:
	case <-time.After(2 * time.Second):
		release()
		t.Fatal("node b received nothing")
	}
	return release
}

// An announcement go-redis has taken from the socket into its buffer, not
// yet applied, keeps the copy from answering: the kernel has nothing left
// to show, so the tracker itself must say so.
func TestLocalCopyNotUsedWhileAnAnnouncementIsBuffered(t *testing.T) {
	a, b, _ := twoNodes(t)
	ctx := context.Background()
	s := cachedOn(t, a, b, "buffered")
	release := endWithTrackerHeld(t, a, b, s)
	defer release()
	res, err := b.Check(ctx, s.Ref(), localLimits, false)
	if err != nil || res.Valid || res.Reason != ReasonRevoked {
		t.Fatalf("node b answered from its copy with an announcement received but not applied: %+v %v", res, err)
	}
}

// A check that comes while the tracker has yet to apply what has reached
// the node (here an announcement about another user, held in the tracker)
// waits for it rather than paying a round trip: it returns only after the
// tracker has applied it, from the copy, with no script run. (Every probe's
// PING answer opens such a window; under load, checks that ran the script
// in it cost session 9's bench 2.5% of its requests in round trips.)
func TestLocalCopyCheckWaitsForTheTrackerNotForRedis(t *testing.T) {
	a, b, srv := twoNodes(t)
	ctx := context.Background()
	s := cachedOn(t, a, b, "waits")
	other := cachedOn(t, a, b, "someone-else")
	b.local.settleWait = 10 * time.Second // the test, not the bound, decides when the tracker goes on
	release := endWithTrackerHeld(t, a, b, other)
	defer release()
	before := commandCalls(t, srv.Client(t), "evalsha")["evalsha"]
	type answer struct {
		res CheckResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := b.Check(ctx, s.Ref(), localLimits, false)
		done <- answer{res, err}
	}()
	select {
	case got := <-done:
		t.Fatalf("the check answered before the tracker applied what it had received: %+v %v", got.res, got.err)
	case <-time.After(30 * time.Millisecond):
		// the hold must end before a probe whose PING answer waits behind it
		// gives up (250 ms after that probe began, which may be up to 100 ms
		// before the hold): then the connection is cut and the copy dropped
	}
	release()
	got := <-done
	if got.err != nil || !got.res.Valid {
		t.Fatalf("check after the tracker went on: %+v %v", got.res, got.err)
	}
	if after := commandCalls(t, srv.Client(t), "evalsha")["evalsha"]; after != before {
		t.Fatalf("the check ran the script %d time(s) instead of waiting for the tracker", after-before)
	}
}
