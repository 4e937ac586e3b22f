package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

// dialCounter counts the main client's dials.
type dialCounter struct{ n atomic.Int64 }

func (d *dialCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.n.Add(1)
		return next(ctx, network, addr)
	}
}
func (d *dialCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (d *dialCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A Redis restart under load: while Redis is down every check fails at once
// without dialling (the store's breaker, not one dial per request), and once
// Redis is back service resumes within a few probe intervals and evenly: no
// check fails after the first one succeeds. go-redis's own pool breaker alone
// resumed up to a second late and refused some checks after others had
// succeeded (see storeHealth).
func TestRedisRecoversEvenlyAfterRestart(t *testing.T) {
	srv := testredis.StartWith(t, testredis.Options{Persistence: true})
	client, err := NewRedisClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	dials := &dialCounter{}
	client.AddHook(dials)
	st := NewRedisStore(client, Options{})
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	ls := LimitTable{Default: Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}}
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "restart"), Subject: "restart"}
	if _, err := st.Create(ctx, s, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	type outcome struct {
		at, took time.Duration
		err      error
	}
	var mu sync.Mutex
	var results []outcome
	start := time.Now()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				t0 := time.Since(start)
				res, err := st.Check(ctx, s.Ref(), ls, false)
				if err == nil && !res.Valid {
					err = fmt.Errorf("session lost: %+v", res)
				}
				mu.Lock()
				results = append(results, outcome{t0, time.Since(start) - t0, err})
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	srv.Stop(t)
	stopped := time.Since(start)
	time.Sleep(300 * time.Millisecond) // the breaker opens
	dialsBefore := dials.n.Load()
	time.Sleep(1000 * time.Millisecond)
	outageDials := dials.n.Load() - dialsBefore
	srv.Restart(t)
	back := time.Since(start)
	time.Sleep(800 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	if outageDials > 2 {
		t.Errorf("%d dials of the main client in 1s of outage: failing requests still reach the pool", outageDials)
	}
	var firstOK time.Duration = -1
	slowFailures := 0
	for _, r := range results {
		switch {
		case r.err == nil && r.at > stopped && firstOK < 0:
			firstOK = r.at + r.took
		case r.err != nil && firstOK >= 0 && r.at >= firstOK:
			t.Errorf("check started %v after the first success failed: %v", r.at-firstOK, r.err)
		case r.err != nil && !errors.Is(r.err, ErrUnavailable):
			t.Errorf("failure not reported as unavailable: %v", r.err)
		case r.err != nil && r.at > stopped+300*time.Millisecond && r.took > 50*time.Millisecond:
			slowFailures++
		}
	}
	if firstOK < 0 {
		t.Fatal("service never resumed")
	}
	if lag := firstOK - back; lag > 400*time.Millisecond {
		t.Errorf("service resumed %v after Redis answered again; want within a few probe intervals", lag)
	}
	if slowFailures > 0 {
		t.Errorf("%d checks took over 50ms to fail while the breaker was open", slowFailures)
	}
	t.Logf("resumed %v after Redis answered; %d checks in all; %d main-client dials during the outage",
		(firstOK - back).Round(time.Millisecond), len(results), outageDials)
}
