package testredis

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// topologyTimeout bounds setting up a Cluster or a Sentinel set.
const topologyTimeout = 30 * time.Second

// Cluster is a Redis Cluster of three masters on loopback ports, for one
// test, and with StartClusterWithReplicas a replica of each.
type Cluster struct {
	// Nodes are the masters, in the order their slots were assigned.
	Nodes []*Server
	// Replicas are the masters' replicas (none for StartCluster).
	Replicas []*Server
	// URL is the gateway's Cluster URL: redis+cluster://first?addr=second&addr=third.
	URL string
}

// StartCluster starts three redis-server nodes with cluster mode on, joins
// them into a Cluster with redis-cli --cluster create (no replicas), and
// waits until every node reports the cluster ok. It skips the test when a
// Redis named by SESSIONGATE_TEST_REDIS_URL is used instead of managed
// servers.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	return startCluster(t, 0)
}

// StartClusterWithReplicas is StartCluster with a replica of each master
// (six nodes), so that a master's failure promotes its replica (after the
// cluster node timeout, 2 s). It waits until every replica is in sync.
func StartClusterWithReplicas(t testing.TB) *Cluster {
	t.Helper()
	return startCluster(t, 1)
}

func startCluster(t testing.TB, replicas int) *Cluster {
	t.Helper()
	skipUnmanaged(t)
	cli := lookPath(t, "redis-cli")
	c := &Cluster{}
	var all []*Server
	var addrs []string
	for range 3 * (1 + replicas) {
		bus, err := FreePort()
		if err != nil {
			t.Fatalf("testredis: %v", err)
		}
		n := StartWith(t, Options{Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000", "--cluster-port", strconv.Itoa(bus)}})
		all = append(all, n)
		addrs = append(addrs, n.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), topologyTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testredis: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range all {
		cl := n.Client(t)
		waitFor(ctx, t, "cluster_state:ok and replicas in sync on "+n.Addr, func() bool {
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
			repl, err := cl.Info(ctx, "replication").Result()
			switch {
			case err != nil:
				return false
			case strings.Contains(repl, "role:master"):
				if !slices.Contains(c.Nodes, n) {
					c.Nodes = append(c.Nodes, n)
				}
				return true
			default:
				if strings.Contains(repl, "master_link_status:up") && !slices.Contains(c.Replicas, n) {
					c.Replicas = append(c.Replicas, n)
				}
				return slices.Contains(c.Replicas, n)
			}
		})
	}
	q := url.Values{"addr": addrs[1:3]}
	c.URL = "redis+cluster://" + addrs[0] + "?" + q.Encode()
	return c
}

// MasterOf returns the master node that holds key now.
func (c *Cluster) MasterOf(t testing.TB, key string) *Server {
	t.Helper()
	ctx := context.Background()
	for _, n := range append(slices.Clone(c.Nodes), c.Replicas...) {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second})
		slot, err := cl.ClusterKeySlot(ctx, key).Result()
		var ranges []redis.ClusterSlot
		if err == nil {
			ranges, err = cl.ClusterSlots(ctx).Result()
		}
		_ = cl.Close()
		if err != nil {
			continue // stopped
		}
		for _, r := range ranges {
			if int64(r.Start) <= slot && slot <= int64(r.End) {
				for _, m := range append(slices.Clone(c.Nodes), c.Replicas...) {
					if m.Addr == r.Nodes[0].Addr {
						return m
					}
				}
			}
		}
	}
	t.Fatalf("testredis: no node of the cluster names the master of %q", key)
	return nil
}

// SentinelSet is a master, its replica (or replicas) and three sentinels
// on loopback ports, for one test.
type SentinelSet struct {
	// Replica is the first of Replicas.
	Master, Replica *Server
	Replicas        []*Server
	Sentinels       []*Server
	// MasterName is the name the sentinels monitor ("mymaster").
	MasterName string
	// URL is the gateway's Sentinel URL:
	// redis://sentinel1?master_name=mymaster&addr=sentinel2&addr=sentinel3.
	URL string
}

// StartSentinel starts a master, a replica of it and three sentinels
// (quorum 2, a master is down after 1 s), and waits until the replica is in
// sync and every sentinel knows the master and the replica. It skips the
// test when SESSIONGATE_TEST_REDIS_URL is used.
func StartSentinel(t testing.TB) *SentinelSet {
	t.Helper()
	return StartSentinelWith(t, 1)
}

// StartSentinelWith is StartSentinel with n replicas of the master.
func StartSentinelWith(t testing.TB, n int) *SentinelSet {
	t.Helper()
	skipUnmanaged(t)
	s := &SentinelSet{MasterName: "mymaster"}
	s.Master = StartWith(t, Options{})
	host, port := "127.0.0.1", strconv.Itoa(s.Master.port)
	ctx, cancel := context.WithTimeout(context.Background(), topologyTimeout)
	defer cancel()
	for range n {
		r := StartWith(t, Options{Args: []string{"--replicaof", host, port}})
		s.Replicas = append(s.Replicas, r)
		replica := r.Client(t)
		waitFor(ctx, t, "the replica in sync", func() bool {
			info, err := replica.Info(ctx, "replication").Result()
			return err == nil && strings.Contains(info, "master_link_status:up")
		})
	}
	s.Replica = s.Replicas[0]
	var addrs []string
	for range 3 {
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %s %s %s 2\nsentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\nsentinel parallel-syncs %[1]s 1\n", s.MasterName, host, port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatalf("testredis: %v", err)
		}
		sn := StartWith(t, Options{SentinelConfig: conf})
		s.Sentinels = append(s.Sentinels, sn)
		addrs = append(addrs, sn.Addr)
	}
	for _, sn := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr})
		waitFor(ctx, t, "sentinel "+sn.Addr+" to see the master, its replica and the other sentinels", func() bool {
			m, err := sc.Master(ctx, s.MasterName).Result()
			return err == nil && m["num-slaves"] == strconv.Itoa(n) && m["num-other-sentinels"] == "2"
		})
		_ = sc.Close()
	}
	q := url.Values{"master_name": {s.MasterName}, "addr": addrs[1:]}
	s.URL = "redis://" + addrs[0] + "?" + q.Encode()
	return s
}

// skipUnmanaged skips a test that needs servers of its own.
func skipUnmanaged(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		t.Skip("testredis: Cluster and Sentinel need managed redis-servers (unset " + EnvURL + ")")
	}
}

// lookPath finds a binary the topologies need, or fails with how to get it.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("testredis: %s not found on PATH (%v); it comes with Debian's redis-server package, "+
			"which `make test` installs", name, err)
	}
	return p
}

// waitFor polls cond until it holds or ctx ends (then the test fails).
func waitFor(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("testredis: timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
