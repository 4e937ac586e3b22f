package session

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// loneFor is how long a master found alone is trusted without asking
	// the sentinels again.
	loneFor = time.Second
	// loneAskEvery bounds how often the sentinels are asked.
	loneAskEvery = 200 * time.Millisecond
	// loneAskTimeout bounds one round of questions to the sentinels.
	loneAskTimeout = time.Second
)

// replication is what INFO replication says of the server that sent it.
type replication struct {
	role string
	// replID is the server's replication ID: a replica promoted to master
	// starts a new one, so it tells the new master from the old.
	replID string
	// inSync counts replicas online whose last confirmation is at most
	// maxReplicaLag seconds old.
	inSync int
}

func parseReplication(info string) replication {
	var r replication
	for info != "" { // without allocating: this runs once per batch of checks
		var line string
		line, info, _ = strings.Cut(info, "\n")
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "role:"); ok {
			r.role = v
			continue
		}
		if v, ok := strings.CutPrefix(line, "master_replid:"); ok {
			r.replID = v
			continue
		}
		if !strings.HasPrefix(line, "slave") || !strings.Contains(line, "state=online") {
			continue
		}
		_, lag, ok := strings.Cut(line, ",lag=")
		lag, _, _ = strings.Cut(lag, ",")
		if n, err := strconv.Atoi(lag); ok && err == nil && n <= maxReplicaLag {
			r.inSync++
		}
	}
	return r
}

// guardsChecks tells whether checks must ask the master for its replicas:
// outside a Cluster, when replicas must confirm. (A Cluster master cut off
// from the majority refuses commands once the cluster marks it failed, and
// a Cluster's own manual failover waits for the replica to catch up.)
func (g *replicaGuard) guardsChecks() bool {
	return g.cluster == nil && g.min > 0
}

// trustMaster judges the server that answered a batch of checks from its
// INFO replication: a master with min replicas in sync, or one that the
// sentinels agree is alone.
func (g *replicaGuard) trustMaster(info string) error {
	r := parseReplication(info)
	if r.role != "master" {
		return fmt.Errorf("the server answering is a %q, not the master: %w", r.role, errNotEnoughReplicas)
	}
	if r.inSync >= g.min {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), loneAskTimeout)
	defer cancel()
	if g.alone(ctx, r) {
		return nil
	}
	return fmt.Errorf("the master has %d of %d replicas in sync and is not known to be alone: %w",
		r.inSync, g.min, errNotEnoughReplicas)
}

// loneMaster is the last master the sentinels agreed is alone.
type loneMaster struct {
	mu      sync.Mutex
	replID  string
	until   time.Time
	askedAt time.Time
}

// alone tells whether the master that sent r may go on without its
// replicas: every sentinel that answers (a majority of those in the URL
// must) names it the master, none has a failover under way, and none knows
// a replica of it that is up and in sync. Then no replica could be
// promoted in its place, so nothing it confirms can be lost to a failover;
// and a master that a failover has replaced is never it (the sentinels name
// the new one, whose replication ID differs). Without Sentinel it is never
// alone.
func (g *replicaGuard) alone(ctx context.Context, r replication) bool {
	if g.sentinel == nil || r.role != "master" || r.replID == "" {
		return false
	}
	l := &g.lone
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.replID != "" && now.Before(l.until) {
		return l.replID == r.replID
	}
	if now.Sub(l.askedAt) < loneAskEvery {
		return false
	}
	l.askedAt = now
	id, ok := g.askSentinels(ctx)
	if !ok {
		l.replID = ""
		return false
	}
	l.replID, l.until = id, now.Add(loneFor)
	return id == r.replID
}

// waitTimeout is how long a WAIT waits: briefly while the master was found
// alone a moment ago (if a replica is back meanwhile, the short WAIT fails,
// alone says no, and the next try waits in full).
func (g *replicaGuard) waitTimeout() time.Duration {
	l := &g.lone
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.replID != "" && time.Now().Before(l.until) {
		return loneWait
	}
	return replicaWait
}

// askSentinels asks every sentinel of the URL about the master and returns
// its replication ID when they agree it is alone.
func (g *replicaGuard) askSentinels(ctx context.Context) (string, bool) {
	fo := g.sentinel
	master, answered := "", 0
	for _, addr := range fo.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: fo.SentinelUsername,
			Password: fo.SentinelPassword, TLSConfig: fo.TLSConfig, DialTimeout: loneAskTimeout, MaxRetries: -1})
		addr, alone, err := sentinelSaysAlone(ctx, sc, fo.MasterName)
		_ = sc.Close()
		if err != nil {
			continue
		}
		if !alone || (master != "" && addr != master) {
			return "", false
		}
		master = addr
		answered++
	}
	if answered <= len(fo.SentinelAddrs)/2 {
		return "", false
	}
	mc := redis.NewClient(&redis.Options{Addr: master, Username: fo.Username, Password: fo.Password,
		TLSConfig: fo.TLSConfig, DialTimeout: loneAskTimeout, MaxRetries: -1})
	defer mc.Close()
	info, err := mc.Info(ctx, "replication").Result()
	if err != nil {
		return "", false
	}
	r := parseReplication(info)
	return r.replID, r.role == "master" && r.replID != ""
}

// sentinelSaysAlone reads one sentinel's view: the master's address, and
// whether it has no failover under way and no replica up and replicating.
func sentinelSaysAlone(ctx context.Context, sc *redis.SentinelClient, name string) (string, bool, error) {
	m, err := sc.Master(ctx, name).Result()
	if err != nil {
		return "", false, err
	}
	addr := net.JoinHostPort(m["ip"], m["port"])
	if hasFlag(m["flags"], "failover_in_progress", "s_down", "o_down", "promoted") {
		return addr, false, nil
	}
	replicas, err := sc.Replicas(ctx, name).Result()
	if err != nil {
		return "", false, err
	}
	for _, r := range replicas {
		// a replica up and in sync; not an old master that has yet to be
		// turned into a replica (it reports itself master), nor one still
		// waiting for its first copy (link "err"), which holds no more than
		// what its master had before
		if !hasFlag(r["flags"], "s_down", "o_down", "disconnected") && r["role-reported"] == "slave" &&
			r["master-link-status"] == "ok" {
			return addr, false, nil
		}
	}
	return addr, true, nil
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

// clusterNodeAlone tells whether the Cluster master node has no replica
// that is up and linked (so none could be promoted in its place).
func (g *replicaGuard) clusterNodeAlone(ctx context.Context, node redis.Cmdable) bool {
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
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) >= 8 && f[3] == myID && !hasFlag(f[2], "fail", "fail?") && f[7] == "connected" {
			return false
		}
	}
	return true
}
