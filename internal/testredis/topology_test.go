package testredis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestClusterServesEverySlot: the three-master Cluster answers writes to
// keys of every node.
func TestClusterServesEverySlot(t *testing.T) {
	c := StartCluster(t)
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer client.Close()
	ctx := context.Background()
	for i := range 30 {
		key := "k" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		if err := client.Set(ctx, key, "v", time.Minute).Err(); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	var masters atomic.Int32 // ForEachMaster calls in parallel
	if err := client.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		if n > 0 {
			masters.Add(1)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if masters := masters.Load(); masters != 3 {
		t.Fatalf("keys on %d masters, want 3", masters)
	}
}

// TestSentinelNamesTheMaster: the sentinels name the master, which the
// replica follows.
func TestSentinelNamesTheMaster(t *testing.T) {
	s := StartSentinel(t)
	ctx := context.Background()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[2].Addr})
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
	if err != nil || len(addr) != 2 || "127.0.0.1:"+addr[1] != s.Master.Addr {
		t.Fatalf("the sentinels name %v (%v), want %s", addr, err, s.Master.Addr)
	}
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName,
		SentinelAddrs: []string{s.Sentinels[0].Addr, s.Sentinels[1].Addr, s.Sentinels[2].Addr}})
	defer client.Close()
	if err := client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	replica := s.Replica.Client(t)
	deadline := time.Now().Add(5 * time.Second)
	for v, _ := replica.Get(ctx, "k").Result(); v != "v"; v, _ = replica.Get(ctx, "k").Result() {
		if time.Now().After(deadline) {
			t.Fatal("the replica did not follow the master")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
