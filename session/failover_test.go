package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// The reproduction, at the store: sessions are ended (sign-out, and
// max_sessions at a new sign-in) in the second after a graceful SENTINEL
// FAILOVER, while the old master still takes writes. Once the old master
// has become a replica of the new one, none of them is valid again, and
// every session kept is still valid.
func TestRevocationSurvivesGracefulSentinelFailover(t *testing.T) {
	s, st, live := sentinelWithSessions(t, 60)
	// a node that still talks to the old master (as a node does until it
	// hears of the switch), directly and without asking the sentinels
	stale := failoverStore(t, s.Master.URL, 1)
	if res, err := stale.Check(context.Background(), live[0].Ref(), tableOfLimits, false); err != nil || !res.Valid {
		t.Fatalf("before the failover, the master with its replica: %+v, %v", res, err)
	}
	var e endings
	e.kept = append(e.kept, live[50:]...)
	s.Failover(t)
	e.churn(t, st, live[:50], 2500*time.Millisecond)
	oldMaster, newMaster := s.Master, s.Replica
	s.WaitMaster(t, newMaster)
	for _, d := range e.ended {
		res, err := stale.Check(context.Background(), d.Ref(), tableOfLimits, false)
		if !errors.Is(err, session.ErrUnavailable) || res.Valid {
			t.Fatalf("the replaced master answered a check: %+v, %v (want the store unavailable)", res, err)
		}
	}
	testredis.WaitInSync(t, oldMaster, newMaster)
	e.verify(t, s.URL)
}

// Sessions ended, and sessions created, while the master is killed hard
// (SIGKILL) in the middle: after the replica is promoted, the ended ones
// stay ended and the created ones are there (each write counts only once
// the replica has confirmed it; one that failed is tried again, as a person
// would, and lands on the new master).
func TestRevocationSurvivesHardSentinelFailover(t *testing.T) {
	s, st, live := sentinelWithSessions(t, 40)
	var e endings
	e.kept = append(e.kept, live[30:]...)
	killed := make(chan error, 1)
	time.AfterFunc(700*time.Millisecond, func() { killed <- s.Master.Crash() })
	e.churn(t, st, live[:30], 4*time.Second)
	if err := <-killed; err != nil {
		t.Fatal(err)
	}
	s.WaitMaster(t, s.Replica)
	e.verify(t, s.URL)
}

// A replica that stops and comes back (no failover): the master goes on
// without it once the sentinels see it down, and while it copies the data
// again. Service is refused only briefly, and no sign-out made meanwhile is
// undone.
func TestReplicaRestartWithoutFailover(t *testing.T) {
	s, st, live := sentinelWithSessions(t, 40)
	ctx := context.Background()
	var refused, worst, run, slowest time.Duration
	var slow []time.Duration // sign-outs slower than 100 ms
	step := 50 * time.Millisecond
	probe := func(span time.Duration, i *int) {
		for stop := time.Now().Add(span); time.Now().Before(stop); time.Sleep(step) {
			_, errCheck := st.Check(ctx, live[len(live)-1].Ref(), tableOfLimits, false)
			var errEnd error
			if *i < 30 {
				start := time.Now()
				errEnd = st.End(ctx, live[*i].Ref(), session.ReasonLogout)
				if took := time.Since(start); took > 100*time.Millisecond {
					slow = append(slow, took.Round(time.Millisecond))
				}
				slowest = max(slowest, time.Since(start))
				if errEnd == nil {
					*i++
				}
			}
			if errCheck != nil || errEnd != nil {
				refused += step
				run += step
				worst = max(worst, run)
			} else {
				run = 0
			}
		}
	}
	ended := 0
	s.Replica.Kill(t)
	probe(3*time.Second, &ended)
	s.Replica.Restart(t)
	probe(4*time.Second, &ended)
	testredis.WaitInSync(t, s.Replica, s.Master)
	probe(time.Second, &ended)
	t.Logf("replica killed, then restarted: checks or sign-outs refused for %v in all, at most %v in a row; "+
		"%d sign-outs made, the slowest in %v; those over 100 ms: %v", refused, worst, ended, slowest.Round(time.Millisecond), slow)
	e := endings{ended: live[:ended], kept: live[ended:], slowest: slowest}
	e.verify(t, s.URL)
	if worst > 3*time.Second || len(slow) > 3 {
		t.Fatalf("while only a replica was down: service refused for %v in a row; %d sign-outs slower than 100 ms",
			worst, len(slow))
	}
}

// With two replicas, a graceful failover promotes one while the other still
// follows the old master for a moment, and would confirm writes there that
// the failover then throws away. A master that has lost one of the replicas
// it had is not believed until the sentinels agree: no sign-out is undone.
func TestRevocationSurvivesGracefulFailoverTwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("Sentinel set: not with -short")
	}
	s := testredis.StartSentinelWith(t, 2)
	st := failoverStore(t, s.URL, session.AutoReplicas)
	live := signIn(t, st, 60)
	var e endings
	e.kept = append(e.kept, live[50:]...)
	s.Failover(t)
	e.churn(t, st, live[:50], 2500*time.Millisecond)
	newMaster := s.WaitNewMaster(t, s.Master)
	for _, r := range append([]*testredis.Server{s.Master}, s.Replicas...) {
		if r != newMaster {
			testredis.WaitInSync(t, r, newMaster)
		}
	}
	e.verify(t, s.URL)
}

// A sign-in tried again (its replicas did not confirm the first try, which
// Redis carried out) ends no more sessions for max_sessions than the first
// try did.
func TestRedisCreateTriedAgainEndsNoMore(t *testing.T) {
	srv := testredis.Start(t)
	st := session.NewRedisStore(srv.Client(t), session.Options{})
	t.Cleanup(func() { _ = st.Close() })
	a, b, n := newSession("max"), newSession("max"), newSession("max")
	opts := session.CreateOptions{MaxSessions: 2}
	mustCreate(t, st, a, opts)
	mustCreate(t, st, b, opts)
	if ended := mustCreate(t, st, n, opts); len(ended) != 1 || ended[0] != a.ID {
		t.Fatalf("first try ended %v, want the oldest", ended)
	}
	if ended := mustCreate(t, st, n, opts); len(ended) != 0 {
		t.Fatalf("the same sign-in again ended %v, want nothing more", ended)
	}
	for _, s := range []*session.Session{b, n} {
		if res, err := st.Check(context.Background(), s.Ref(), tableOfLimits, false); err != nil || !res.Valid {
			t.Fatalf("session %s after the retry: %+v %v", s.ID[:6], res, err)
		}
	}
}
