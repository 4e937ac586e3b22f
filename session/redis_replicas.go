package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// AutoReplicas lets the Redis store choose ReplicaOptions.Min from the
// deployment: 1 behind Sentinel, 1 in a Cluster whose every master has a
// replica, 0 otherwise.
const AutoReplicas = -1

// ReplicaOptions make the Redis store's revocations survive a failover.
// Redis replicates asynchronously: a write the master acknowledged may be
// missing on the replica promoted in its place (a master killed), and a
// master that a graceful failover has already replaced keeps taking writes
// until it learns so, which are then thrown away. Either way a sign-out
// would be undone. So every write that starts or ends a session, or that a
// revocation relies on (the user directory, the provider-session index, the
// organisation's timer), and every read that decides what a revocation
// ends, is followed on the same connection by WAIT; it counts only when
// enough replicas confirm it, and is tried again (the client may meanwhile
// have found the new master) until writeBudget, then the store is
// unavailable (fail closed). Outside a Cluster, a master is also believed
// (checks, and the WAITed commands) only while it has enough replicas in
// sync, confirmed within maxReplicaLag. Enough is Min; behind Sentinel, also
// as many as the master has had in sync: a replica that leaves it may have
// been promoted in its place, and the others would confirm writes there
// that the failover throws away. Fewer are enough only when the sentinels
// agree that no other replica could be promoted (replicaGuard.covered).
type ReplicaOptions struct {
	// Min is how many replicas must confirm; 0 turns the guard off;
	// AutoReplicas (negative) decides from the deployment.
	Min int
	// SentinelURL is the store's URL when the client finds its master
	// through Sentinel: the guard counts the master's replicas and asks the
	// sentinels when some are missing.
	SentinelURL string
}

const (
	// replicaWait bounds one WAIT for the replicas' confirmation.
	replicaWait = 500 * time.Millisecond
	// coveredWait bounds it while the sentinels agree the master has fewer
	// replicas than it had: no more confirmations are coming.
	coveredWait = 5 * time.Millisecond
	// writeBudget bounds the tries of one guarded write: about the time a
	// client needs to learn of a new master from Sentinel.
	writeBudget = 3 * time.Second
	// retryPause separates the tries of one guarded write.
	retryPause = 100 * time.Millisecond
	// maxReplicaLag is the oldest last confirmation (INFO's lag, whole
	// seconds) of a replica that still counts as in sync.
	maxReplicaLag = 5
	// maxScriptLoads bounds reloading a script a node does not know.
	maxScriptLoads = 2
	// clusterRecheck is how often a Cluster found without replicas is asked
	// again whether it has some.
	clusterRecheck = 10 * time.Second
)

// errNotEnoughReplicas is why a guarded write or a distrusted master failed.
var errNotEnoughReplicas = errors.New("not enough replicas confirmed")

// replicaGuard applies ReplicaOptions to one client.
type replicaGuard struct {
	client  redis.UniversalClient
	cluster *redis.ClusterClient
	// sentinel is set behind Sentinel (from ReplicaOptions.SentinelURL).
	sentinel *redis.FailoverOptions

	mu        sync.Mutex
	resolved  bool
	min       int
	recheckAt time.Time // when a Cluster found without replicas is asked again

	// mark is the most replicas in sync seen on the current master
	// (behind Sentinel): fewer later means a replica left it, perhaps
	// promoted in its place, until the sentinels say otherwise.
	mark highWater

	// cover remembers the sentinels' last agreed view (see covered).
	cover sentinelCover
}

func newReplicaGuard(client redis.UniversalClient, opts ReplicaOptions) *replicaGuard {
	g := &replicaGuard{client: client}
	g.cluster, _ = client.(*redis.ClusterClient)
	if opts.SentinelURL != "" {
		if fo, err := redis.ParseFailoverURL(opts.SentinelURL); err == nil {
			g.sentinel = fo
		}
	}
	switch {
	case opts.Min >= 0:
		g.min, g.resolved = opts.Min, true
	case g.sentinel != nil:
		g.min, g.resolved = 1, true
	case g.cluster == nil:
		g.min, g.resolved = 0, true
	}
	return g
}

// need is how many replicas must confirm a write (at least; see want). In a
// Cluster left to AutoReplicas it asks the Cluster whether it has replicas
// (again every clusterRecheck while it has none).
func (g *replicaGuard) need(ctx context.Context) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.resolved || (g.min == 0 && time.Now().Before(g.recheckAt)) {
		return g.min, nil
	}
	// replicas configured, up or not: one that is down now comes back
	nodes, err := g.cluster.ClusterNodes(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("read the cluster's replicas: %w", err)
	}
	g.min = 0
	for _, line := range strings.Split(nodes, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && hasFlag(f[2], "slave") {
			g.min = 1
		}
	}
	// a Cluster without replicas now may be given some later
	g.resolved, g.recheckAt = g.min > 0, time.Now().Add(clusterRecheck)
	return g.min, nil
}

// guardedWrite is one write for replicaGuard.run: the commands to queue,
// and the script they run, if any (loaded again where a node lacks it).
type guardedWrite struct {
	key    string
	queue  func(p redis.Pipeliner)
	script *redis.Script
	// reply, when set, sees the first command of every try that Redis
	// carried out, confirmed or not (a retried script may find less to do
	// the second time).
	reply func(redis.Cmder)
}

// run carries out w on the master that holds w.key and, when replicas must
// confirm, WAITs for them on the same connection, trying again until
// writeBudget (without replicas to wait for, a failure is returned at once,
// as before). The caller's queue keeps the commands of the last try.
func (g *replicaGuard) run(ctx context.Context, w guardedWrite) error {
	need, err := g.need(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(writeBudget)
	loads := 0
	for {
		err := g.try(ctx, w, need)
		switch {
		case err == nil:
			return nil
		case redis.HasErrorPrefix(err, "NOSCRIPT") && w.script != nil && loads < maxScriptLoads:
			loads++
			if err = g.load(ctx, w); err == nil {
				continue
			}
		case ctx.Err() != nil || need == 0:
			return err
		}
		if time.Now().Add(retryPause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryPause):
		}
	}
}

// masterOf is where w.key's commands go: the client itself, or in a
// Cluster the master that holds the key (so that WAIT is asked of it).
func (g *replicaGuard) masterOf(ctx context.Context, key string) (redis.Cmdable, error) {
	if g.cluster == nil {
		return g.client, nil
	}
	n, err := g.cluster.MasterForKey(ctx, key)
	if err != nil {
		g.cluster.ReloadState(ctx)
		return nil, err
	}
	return n, nil
}

// try runs w once on the master that holds its key, then WAIT.
func (g *replicaGuard) try(ctx context.Context, w guardedWrite, need int) error {
	var node redis.Cmdable = g.client
	if need > 0 { // with nothing to wait for, a Cluster client routes (and follows MOVED, ASK)
		n, err := g.masterOf(ctx, w.key)
		if err != nil {
			return err
		}
		node = n
	}
	var info *redis.StringCmd
	var wait *redis.Cmd
	cmds, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
		if need > 0 && g.cluster == nil {
			info = p.Info(ctx, "replication")
		}
		w.queue(p)
		if need > 0 {
			wait = p.Do(ctx, "WAIT", g.want(need), g.waitTimeout().Milliseconds())
		}
		return nil
	})
	if info != nil {
		cmds = cmds[1:]
	}
	if len(cmds) > 0 && cmds[0].Err() == nil && w.reply != nil {
		w.reply(cmds[0]) // the first of w's own commands
	}
	if errors.Is(err, redis.Nil) {
		err = nil // a key not found is an answer; each command keeps its own
	}
	if err != nil {
		if g.cluster != nil {
			// moved, or the node is gone (a failover): learn the slots again
			g.cluster.ReloadState(ctx)
		}
		return err
	}
	if need == 0 {
		return nil
	}
	n, _ := wait.Int64()
	acks := int(n)
	if g.cluster == nil {
		return g.judge(ctx, parseReplication(info.Val()), acks)
	}
	// fewer confirmed: fine only when no more replicas of this master are up
	// (nothing else could be promoted in its place)
	if acks >= need || g.clusterNodeCovered(ctx, node, acks) {
		return nil
	}
	return fmt.Errorf("%d of %d replicas confirmed: %w", acks, need, errNotEnoughReplicas)
}

// load loads w's script on the master that holds w.key.
func (g *replicaGuard) load(ctx context.Context, w guardedWrite) error {
	node, err := g.masterOf(ctx, w.key)
	if err != nil {
		return err
	}
	return w.script.Load(ctx, node).Err()
}

// trustedRead runs the reads queue queues under the guard, so that they are
// answered by a master that holds every confirmed write: what decides which
// sessions a revocation ends must not come from a master that a failover
// has replaced. (WAIT after reads only counts the replicas attached; the
// INFO replication sent with them tells which are in sync.)
func (r *RedisStore) trustedRead(ctx context.Context, key string, queue func(p redis.Pipeliner)) error {
	return r.guard.run(ctx, guardedWrite{key: key, queue: queue})
}

// runScript runs script on keys under the guard and returns its reply.
func (r *RedisStore) runScript(ctx context.Context, script *redis.Script, keys []string, args []any,
	reply func(redis.Cmder)) (*redis.Cmd, error) {
	var cmd *redis.Cmd
	err := r.guard.run(ctx, guardedWrite{
		key:    keys[0],
		script: script,
		reply:  reply,
		queue: func(p redis.Pipeliner) {
			cmd = script.EvalSha(ctx, p, keys, args...)
		},
	})
	if err != nil {
		return nil, err
	}
	return cmd, nil
}
