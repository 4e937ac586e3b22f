package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// renewLease probes Redis every localProbeEvery until the store closes.
func (l *localCopy) renewLease(ctx context.Context) {
	t := time.NewTicker(localProbeEvery)
	defer t.Stop()
	for {
		start := l.table.since()
		pctx, cancel := context.WithTimeout(ctx, localProbeTimeout)
		gen, err := l.probe(pctx)
		cancel()
		if err != nil {
			l.drop()
		} else {
			l.grant(gen, start+localLease)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// grant extends the lease to until, unless the copy was dropped since the
// probe's checks began (gen). A copy trusted again announces it: followers
// of the settings re-read what they may have missed.
func (l *localCopy) grant(gen uint64, until time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen == gen && l.lease.Swap(int64(until)) == 0 {
		l.announce()
	}
}

// drop empties the copy and ends the lease: until the next good probe,
// every check takes the round trip. Dropping a copy that was not trusted
// announces nothing (a tracker tries again every 10 ms while Redis is
// away).
func (l *localCopy) drop() {
	l.mu.Lock()
	l.gen++
	trusted := l.lease.Swap(0) != 0
	l.mu.Unlock()
	l.table.flush()
	l.memo.clear()
	if trusted {
		l.announce()
	}
}

// generation counts the drops.
func (l *localCopy) generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// probe checks that the copy can be trusted: in a Cluster, a tracker on
// every master there is now; on each tracker's server, the invalidation
// connection subscribed and the tracking connection announcing to it; each
// server a master (the one the copy was read from) trusted by the replica
// guard; and Redis's time. gen is the generation of the copy the checks
// vouch for: a copy dropped meanwhile (also by the checks themselves, when
// they set something up anew) gets no lease from this probe.
func (l *localCopy) probe(ctx context.Context) (gen uint64, err error) {
	// before any check: a drop while they run (a connection lost right
	// after it was looked at) must void this probe
	gen = l.generation()
	if l.cluster != nil {
		if err := l.followMasters(ctx); err != nil {
			return 0, err
		}
	}
	trackers := *l.trackers.Load()
	if len(trackers) == 0 {
		return 0, errors.New("no tracker yet")
	}
	repls := make([]string, len(trackers))
	for i, t := range trackers {
		if repls[i], err = t.connections(ctx); err != nil {
			return 0, err
		}
		t.checkMaster(repls[i])
	}
	for _, repl := range repls {
		if err := l.checkServer(repl); err != nil {
			return 0, err
		}
	}
	if l.main != nil {
		if err := l.followMain(ctx, repls[0]); err != nil {
			return 0, err
		}
	}
	clocks := make([]clockSample, len(trackers))
	for i, t := range trackers {
		if clocks[i], err = t.clock(ctx); err != nil {
			return 0, err
		}
	}
	l.addSample(combineClocks(clocks))
	return gen, nil
}

// followMasters keeps one tracker on every master of the Cluster: when the
// masters change (a failover, a node added), the trackers are replaced and
// the copy empties.
func (l *localCopy) followMasters(ctx context.Context) error {
	var mu sync.Mutex
	var masters []*redis.Options
	err := l.cluster.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
		mu.Lock()
		masters = append(masters, m.Options())
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	addrs := make([]string, len(masters))
	for i, o := range masters {
		addrs[i] = o.Addr
	}
	slices.Sort(addrs)
	old := *l.trackers.Load()
	if slices.Equal(addrs, trackerAddrs(old)) {
		return nil
	}
	fresh := make([]*tracker, len(masters))
	for i, o := range masters {
		fresh[i] = newTracker(l, *o)
	}
	l.trackers.Store(&fresh)
	l.drop()
	for _, t := range old {
		_ = t.close()
	}
	return errors.New("the Cluster's masters changed")
}

// followMain checks that the tracker's server (whose INFO replication is
// repl) is the master the store's client writes to, by replication ID: behind
// Sentinel, the tracker's connections may still reach an old master that a
// partition keeps up, while the store's client has followed the failover.
// When they differ, the tracker is replaced (its clients ask Sentinel anew)
// and the copy empties.
func (l *localCopy) followMain(ctx context.Context, repl string) error {
	mainRepl, err := l.main.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if infoField(mainRepl, "master_replid") == infoField(repl, "master_replid") {
		return nil
	}
	old := *l.trackers.Load()
	fresh := []*tracker{newTracker(l, *l.main.Options())}
	l.trackers.Store(&fresh)
	l.drop()
	for _, t := range old {
		_ = t.close()
	}
	return errors.New("the copy's server is not the master the store writes to")
}

// trackerAddrs lists the trackers' addresses, sorted.
func trackerAddrs(ts []*tracker) []string {
	addrs := make([]string, len(ts))
	for i, t := range ts {
		addrs[i] = t.addr
	}
	slices.Sort(addrs)
	return addrs
}

// checkServer judges a server from its INFO replication: a master,
// trusted by the replica guard.
func (l *localCopy) checkServer(repl string) error {
	if infoField(repl, "role") != "master" {
		return errors.New("redis is not a master")
	}
	if l.trust != nil {
		return l.trust(repl)
	}
	return nil
}

// infoField reads one field of an INFO section.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
