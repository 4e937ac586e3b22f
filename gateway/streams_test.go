package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

// longResponse runs a request whose response lasts until its context ends
// (at most 10 s) and returns the cause once it does.
type longResponse struct {
	started chan struct{}
	cause   chan error
}

func serveLong(f *fixture, r *http.Request) *longResponse {
	lr := &longResponse{started: make(chan struct{}), cause: make(chan error, 1)}
	go func() {
		_ = f.g.ServeHTTP(httptest.NewRecorder(), r, func(_ http.ResponseWriter, r *http.Request) error {
			close(lr.started)
			select {
			case <-r.Context().Done():
				lr.cause <- context.Cause(r.Context())
			case <-time.After(10 * time.Second):
				lr.cause <- nil
			}
			return nil
		})
	}()
	<-lr.started
	return lr
}

// wait returns the cause the response ended with, or nil if it is still
// running after d.
func (lr *longResponse) wait(d time.Duration) error {
	select {
	case err := <-lr.cause:
		if err == nil {
			return errors.New("the response ran its full 10 s")
		}
		return err
	case <-time.After(d):
		return nil
	}
}

// fastWatch makes the watcher take a response as long-lived after 10 ms and
// re-check every 20 ms.
func fastWatch(f *fixture) {
	f.g.streams.after, f.g.streams.every = 10*time.Millisecond, 20*time.Millisecond
}

var sse = map[string]string{"Accept": "text/event-stream", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}

// watchedEvents signs in, opens an event stream under fast watching and
// checks that it keeps running while the session is valid.
func watchedEvents(t *testing.T, f *fixture) (*longResponse, *http.Cookie) {
	t.Helper()
	fastWatch(f)
	c := f.signIn(t)
	lr := serveLong(f, request("GET", "/events", c, sse))
	if err := lr.wait(100 * time.Millisecond); err != nil {
		t.Fatalf("ended while the session is valid: %v", err)
	}
	return lr, c
}

// expect checks that the response ends within d with cause want.
func (lr *longResponse) expect(t *testing.T, d time.Duration, want error, what string) {
	t.Helper()
	if err := lr.wait(d); !errors.Is(err, want) {
		t.Fatalf("%s: cause %v, want %v", what, err, want)
	}
}

// sessionRef is the session of cookie c.
func sessionRef(f *fixture, c *http.Cookie) session.Ref {
	ref, _ := f.g.readSessionCookie(request("GET", "/", c, nil))
	return ref
}

func TestLongResponseEndsWhenSessionEndsElsewhere(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	defer f.g.Close()
	lr, c := watchedEvents(t, f)
	// another node ends it: only the store knows
	if err := f.store.End(context.Background(), sessionRef(f, c), session.ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	lr.expect(t, 2*time.Second, ErrSessionEnded, "after the session ended on another node")
}

func TestLongResponseEndsAtIdleDeadline(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	defer f.g.Close()
	lr, c := watchedEvents(t, f)
	f.clock.Advance(14 * time.Minute) // idle timeout 15 min by default
	if err := lr.wait(200 * time.Millisecond); err != nil {
		t.Fatalf("ended before the idle deadline: %v", err)
	}
	f.clock.Advance(2 * time.Minute)
	lr.expect(t, 2*time.Second, ErrSessionEnded, "after the idle deadline")
	// the watcher's check found the end: the device's next request is told why
	w := f.serve(request("GET", "/.sessiongate/status", c, poll))
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"reason":"idle"`) {
		t.Fatalf("status after the watcher found the end: %d %s", w.Code, w.Body)
	}
}

func TestLongResponseEndsAtOnceOnLocalSignOut(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	defer f.g.Close()
	f.g.streams.after, f.g.streams.every = 10*time.Millisecond, time.Hour // polling cannot be what ends it
	c := f.signIn(t)
	lr := serveLong(f, request("GET", "/download", c, poll))
	time.Sleep(50 * time.Millisecond) // long-lived by now
	if err := f.g.sessions.End(context.Background(), sessionRef(f, c), session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	lr.expect(t, time.Second, ErrSessionEnded, "after sign-out on this node")
}

func TestUpgradeIsWatchedFromTheStart(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	defer f.g.Close()
	f.g.streams.after, f.g.streams.every = time.Hour, 20*time.Millisecond
	c := f.signIn(t)
	lr := serveLong(f, request("GET", "/socket", c, map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}))
	if err := f.store.End(context.Background(), sessionRef(f, c), session.ReasonAdmin); err != nil {
		t.Fatal(err)
	}
	lr.expect(t, 2*time.Second, ErrSessionEnded, "WebSocket after the session ended")
}

// switchableStore fails its checks while down is set.
type switchableStore struct {
	session.Store
	down *atomic.Bool
}

func (s switchableStore) Check(ctx context.Context, ref session.Ref, l session.LimitTable, a bool) (session.CheckResult, error) {
	if s.down.Load() {
		return session.CheckResult{}, session.ErrUnavailable
	}
	return s.Store.Check(ctx, ref, l, a)
}

func TestLongResponseFailsClosedWhenStoreIsDown(t *testing.T) {
	clock := testclock.New()
	down := new(atomic.Bool)
	f := newFixture(t, switchableStore{session.NewMemoryStore(session.Options{Clock: clock.Now}, 0), down}, clock)
	defer f.g.Close()
	lr, _ := watchedEvents(t, f)
	down.Store(true)
	lr.expect(t, 2*time.Second, ErrStoreUnreachable, "store down")
}

func TestShortResponsesAreNotWatched(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	defer f.g.Close()
	f.g.streams.after = 50 * time.Millisecond
	c := f.signIn(t)
	for range 20 {
		if w := f.serve(request("GET", "/api/q", c, poll)); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	time.Sleep(100 * time.Millisecond) // past `after`: a timer left running would have added them
	f.g.streams.mu.Lock()
	n, running := len(f.g.streams.streams), f.g.streams.running
	f.g.streams.mu.Unlock()
	if n != 0 || running {
		t.Fatalf("after short responses: %d sessions watched, watcher running %v", n, running)
	}
}

func TestWatcherStopsWhenNothingIsLeft(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	defer f.g.Close()
	lr, c := watchedEvents(t, f)
	if err := f.g.sessions.End(context.Background(), sessionRef(f, c), session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	lr.expect(t, time.Second, ErrSessionEnded, "after sign-out")
	deadline := time.Now().Add(2 * time.Second)
	for {
		f.g.streams.mu.Lock()
		running := f.g.streams.running
		f.g.streams.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher goroutine kept running with nothing to watch")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseEndsWatchedResponses(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	f.g.streams.after, f.g.streams.every = 10*time.Millisecond, time.Hour
	c := f.signIn(t)
	lr := serveLong(f, request("GET", "/events", c, sse))
	time.Sleep(50 * time.Millisecond)
	f.g.Close()
	lr.expect(t, time.Second, ErrGatewayStopped, "after Close")
	// a response that becomes long-lived after Close is ended too
	lr = serveLong(f, request("GET", "/events", c, sse))
	lr.expect(t, time.Second, ErrGatewayStopped, "long-lived after Close")
}
