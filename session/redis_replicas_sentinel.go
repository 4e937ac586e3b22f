package session

import (
	"context"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// askSentinels asks every sentinel of the URL about the master and returns
// its replication ID and how many of its replicas are up and in sync, when
// they agree.
func (g *replicaGuard) askSentinels(ctx context.Context) (string, int, bool) {
	fo := g.sentinel
	master, answered, up := "", 0, 0
	for _, addr := range fo.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: fo.SentinelUsername,
			Password: fo.SentinelPassword, TLSConfig: fo.TLSConfig, DialTimeout: coverAskTimeout, MaxRetries: -1})
		v, err := sentinelView(ctx, sc, fo.MasterName)
		_ = sc.Close()
		if err != nil {
			continue
		}
		if v.busy || (master != "" && v.master != master) {
			return "", 0, false
		}
		master, up = v.master, max(up, v.up)
		answered++
	}
	if answered <= len(fo.SentinelAddrs)/2 {
		return "", 0, false
	}
	mc := redis.NewClient(&redis.Options{Addr: master, Username: fo.Username, Password: fo.Password,
		TLSConfig: fo.TLSConfig, DialTimeout: coverAskTimeout, MaxRetries: -1})
	defer mc.Close()
	info, err := mc.Info(ctx, "replication").Result()
	if err != nil {
		return "", 0, false
	}
	r := parseReplication(info)
	return r.replID, up, r.role == "master" && r.replID != ""
}

// sentinelSays is one sentinel's view of the master.
type sentinelSays struct {
	master string // its address
	busy   bool   // a failover is under way, or the master is down
	up     int    // replicas up and in sync
}

// sentinelView reads one sentinel's view. A replica counts when it is up,
// reports itself a replica and its link to the master is ok; not an old
// master that has yet to be turned into a replica (it reports itself
// master), nor one still waiting for its first copy (link "err").
func sentinelView(ctx context.Context, sc *redis.SentinelClient, name string) (sentinelSays, error) {
	m, err := sc.Master(ctx, name).Result()
	if err != nil {
		return sentinelSays{}, err
	}
	v := sentinelSays{master: net.JoinHostPort(m["ip"], m["port"]),
		busy: hasFlag(m["flags"], "failover_in_progress", "s_down", "o_down")}
	replicas, err := sc.Replicas(ctx, name).Result()
	if err != nil {
		return sentinelSays{}, err
	}
	for _, r := range replicas {
		if !hasFlag(r["flags"], "s_down", "o_down", "disconnected") && r["role-reported"] == "slave" &&
			r["master-link-status"] == "ok" {
			v.up++
		}
	}
	return v, nil
}

// hasFlag tells whether a comma-separated flag list holds one of names.
func hasFlag(flags string, names ...string) bool {
	for _, f := range strings.Split(flags, ",") {
		for _, n := range names {
			if f == n {
				return true
			}
		}
	}
	return false
}

// clusterNodeCovered tells whether the Cluster master node has at most acks
// replicas that are up and linked (none other could be promoted in its
// place).
func (g *replicaGuard) clusterNodeCovered(ctx context.Context, node redis.Cmdable, acks int) bool {
	text, err := node.ClusterNodes(ctx).Result()
	if err != nil {
		return false
	}
	myID := ""
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) >= 8 && hasFlag(f[2], "myself") {
			if !hasFlag(f[2], "master") {
				return false
			}
			myID = f[0]
		}
	}
	if myID == "" {
		return false
	}
	up := 0
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) >= 8 && f[3] == myID && !hasFlag(f[2], "fail", "fail?") && f[7] == "connected" {
			up++
		}
	}
	return up <= acks
}
