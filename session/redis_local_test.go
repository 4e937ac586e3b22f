package session

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/internal/testredis"
)

// localStore is a Redis store on client whose local copy is trusted (or
// off), closed after the test.
func localStore(t *testing.T, client redis.UniversalClient, opts Options) *RedisStore {
	t.Helper()
	st := NewRedisStore(client, opts)
	t.Cleanup(func() { _ = st.Close() })
	if opts.LocalCache.Off {
		return st
	}
	for deadline := time.Now().Add(5 * time.Second); !st.ReadsLocally(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the local copy was not trusted within 5 s")
		}
	}
	return st
}

// commandCalls reads how many times Redis ran each of names (INFO
// commandstats), the server's own count of round trips.
func commandCalls(t *testing.T, c *redis.Client, names ...string) map[string]int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, name := range names {
		if v, ok := strings.CutPrefix(infoField(info, "cmdstat_"+name), "calls="); ok {
			out[name], _ = strconv.Atoi(strings.SplitN(v, ",", 2)[0])
		}
	}
	return out
}

var localLimits = LimitTable{Default: Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}}

// With the local copy, a session's checks after its first on a node reach
// Redis not at all; with local_cache off, each is one EVALSHA.
func TestRedisCheckRoundTrips(t *testing.T) {
	srv := testredis.Start(t)
	admin := srv.Client(t)
	for _, off := range []bool{false, true} {
		st := localStore(t, srv.Client(t), Options{LocalCache: LocalCacheOptions{Off: off}})
		ctx := context.Background()
		s := &Session{ID: NewID(), UserKey: UserKey("iss", "rt-user"), Subject: "rt-user"}
		if _, err := st.Create(ctx, s, localLimits, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // fills the copy (again once the sign-in's own announcement has come), or loads the script
			if _, err := st.Check(ctx, s.Ref(), localLimits, false); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		before := commandCalls(t, admin, "evalsha", "eval", "hmget")
		const checks = 20
		for range checks {
			if res, err := st.Check(ctx, s.Ref(), localLimits, false); err != nil || !res.Valid {
				t.Fatalf("check: %+v %v", res, err)
			}
		}
		after := commandCalls(t, admin, "evalsha", "eval", "hmget")
		want := map[string]int{"evalsha": checks, "hmget": checks} // the script's own HMGET counts too
		if !off {
			want = map[string]int{}
		}
		for _, name := range []string{"evalsha", "eval", "hmget"} {
			if got := after[name] - before[name]; got != want[name] {
				t.Errorf("local_cache off=%v: %d checks ran %s %d times, want %d", off, checks, name, got, want[name])
			}
		}
	}
}

// A check that is activity, decided from the copy, records the activity in
// the background (a touch): the request does not wait for it, the idle
// deadline moves for every node, and no touch revives or extends an ended
// or expired session.
func TestLocalCopyActivityIsTouchedInTheBackground(t *testing.T) {
	srv := testredis.Start(t)
	clk := testclock.New()
	a := localStore(t, srv.Client(t), Options{Clock: clk.Now})
	b := localStore(t, srv.Client(t), Options{Clock: clk.Now})
	ctx := context.Background()
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "toucher"), Subject: "toucher"}
	if _, err := a.Create(ctx, s, localLimits, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, a, s.Ref(), false)
	clk.Advance(10 * time.Minute)
	res := mustValid(t, a, s.Ref(), true)
	if !res.IdleDeadline.Equal(clk.Now().Add(15 * time.Minute)) {
		t.Fatalf("activity must move the reported idle deadline at once: %v", res.IdleDeadline)
	}
	a.local.memo.awaitTouch(ctx, memoKey(s.Ref()))
	// node b sees the moved deadline: 1 ms before it, valid; at it, idle
	clk.Advance(15*time.Minute - time.Millisecond)
	if res := mustValid(t, b, s.Ref(), false); !res.IdleDeadline.Equal(clk.Now().Add(time.Millisecond)) {
		t.Fatalf("node b's idle deadline %v", res.IdleDeadline)
	}
	clk.Advance(time.Millisecond)
	if res, _ := b.Check(ctx, s.Ref(), localLimits, false); res.Valid || res.Reason != ReasonIdle || !res.Ended {
		t.Fatalf("want idle, found by this check: %+v", res)
	}

	// touch.lua itself: never on a tombstone, never past a deadline, never backwards
	s2 := &Session{ID: NewID(), UserKey: s.UserKey, Subject: "toucher"}
	if _, err := a.Create(ctx, s2, localLimits, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	created := clk.Now()
	touch := func(at time.Time) int64 {
		args := append(a.commonArgs(localLimits), s2.ID, created.UnixMilli(), at.UnixMilli())
		res, err := a.touch.Run(ctx, []string{userKeyName(s2.UserKey)}, args...)
		if err != nil {
			t.Fatal(err)
		}
		return toInt(res[0])
	}
	clk.Advance(time.Minute)
	if got := touch(created.Add(-time.Second)); got != 0 {
		t.Error("a touch moved the last activity backwards")
	}
	if got := touch(clk.Now()); got != 1 {
		t.Error("a touch within the deadlines was not written")
	}
	clk.Advance(15 * time.Minute) // at the idle deadline of that touch
	if got := touch(clk.Now()); got != 0 {
		t.Error("a touch at the idle deadline revived the session")
	}
	clk.Advance(-time.Minute)
	if err := a.End(ctx, s2.Ref(), ReasonLogout); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got := touch(clk.Now()); got != 0 {
		t.Error("a touch revived an ended session")
	}
}

func mustValid(t *testing.T, st *RedisStore, ref Ref, activity bool) CheckResult {
	t.Helper()
	res, err := st.Check(context.Background(), ref, localLimits, activity)
	if err != nil || !res.Valid {
		t.Fatalf("check: %+v %v", res, err)
	}
	return res
}

// When Redis goes away, the copy is not used: checks fail closed at once,
// and after Redis is back they are decided from Redis again.
func TestLocalCopyFailsClosedWhenRedisGoesAway(t *testing.T) {
	srv := testredis.Start(t)
	client, err := NewRedisClient("redis://" + srv.Addr) // the gateway's client, as configured
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	st := localStore(t, client, Options{})
	ctx := context.Background()
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "gone"), Subject: "gone"}
	if _, err := st.Create(ctx, s, localLimits, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, st, s.Ref(), false)
	srv.Kill(t)
	start := time.Now()
	for {
		_, err := st.Check(ctx, s.Ref(), localLimits, false)
		if errors.Is(err, ErrUnavailable) {
			break
		}
		if time.Since(start) > 100*time.Millisecond {
			t.Fatalf("checks still answered %v after Redis was killed", time.Since(start))
		}
	}
	t.Logf("first refused check %v after the kill", time.Since(start))
	if st.ReadsLocally() {
		t.Error("the copy is still trusted with Redis gone")
	}
	// while Redis is away the copy announces no more changes: followers of
	// the settings are not woken each time a tracker tries again
	time.Sleep(50 * time.Millisecond)
	before, _ := st.SettingsVersion()
	time.Sleep(300 * time.Millisecond)
	if after, _ := st.SettingsVersion(); after != before {
		t.Errorf("the settings were announced changed %d times in 300 ms with Redis gone", after-before)
	}
}
