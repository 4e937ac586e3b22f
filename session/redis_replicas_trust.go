package session

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// coverFor is how long the sentinels' agreed view is used without
	// asking them again.
	coverFor = time.Second
	// coverAskEvery bounds how often the sentinels are asked.
	coverAskEvery = 200 * time.Millisecond
	// coverAskTimeout bounds one round of questions to the sentinels.
	coverAskTimeout = time.Second
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
// INFO replication (see judge).
func (g *replicaGuard) trustMaster(info string) error {
	r := parseReplication(info)
	ctx, cancel := context.WithTimeout(context.Background(), coverAskTimeout)
	defer cancel()
	return g.judge(ctx, r, r.inSync)
}

// highWater is the most replicas in sync seen on one master.
type highWater struct {
	mu     sync.Mutex
	replID string
	n      int
}

// of returns the mark of the master with replID (0 for a new master: it
// starts its own count).
func (m *highWater) of(replID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replID != replID {
		m.replID, m.n = replID, 0
	}
	return m.n
}

// set moves the mark of the master with replID to n (up when more are in
// sync, down when the sentinels agree the others are gone).
func (m *highWater) set(replID string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replID == replID {
		m.n = n
	}
}

// want is how many replicas must confirm: min, or behind Sentinel as many
// as the current master has had in sync, so that a replica that leaves it
// (promoted by a failover, and the master not yet told) is missed.
func (g *replicaGuard) want(min int) int {
	if g.sentinel == nil {
		return min
	}
	g.mark.mu.Lock()
	defer g.mark.mu.Unlock()
	return max(min, g.mark.n)
}

// judge tells whether the answers of the server that sent r (outside a
// Cluster) may be believed, confirmed by acks replicas (its WAIT reply, or
// its replicas in sync for reads): a master with enough replicas in sync
// and confirming, or one whose sentinels agree that no other replica could
// be promoted in its place (see covered).
func (g *replicaGuard) judge(ctx context.Context, r replication, acks int) error {
	if r.role != "master" {
		return fmt.Errorf("the server answering is a %q, not the master: %w", r.role, errNotEnoughReplicas)
	}
	have := min(acks, r.inSync)
	if g.sentinel == nil {
		if have >= g.min {
			return nil
		}
		return fmt.Errorf("%d of %d replicas in sync and confirming: %w", have, g.min, errNotEnoughReplicas)
	}
	want := max(g.min, g.mark.of(r.replID))
	if have >= want {
		g.mark.set(r.replID, have)
		g.cover.forgetBelow(have)
		return nil
	}
	if g.covered(ctx, r, have) {
		g.mark.set(r.replID, have)
		return nil
	}
	return fmt.Errorf("%d of %d replicas in sync and confirming, and the sentinels do not agree the others are gone: %w",
		have, want, errNotEnoughReplicas)
}

// sentinelCover is the sentinels' last agreed view of the master.
type sentinelCover struct {
	mu      sync.Mutex
	replID  string
	up      int // replicas the sentinels know up and in sync
	until   time.Time
	askedAt time.Time
}

// forgetBelow drops the sentinels' view when a master has more replicas in
// sync than it says (a replica is back): the next shortfall asks again.
func (l *sentinelCover) forgetBelow(have int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.replID != "" && have > l.up {
		l.replID = ""
	}
}

// covered tells whether have replicas of the master that sent r are all
// that could be promoted in its place: every sentinel that answers (a
// majority of those in the URL must) names it the master, none has a
// failover under way, and none knows more than have replicas of it up and
// in sync. A master that a failover has replaced is never covered: the
// sentinels name the new one, whose replication ID differs. Without
// Sentinel nothing is covered. The view is remembered for coverFor.
func (g *replicaGuard) covered(ctx context.Context, r replication, have int) bool {
	if g.sentinel == nil || r.role != "master" || r.replID == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, coverAskTimeout)
	defer cancel()
	l := &g.cover
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.replID != "" && now.Before(l.until) {
		return l.replID == r.replID && have >= l.up
	}
	if now.Sub(l.askedAt) < coverAskEvery {
		return false
	}
	l.askedAt = now
	id, up, ok := g.askSentinels(ctx)
	if !ok {
		l.replID = ""
		return false
	}
	l.replID, l.up, l.until = id, up, now.Add(coverFor)
	return id == r.replID && have >= up
}

// waitTimeout is how long a WAIT waits: briefly while the sentinels agreed
// a moment ago that the master has fewer replicas than it had (no more
// confirmations are coming; if a replica is back meanwhile, the short WAIT
// falls short, covered says no, and the next try waits in full).
func (g *replicaGuard) waitTimeout() time.Duration {
	l := &g.cover
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.replID != "" && time.Now().Before(l.until) {
		return coveredWait
	}
	return replicaWait
}
