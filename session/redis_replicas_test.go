package session

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestParseReplication(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:3\r\n" +
		"slave0:ip=127.0.0.1,port=7001,state=online,offset=120,lag=0\r\n" +
		"slave1:ip=127.0.0.1,port=7002,state=online,offset=100,lag=9\r\n" +
		"slave2:ip=127.0.0.1,port=7003,state=wait_bgsave,offset=0,lag=0\r\n" +
		"master_failover_state:no-failover\r\nmaster_replid:abc123\r\nmaster_replid2:0000\r\n"
	got := parseReplication(info)
	if got.role != "master" || got.replID != "abc123" || got.inSync != 1 {
		t.Fatalf("parseReplication = %+v, want master abc123 with 1 replica in sync (one lags 9 s, one is still copying)", got)
	}
	if r := parseReplication("role:slave\r\nmaster_link_status:up\r\n"); r.role != "slave" || r.inSync != 0 {
		t.Fatalf("a replica's INFO: %+v", r)
	}
}

func TestTrustMasterWithoutSentinel(t *testing.T) {
	g := &replicaGuard{min: 1}
	for _, tc := range []struct {
		info string
		ok   bool
	}{
		{"role:master\r\nslave0:ip=a,port=1,state=online,offset=1,lag=1\r\nmaster_replid:x\r\n", true},
		{"role:master\r\nconnected_slaves:0\r\nmaster_replid:x\r\n", false}, // replaced, or cut off: never covered without Sentinel
		{"role:slave\r\nmaster_replid:x\r\n", false},
		{"", false},
	} {
		if err := g.trustMaster(tc.info); (err == nil) != tc.ok {
			t.Errorf("trustMaster(%q) = %v, want trusted %v", tc.info, err, tc.ok)
		}
	}
}

func TestHasFlag(t *testing.T) {
	if !hasFlag("slave,s_down,disconnected", "o_down", "s_down") || hasFlag("master,fail?", "fail") || !hasFlag("master,fail?", "fail?") {
		t.Fatal("hasFlag matches whole flags only")
	}
}

// Behind Sentinel a master that had two replicas in sync and now has one is
// not believed until the sentinels agree the other is gone (here they cannot
// be reached): the other may have been promoted in its place, and the one
// left would confirm writes that the failover then throws away.
func TestJudgeMissesAReplicaThatLeft(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	g := newReplicaGuard(client, ReplicaOptions{Min: AutoReplicas, SentinelURL: "redis://127.0.0.1:1?master_name=m"})
	ctx := context.Background()
	two := replication{role: "master", replID: "old", inSync: 2}
	one := replication{role: "master", replID: "old", inSync: 1}
	if err := g.judge(ctx, two, 2); err != nil {
		t.Fatalf("two of two: %v", err)
	}
	if g.want(1) != 2 {
		t.Fatalf("WAIT must ask for both replicas seen, asks for %d", g.want(1))
	}
	if err := g.judge(ctx, one, 1); err == nil {
		t.Fatal("a master that lost one of its two replicas was believed without the sentinels")
	}
	if err := g.judge(ctx, two, 1); err == nil {
		t.Fatal("a write confirmed by one of two replicas was accepted")
	}
	if err := g.judge(ctx, replication{role: "master", replID: "new", inSync: 1}, 1); err != nil {
		t.Fatalf("a new master (another replication ID) with one replica: %v", err)
	}
}
