package session

import "testing"

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
		{"role:master\r\nconnected_slaves:0\r\nmaster_replid:x\r\n", false}, // replaced, or cut off: never alone without Sentinel
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
