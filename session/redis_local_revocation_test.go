package session

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

// twoNodes are two stores on one Redis with clients of their own, as two
// gateway nodes have, both reading from their local copies.
func twoNodes(t *testing.T) (a, b *RedisStore, srv *testredis.Server) {
	srv = testredis.Start(t)
	return localStore(t, srv.Client(t), Options{}), localStore(t, srv.Client(t), Options{}), srv
}

// cachedOn signs a session in on a and makes b hold it in its copy.
func cachedOn(t *testing.T, a, b *RedisStore, user string) *Session {
	t.Helper()
	s := &Session{ID: NewID(), UserKey: UserKey("iss", user), Subject: user}
	if _, err := a.Create(context.Background(), s, localLimits, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, b, s.Ref(), false)
	mustValid(t, b, s.Ref(), false)
	return s
}

// refusedWithin polls b until it refuses ref with reason, and returns how
// long that took after since.
func refusedWithin(t *testing.T, b *RedisStore, ref Ref, ls LimitTable, reason Reason, since time.Time) time.Duration {
	t.Helper()
	for ; ; runtime.Gosched() {
		res, err := b.Check(context.Background(), ref, ls, false)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid {
			if res.Reason != reason {
				t.Fatalf("refused for %q, want %q", res.Reason, reason)
			}
			return time.Since(since)
		}
		if time.Since(since) > time.Second {
			t.Fatalf("node b still lets the session in %v after it ended on node a", time.Since(since))
		}
	}
}

// Every way a session ends on one node reaches the other node's copy; the
// latencies are logged (make bench measures them under load).
func TestLocalCopyRevocationReachesEveryNode(t *testing.T) {
	a, b, _ := twoNodes(t)
	ctx := context.Background()
	var lat []time.Duration
	for _, reason := range []Reason{ReasonLogout, ReasonRevoked, ReasonElsewhere, ReasonBackchannel} {
		s := cachedOn(t, a, b, "ended-"+string(reason))
		if err := a.End(ctx, s.Ref(), reason); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		lat = append(lat, refusedWithin(t, b, s.Ref(), localLimits, reason, start))
	}
	// max_sessions: signing in on a ends the oldest session, held by b
	s := cachedOn(t, a, b, "max-sessions")
	newer := &Session{ID: NewID(), UserKey: s.UserKey, Subject: s.Subject}
	if ended, err := a.Create(ctx, newer, localLimits, CreateOptions{MaxSessions: 1}); err != nil || !slices.Contains(ended, s.ID) {
		t.Fatalf("max_sessions ended %v (%v)", ended, err)
	}
	start := time.Now()
	lat = append(lat, refusedWithin(t, b, s.Ref(), localLimits, ReasonElsewhere, start))
	// a lower absolute limit (the manager's) applies to the copy at once
	s = cachedOn(t, a, b, "limit")
	shorter := LimitTable{Default: Limits{Idle: localLimits.Default.Idle, Absolute: time.Millisecond}}
	time.Sleep(5 * time.Millisecond) // past that limit, by any clock
	if res, _ := b.Check(ctx, s.Ref(), shorter, false); res.Valid || res.Reason != ReasonAbsolute {
		t.Fatalf("a lower absolute limit did not apply to a copied session: %+v", res)
	}
	t.Logf("revocation reached the other node after %v", lat)
}

// A node whose connections Redis drops (so that Redis no longer announces
// writes to it), or whose keys Redis forgets at once, empties its copy: a
// session ended afterwards on another node is refused at once, not served
// from the copy.
func TestLocalCopyEmptiedWhenRedisDropsTheConnection(t *testing.T) {
	for _, drop := range [][]any{
		{"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}, // the tracking connection (and the others)
		{"CLIENT", "KILL", "TYPE", "pubsub"},                  // the invalidation connection
		{"FLUSHALL"},                                          // announced as a flush of everything
	} {
		t.Run(fmt.Sprint(drop), func(t *testing.T) {
			a, b, srv := twoNodes(t)
			ctx := context.Background()
			s := cachedOn(t, a, b, "dropped")
			admin := srv.Client(t)
			if err := admin.Do(ctx, drop...).Err(); err != nil {
				t.Fatal(err)
			}
			// no pause: node b must not use the copy even before its goroutines notice
			if err := a.End(ctx, s.Ref(), ReasonLogout); err != nil {
				t.Fatal(err)
			}
			if res, err := b.Check(ctx, s.Ref(), localLimits, false); err != nil || res.Valid {
				t.Fatalf("node b served a session from a copy Redis no longer kept exact: %+v %v", res, err)
			}
		})
	}
}

// Under load on node b (other sessions checked without pause), revocations
// on node a still reach it; the figures are logged.
func TestLocalCopyRevocationUnderLoad(t *testing.T) {
	a, b, _ := twoNodes(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 8 {
		busy := cachedOn(t, a, b, "busy-"+strconv.Itoa(i))
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _ = b.Check(ctx, busy.Ref(), localLimits, false)
				time.Sleep(20 * time.Microsecond) // a request handler waits for its network between checks
			}
		})
	}
	var lat []time.Duration
	for i := range 100 {
		s := cachedOn(t, a, b, "revoked-"+strconv.Itoa(i))
		if err := a.End(context.Background(), s.Ref(), ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		lat = append(lat, refusedWithin(t, b, s.Ref(), localLimits, ReasonRevoked, start))
	}
	cancel()
	wg.Wait()
	slices.Sort(lat)
	t.Logf("revocation latency under load: p50 %v, p90 %v, p99 %v, max %v (%d revocations)", lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)*99/100], lat[len(lat)-1], len(lat))
}

// In a Redis Cluster, each master announces the writes to its keys: a
// session ended on node A is refused by node B for users on every master.
func TestLocalCopyClusterRevocation(t *testing.T) {
	c := testredis.StartCluster(t)
	nodes := make([]*RedisStore, 2)
	for i := range nodes {
		client, err := NewRedisClient(c.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.Close() })
		nodes[i] = localStore(t, client, Options{})
	}
	a, b := nodes[0], nodes[1]
	if n := len(*b.local.trackers.Load()); n != 3 {
		t.Fatalf("node B tracks %d masters, want 3", n)
	}
	// the copy's clock is every master's: each answers its probes' TIME
	before := make([]int, len(c.Nodes))
	for i, n := range c.Nodes {
		before[i] = commandCalls(t, n.Client(t), "time")["time"]
	}
	time.Sleep(3 * localProbeEvery)
	for i, n := range c.Nodes {
		if calls := commandCalls(t, n.Client(t), "time")["time"] - before[i]; calls < 2 {
			t.Errorf("master %s answered TIME %d times in 3 probe periods", n.Addr, calls)
		}
	}
	masters := map[string]bool{}
	for i := range 12 { // users spread over the masters' slots
		s := cachedOn(t, a, b, "cluster-"+strconv.Itoa(i))
		masters[c.MasterOf(t, userKeyName(s.UserKey)).Addr] = true
		if err := a.End(context.Background(), s.Ref(), ReasonLogout); err != nil {
			t.Fatal(err)
		}
		refusedWithin(t, b, s.Ref(), localLimits, ReasonLogout, time.Now())
	}
	if len(masters) < 2 {
		t.Fatalf("the users landed on %d master(s); the test needs several", len(masters))
	}
}
