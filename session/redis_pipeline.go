package session

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// scriptPipeliner runs one Lua script for many concurrent callers, sending
// the calls that arrive while earlier ones are on the wire together in one
// pipeline (automatic pipelining). Every call is still exactly one EVALSHA,
// but under load Redis and the gateway each pay one read and one write system
// call per batch instead of per request — on a busy gateway most of Redis's
// CPU per request. A caller that finds a free pipeline sends at once, so a
// lone request waits for nobody. There are no background goroutines: the
// caller that finishes a pipeline hands the calls that queued meanwhile to a
// new goroutine, which sends them and exits.
type scriptPipeliner struct {
	client redis.UniversalClient
	script *redis.Script
	// max is the number of pipelines in flight at once.
	max int
	// trust, when set, judges the server that answered each batch from its
	// INFO replication (sent first in the same pipeline); a batch it
	// distrusts fails (see replicaGuard.trustMaster).
	trust func(info string) error

	mu       sync.Mutex
	inflight int
	pending  []*scriptCall
}

// scriptCall is one caller's run of the script.
type scriptCall struct {
	keys []string
	args []any
	res  []any
	err  error
	done chan struct{}
}

// maxBatch bounds the calls sent in one pipeline.
const maxBatch = 256

func newScriptPipeliner(client redis.UniversalClient, script *redis.Script, pipelines int) *scriptPipeliner {
	return &scriptPipeliner{client: client, script: script, max: pipelines}
}

// Run runs the script with keys and args and returns its reply as a slice.
func (p *scriptPipeliner) Run(ctx context.Context, keys []string, args ...any) ([]any, error) {
	c := &scriptCall{keys: keys, args: args, done: make(chan struct{})}
	p.mu.Lock()
	if p.inflight < p.max {
		p.inflight++
		batch := append(p.takePending(), c)
		p.mu.Unlock()
		p.send(batch)
		p.handOff()
	} else {
		p.pending = append(p.pending, c)
		p.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// takePending removes up to maxBatch queued calls; p.mu is held.
func (p *scriptPipeliner) takePending() []*scriptCall {
	n := min(len(p.pending), maxBatch)
	batch := make([]*scriptCall, n, n+1)
	copy(batch, p.pending)
	p.pending = p.pending[n:]
	if len(p.pending) == 0 {
		p.pending = nil
	}
	return batch
}

// handOff gives the pipeline slot just freed to the calls that queued while
// it was busy, on a new goroutine (the caller has its own request to answer).
func (p *scriptPipeliner) handOff() {
	p.mu.Lock()
	if len(p.pending) == 0 {
		p.inflight--
		p.mu.Unlock()
		return
	}
	batch := p.takePending()
	p.mu.Unlock()
	go func() {
		p.send(batch)
		p.handOff()
	}()
}

// send runs a batch in one pipeline (a second one loads the script if Redis
// does not know it yet) and completes every call. The pipeline is not bound
// to any caller's context: the client's read and write timeouts bound it,
// and a caller that gives up simply stops waiting.
func (p *scriptPipeliner) send(batch []*scriptCall) {
	ctx := context.Background()
	if len(batch) == 1 && p.trust == nil { // alone: a plain EVALSHA costs fewer allocations than a pipeline
		c := batch[0]
		c.res, c.err = p.script.Run(ctx, p.client, c.keys, c.args...).Slice()
		close(c.done)
		return
	}
	cmds, err := p.exec(ctx, batch, p.script.EvalSha)
	if err != nil {
		for _, c := range batch {
			c.err = err
			close(c.done)
		}
		return
	}
	var retry []*scriptCall
	var retryAt []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry, retryAt = append(retry, batch[i]), append(retryAt, i)
		}
	}
	if len(retry) > 0 {
		again, err := p.exec(ctx, retry, p.script.Eval)
		for j, cmd := range again {
			if err != nil {
				cmd.SetErr(err)
			}
			cmds[retryAt[j]] = cmd
		}
	}
	for i, c := range batch {
		c.res, c.err = cmds[i].Slice()
		close(c.done)
	}
}

// exec sends one pipeline of the batch's calls; its error is set when trust
// distrusts the server (or its INFO failed), when no reply may be used.
func (p *scriptPipeliner) exec(ctx context.Context, batch []*scriptCall,
	run func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) ([]*redis.Cmd, error) {
	pipe := p.client.Pipeline()
	var info *redis.StringCmd
	if p.trust != nil {
		info = pipe.Info(ctx, "replication")
	}
	cmds := make([]*redis.Cmd, len(batch))
	for i, c := range batch {
		cmds[i] = run(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // every command carries its own error
	if info != nil {
		if err := info.Err(); err != nil {
			return cmds, err
		}
		if err := p.trust(info.Val()); err != nil {
			return cmds, err
		}
	}
	return cmds, nil
}
