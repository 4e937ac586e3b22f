package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/background"
)

// storeHealth is the Redis store's own circuit breaker. When a command fails
// because Redis cannot be reached, every store call fails at once (no dial,
// no retry) while a single background probe pings Redis every probeInterval;
// the first answer closes the breaker, so service resumes evenly within one
// probe interval of Redis coming back.
//
// Why not go-redis's: its pool counts failed dials, and once PoolSize of them
// have failed it serves the last dial error to every caller until a probe,
// run once a second, succeeds. Measured under load with a Redis restart, that
// kept refusing requests for up to a second after Redis was back, and
// refused some again after others had already succeeded (the e2e fault test
// saw a navigation get 503 after service had resumed). Failing fast here
// keeps the pool from counting an outage's failures in the first place, and
// the probe uses a client of its own whose breaker cannot trip.
type storeHealth struct {
	probeClient redis.UniversalClient // pings; nil = the store's client
	main        redis.UniversalClient
	interval    time.Duration

	down    atomic.Bool
	lastErr atomic.Pointer[error] // error that opened the breaker
	// onDown, when set, runs when the breaker opens (the local copy empties)
	onDown  func()
	mu      sync.Mutex
	probing bool
	// background runs the probe; close stops it
	background *background.Group
}

// probeInterval is how often a down Redis is pinged.
const probeInterval = 100 * time.Millisecond

func newStoreHealth(main redis.UniversalClient) *storeHealth {
	return &storeHealth{main: main, probeClient: newProbeClient(main), interval: probeInterval,
		background: background.New()}
}

// newProbeClient returns a client with the main client's address and
// credentials whose own dial breaker never trips (it holds at most one
// connection, so a pool size of a million costs nothing) and that does not
// retry: each probe is one PING. A Cluster has none: answers pings every
// master through the main client.
func newProbeClient(main redis.UniversalClient) redis.UniversalClient {
	c, ok := main.(*redis.Client)
	if !ok {
		return nil
	}
	o := *c.Options()
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns, o.MaxRetries = 1<<20, 0, 1, -1
	o.PushNotificationProcessor = nil // the main client's; a new client makes its own
	return redis.NewClient(&o)
}

// ready fails at once while the breaker is open.
func (h *storeHealth) ready() error {
	if !h.down.Load() {
		return nil
	}
	err := errors.New("redis unreachable")
	if last := h.lastErr.Load(); last != nil {
		err = *last
	}
	return fmt.Errorf("waiting for redis to answer again: %w", err)
}

// failed opens the breaker when err says Redis could not be reached (not
// when Redis answered with an error, or the caller gave up).
func (h *storeHealth) failed(err error) {
	if !unreachable(err) {
		return
	}
	h.lastErr.Store(&err) // a pointer: errors of different types follow each other
	if !h.down.Swap(true) && h.onDown != nil {
		h.onDown()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.probing {
		return
	}
	h.probing = h.background.Go(h.probe)
}

// probe pings until Redis answers through the probe client and then through
// the main client (whose own breaker may have tripped before this one did),
// then closes the breaker.
func (h *storeHealth) probe(ctx context.Context) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		if h.answers(ctx) {
			h.mu.Lock()
			h.down.Store(false)
			h.probing = false
			h.mu.Unlock()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// answers tells whether Redis answers the probe client and then the main
// client (whose own breaker may have tripped before this one did). In a
// Cluster, every master must answer, after the clients have learnt the
// slots again (a failover may have moved some).
func (h *storeHealth) answers(ctx context.Context) bool {
	if c, ok := h.main.(*redis.ClusterClient); ok {
		c.ReloadState(ctx)
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() }) == nil
	}
	return h.ping(ctx, h.probeClient) == nil && h.ping(ctx, h.main) == nil
}

func (h *storeHealth) ping(ctx context.Context, c redis.UniversalClient) error {
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// close stops the probe, waits for it to end, and closes the probe client.
func (h *storeHealth) close() error {
	h.background.Stop()
	if h.probeClient != nil {
		return h.probeClient.Close()
	}
	return nil
}

// unreachable reports an error that means Redis did not answer: a network
// error, a closed connection, a timeout, or Redis refusing to serve
// (LOADING, MASTERDOWN, CLUSTERDOWN). Replies of a working Redis and a
// caller's cancellation do not count.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, redis.Nil) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "READONLY"} {
			if redis.HasErrorPrefix(err, p) {
				return true
			}
		}
		return false
	}
	return !errors.Is(err, context.DeadlineExceeded)
}

// The breaker is a go-redis hook on the store's client, so that every
// command and pipeline passes it before reaching the connection pool.

// DialHook implements redis.Hook; dials pass through.
func (h *storeHealth) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook: while the breaker is open a command
// fails at once (the probe's PING and connection set-up excepted); a command that finds Redis
// unreachable opens it.
func (h *storeHealth) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := h.ready(); err != nil && !connectionCommand(cmd.Name()) {
			cmd.SetErr(err)
			return err
		}
		err := next(ctx, cmd)
		h.failed(err)
		return err
	}
}

// connectionCommand reports the commands go-redis sends to set up a new
// connection (they pass the hook too) and the probe's PING: the breaker must
// not fail them, or no connection could be made to find Redis back.
func connectionCommand(name string) bool {
	switch name {
	case "ping", "hello", "auth", "select", "client", "readonly":
		return true
	}
	return false
}

// ProcessPipelineHook implements redis.Hook for pipelines.
func (h *storeHealth) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := h.ready(); err != nil && !(len(cmds) > 0 && connectionCommand(cmds[0].Name())) {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		err := next(ctx, cmds)
		if err == nil {
			for _, c := range cmds { // a pipeline reports per command
				if cerr := c.Err(); unreachable(cerr) {
					err = cerr
					break
				}
			}
		}
		h.failed(err)
		return err
	}
}
