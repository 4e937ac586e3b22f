package session

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

// Behind Sentinel, the copy's connections may still reach an old master that
// a partition keeps up (a master still, its replication ID unchanged) while
// the store's client has followed the failover: the copy follows the
// store's client, by replication ID, and a session ended on the new master
// is refused. The failover is made the way Sentinel makes one; the store's
// dialer stands in for Sentinel's.
func TestLocalCopyFollowsTheMasterTheStoreWritesTo(t *testing.T) {
	oldMaster, newMaster := testredis.Start(t), testredis.Start(t)
	ctx := context.Background()
	promoted := newMaster.Client(t)
	host, port, _ := net.SplitHostPort(oldMaster.Addr)
	if err := promoted.Do(ctx, "REPLICAOF", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	testredis.WaitInSync(t, newMaster, oldMaster)
	var target atomic.Pointer[string]
	target.Store(&oldMaster.Addr)
	// no idle connections dialed ahead (MinIdleConns 0): they stay unnamed
	// until first used, and each connection of the store's client must be
	// told from the copy's by its name
	main := redis.NewClient(&redis.Options{Addr: "master", ClientName: "main",
		Dialer: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, *target.Load())
		}})
	t.Cleanup(func() { _ = main.Close() })
	b := localStore(t, main, Options{})
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "partitioned"), Subject: "partitioned"}
	if _, err := b.Create(ctx, s, localLimits, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, b, s.Ref(), false)
	mustValid(t, b, s.Ref(), false)
	for deadline := time.Now().Add(5 * time.Second); promoted.Exists(ctx, userKeyName(s.UserKey)).Val() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session did not reach the replica")
		}
	}
	// the replica is promoted; the store's client follows (go-redis closes
	// its connections to the old master on +switch-master); the copy's
	// connections to the old master stay up
	if err := promoted.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	target.Store(&newMaster.Addr)
	old := oldMaster.Client(t)
	list, err := old.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(list, "\n") {
		if clientField(line, "name") == "main" {
			_ = old.Do(ctx, "CLIENT", "KILL", "ID", clientField(line, "id")).Err()
		}
	}
	if repl := b.local.main.Info(ctx, "replication").Val(); infoField(repl, "master_replid") !=
		infoField(promoted.Info(ctx, "replication").Val(), "master_replid") {
		t.Fatal("the store's client did not follow the failover: the test's premise does not hold")
	}
	a := localStore(t, promoted, Options{})
	if err := a.End(ctx, s.Ref(), ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b, s.Ref(), localLimits, ReasonRevoked, time.Now())
	awaitLocalReads(t, b, 5*time.Second) // on the new master
	s = cachedOn(t, a, b, "after-partition")
	if err := a.End(ctx, s.Ref(), ReasonLogout); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, b, s.Ref(), localLimits, ReasonLogout, time.Now())
}

// A Cluster URL that lets the store read from replicas (read_only,
// route_by_latency, route_randomly) does not let the copy: it is filled from
// the masters only, since a replica's answer may be older than an
// announcement the copy has applied.
func TestLocalCopyClusterFillsFromMastersOnly(t *testing.T) {
	c := testredis.StartClusterWithReplicas(t)
	for _, option := range []string{"read_only=true", "route_randomly=true"} {
		t.Run(option, func(t *testing.T) {
			client, err := NewRedisClient(c.URL + "&" + option)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Close() })
			direct, err := NewRedisClient(c.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = direct.Close() })
			a := localStore(t, direct, Options{})
			b := localStore(t, client, Options{})
			before := map[string]int{}
			for _, r := range c.Replicas {
				before[r.Addr] = commandCalls(t, r.Client(t), "hmget")["hmget"]
			}
			for i := range 12 { // users on every master (route_randomly: half the reads would go to replicas)
				cachedOn(t, a, b, "replica-read-"+strconv.Itoa(i))
			}
			for _, r := range c.Replicas {
				if n := commandCalls(t, r.Client(t), "hmget")["hmget"] - before[r.Addr]; n != 0 {
					t.Errorf("replica %s answered %d of the copy's reads", r.Addr, n)
				}
			}
		})
	}
}
