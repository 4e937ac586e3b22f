package session

import (
	"context"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

// sampleOffset is a clock sample taken now of a server offset ahead of this
// machine.
func sampleOffset(offset, uncertainty time.Duration) clockSample {
	now := time.Now()
	return clockSample{at: now, srv: now.Add(offset).Round(0), uncertainty: uncertainty}
}

// The copy judges deadlines on its estimate of Redis TIME: the offset
// measured with the shortest round trip among the last clockSamples probes,
// and a margin of half that round trip plus clockSlack.
func TestLocalCopyClockEstimate(t *testing.T) {
	l := &localCopy{table: newLocalTable(10)}
	l.lease.Store(int64(time.Hour))
	l.addSample(sampleOffset(10*time.Minute, 3*time.Millisecond))
	l.addSample(sampleOffset(10*time.Minute+2*time.Millisecond, time.Millisecond))
	now, margin, ok := l.now()
	if want := time.Now().Add(10*time.Minute + 2*time.Millisecond); !ok || now.Sub(want).Abs() > 50*time.Millisecond {
		t.Fatalf("now %v, want about %v (%v)", now, want, ok)
	}
	if margin != time.Millisecond+clockSlack {
		t.Fatalf("margin %v", margin)
	}
	for range clockSamples { // the best sample ages out
		l.addSample(sampleOffset(-time.Minute, 5*time.Millisecond))
	}
	if now, margin, _ = l.now(); now.Sub(time.Now().Add(-time.Minute)).Abs() > 50*time.Millisecond ||
		margin != 5*time.Millisecond+clockSlack {
		t.Fatalf("after newer samples: now %v, margin %v", now, margin)
	}
	l.lease.Store(0)
	if _, _, ok := l.now(); ok {
		t.Fatal("no lease, yet the copy may be used")
	}
}

// Several masters' clocks (a Cluster) make one estimate: the latest clock,
// with a margin that reaches every master's upper bound; samples taken at
// different instants are compared on the monotonic clock.
func TestLocalCopyCombinesClocks(t *testing.T) {
	base := time.Now()
	at := func(d time.Duration) time.Time { return base.Add(d) }
	srv := func(d time.Duration) time.Time { return base.Add(d).Round(0) }
	got := combineClocks([]clockSample{
		{at: at(0), srv: srv(0), uncertainty: 4 * time.Millisecond},                                                       // in step, least sure
		{at: at(2 * time.Millisecond), srv: srv(2*time.Millisecond + 30*time.Millisecond), uncertainty: time.Millisecond}, // 30 ms ahead
		{at: at(time.Millisecond), srv: srv(time.Millisecond - 50*time.Millisecond), uncertainty: time.Millisecond},       // 50 ms behind
	})
	if !got.at.Equal(at(2 * time.Millisecond)) {
		t.Fatalf("anchored at %v, want the latest sample's instant", got.at.Sub(base))
	}
	if want := srv(2*time.Millisecond + 30*time.Millisecond); !got.srv.Equal(want) {
		t.Fatalf("estimate %v, want the clock 30 ms ahead", got.srv.Sub(want))
	}
	if got.uncertainty != time.Millisecond {
		t.Fatalf("uncertainty %v: the clock ahead's own covers every upper bound", got.uncertainty)
	}
	// a clock in step but very unsure can reach past the one ahead
	got = combineClocks([]clockSample{
		{at: at(0), srv: srv(0), uncertainty: 40 * time.Millisecond},
		{at: at(0), srv: srv(30 * time.Millisecond), uncertainty: time.Millisecond},
	})
	if got.uncertainty != 10*time.Millisecond {
		t.Fatalf("uncertainty %v, want 10 ms (40 ms past a clock 30 ms behind)", got.uncertainty)
	}
}

// A check answered from the copy reports Redis's time (as the script does).
func TestLocalCopyAnswersOnRedisTime(t *testing.T) {
	srv := testredis.Start(t)
	st := localStore(t, srv.Client(t), Options{})
	ctx := context.Background()
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "clock"), Subject: "clock"}
	if _, err := st.Create(ctx, s, localLimits, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, st, s.Ref(), false)
	before := srv.Client(t).Time(ctx).Val()
	res := mustValid(t, st, s.Ref(), false)
	after := srv.Client(t).Time(ctx).Val()
	if res.Now.Before(before.Add(-clockSlack)) || res.Now.After(after.Add(clockSlack)) {
		t.Fatalf("answered at %v, Redis TIME %v … %v", res.Now, before, after)
	}
}

// A touch records the activity time Redis stored, which is never after
// Redis's own time: a node whose clock estimate runs ahead does not move
// the idle deadline it judges by past the one Redis keeps.
func TestLocalCopyTouchRecordsWhatRedisStored(t *testing.T) {
	srv := testredis.Start(t)
	st := localStore(t, srv.Client(t), Options{})
	ctx := context.Background()
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "ahead"), Subject: "ahead"}
	if _, err := st.Create(ctx, s, localLimits, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, st, s.Ref(), false)
	for range clockSamples { // this node's estimate runs 3 s ahead of Redis, very surely
		st.local.addSample(sampleOffset(3*time.Second, 0))
	}
	mustValid(t, st, s.Ref(), true)
	key := memoKey(s.Ref())
	st.local.memo.awaitTouch(ctx, key)
	raw, err := srv.Client(t).HGet(ctx, userKeyName(s.UserKey), s.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := parseRecord(raw)
	if !ok {
		t.Fatalf("record %q", raw)
	}
	if got := st.local.memo.lastTouch(key); !got.Equal(rec.lastActivity) {
		t.Fatalf("the node remembers activity at %v, Redis stored %v", got, rec.lastActivity)
	}
}
