package session

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/internal/testredis"
)

// pipelineHook counts round trips that carry scripts (a lone call is sent
// as a plain command) and the scripts in them; a new connection's set-up is
// left out.
type pipelineHook struct{ pipelines, commands atomic.Int64 }

func (h *pipelineHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			h.pipelines.Add(1)
			h.commands.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (h *pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		n := 0
		for _, c := range cmds {
			if name := c.Name(); name == "evalsha" || name == "eval" {
				n++
			}
		}
		if n > 0 {
			h.pipelines.Add(1)
			h.commands.Add(int64(n))
		}
		return next(ctx, cmds)
	}
}

// Concurrent checks by script (without the local copy) share pipelines,
// each caller gets its own session's answer, and every check is still
// exactly one command.
func TestConcurrentChecksArePipelined(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	clock := testclock.New()
	st := NewRedisStore(client, Options{Clock: clock.Now, LocalCache: LocalCacheOptions{Off: true}})
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	ls := LimitTable{Default: Limits{Idle: time.Hour}}
	const callers, rounds = 48, 40
	refs := make([]Ref, callers)
	for i := range refs {
		s := &Session{ID: NewID(), UserKey: UserKey("iss", "pipelined"), Subject: "pipelined"}
		if _, err := st.Create(ctx, s, ls, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		refs[i] = s.Ref()
		clock.Advance(time.Millisecond) // every session has its own sign-in time
	}
	if _, err := st.Check(ctx, refs[0], ls, false); err != nil { // loads the script
		t.Fatal(err)
	}
	hook := &pipelineHook{}
	client.AddHook(hook)
	var wg sync.WaitGroup
	errs := make(chan error, callers*rounds)
	for i := range callers {
		wg.Go(func() {
			for range rounds {
				res, err := st.Check(ctx, refs[i], ls, false)
				switch {
				case err != nil:
					errs <- err
				case !res.Valid || res.Session.CreatedAt.UnixMilli() != refs[i].CreatedAt:
					errs <- errWrongAnswer
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	pipelines, commands := hook.pipelines.Load(), hook.commands.Load()
	if commands != callers*rounds {
		t.Fatalf("%d commands for %d checks", commands, callers*rounds)
	}
	if pipelines >= commands {
		t.Fatalf("no batching: %d round trips for %d checks", pipelines, commands)
	}
	t.Logf("%d checks in %d round trips (%.1f per round trip)", commands, pipelines, float64(commands)/float64(pipelines))
}

var errWrongAnswer = &wrongAnswer{}

type wrongAnswer struct{}

func (*wrongAnswer) Error() string { return "a check got another session's answer" }

// A Redis that forgot the script (restart, SCRIPT FLUSH) gets it again
// within the same check.
func TestPipelinedCheckReloadsFlushedScript(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	st := NewRedisStore(client, Options{})
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	ls := LimitTable{Default: Limits{Idle: time.Hour}}
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "flush"), Subject: "flush"}
	if _, err := st.Create(ctx, s, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if res, err := st.Check(ctx, s.Ref(), ls, true); err != nil || !res.Valid {
					t.Errorf("check after SCRIPT FLUSH: %+v %v", res, err)
				}
			})
		}
		wg.Wait()
	}
}

// A caller whose context ends stops waiting for a queued check.
func TestQueuedCheckHonoursContext(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	p := newScriptPipeliner(client, redis.NewScript(`return {1}`), 1)
	p.mu.Lock()
	p.inflight = 1 // the only pipeline is busy: the next call queues
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Run(ctx, []string{"k"}); err != context.DeadlineExceeded {
		t.Fatalf("queued call: %v, want the context's deadline", err)
	}
	// the pipeline frees up and sends what queued: nothing is lost
	p.handOff()
	deadline := time.Now().Add(2 * time.Second)
	for {
		p.mu.Lock()
		idle := p.inflight == 0 && len(p.pending) == 0
		p.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("queued call never sent")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
