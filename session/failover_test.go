package session_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// failoverStore is a Redis store on url with the replica guard as the
// gateway sets it up by default (AutoReplicas), or with min replicas.
func failoverStore(t *testing.T, url string, min int) *session.RedisStore {
	t.Helper()
	client, err := session.NewRedisClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	st := session.NewRedisStore(client, session.Options{
		Replicas: session.ReplicaOptions{Min: min, SentinelURL: sentinelURL(url)}})
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// retryUnavailable calls op until it succeeds, as a person clicking again
// after a 503 would, for at most 20 s; it returns how many tries failed.
func retryUnavailable(t *testing.T, what string, op func() error) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for failed := 0; ; failed++ {
		err := op()
		if err == nil {
			return failed
		}
		if !errors.Is(err, session.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("%s: %v (after %d failed tries)", what, err, failed)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endings records what a failover test ended and what it kept.
type endings struct {
	ended, kept []*session.Session
	failed      int           // store calls refused (503 to a person) during the failover
	slowest     time.Duration // the longest sign-out or sign-in, refused tries included
}

// timed runs op with retryUnavailable and records its cost.
func (e *endings) timed(t *testing.T, what string, op func() error) {
	t.Helper()
	start := time.Now()
	e.failed += retryUnavailable(t, what, op)
	e.slowest = max(e.slowest, time.Since(start))
}

// revoke ends s the way one of the gateway's paths does, by turns: sign-out
// and My devices (End), a manager's revocation by name (LookupUser, List,
// End), and back-channel logout (SessionsForIdPSession, End).
func revoke(ctx context.Context, st *session.RedisStore, s *session.Session, turn int) error {
	switch turn % 3 {
	case 1:
		matches, err := st.LookupUser(ctx, session.NameSubject, s.Subject)
		if err != nil {
			return err
		}
		if len(matches) != 1 {
			return fmt.Errorf("manager's revocation: %d users named %q", len(matches), s.Subject)
		}
		list, err := st.List(ctx, matches[0].UserKey, tableOfLimits)
		if err != nil {
			return err
		}
		for _, d := range list {
			if err := st.End(ctx, d.Ref(), session.ReasonAdmin); err != nil {
				return err
			}
		}
		return nil
	case 2:
		refs, err := st.SessionsForIdPSession(ctx, s.IdPSessionID)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if err := st.End(ctx, ref, session.ReasonBackchannel); err != nil {
				return err
			}
		}
		return nil
	}
	return st.End(ctx, s.Ref(), session.ReasonLogout)
}

// churn ends sessions (by the paths of revoke, in turn) and signs users in
// again (max_sessions 1 ends their other session) every 60 ms for span,
// retrying what the store refuses.
func (e *endings) churn(t *testing.T, st *session.RedisStore, live []*session.Session, span time.Duration) {
	t.Helper()
	ctx := context.Background()
	stop := time.Now().Add(span)
	for i := 0; time.Now().Before(stop) && i+1 < len(live); i += 2 {
		s := live[i]
		e.timed(t, "end", func() error { return revoke(ctx, st, s, i/2) })
		e.ended = append(e.ended, s)
		again := newSession(live[i+1].Subject)
		var ended []string
		e.timed(t, "sign in again", func() error {
			var err error
			ended, err = st.Create(ctx, again, tableOfLimits, session.CreateOptions{MaxSessions: 1})
			return err
		})
		if len(ended) != 1 || ended[0] != live[i+1].ID {
			t.Fatalf("max_sessions 1 ended %v, want the earlier session", ended)
		}
		e.ended = append(e.ended, live[i+1])
		e.kept = append(e.kept, again)
		time.Sleep(60 * time.Millisecond)
	}
}

// verify checks, through a new store (a gateway node that never saw the
// failover), that every ended session stays ended and every kept one is
// still valid.
func (e *endings) verify(t *testing.T, url string) {
	t.Helper()
	st := failoverStore(t, url, session.AutoReplicas)
	ctx := context.Background()
	back, lost := 0, 0
	for _, s := range e.ended {
		res, err := st.Check(ctx, s.Ref(), tableOfLimits, false)
		if err != nil {
			t.Fatalf("check after the failover: %v", err)
		}
		if res.Valid {
			back++
		}
	}
	for _, s := range e.kept {
		res, err := st.Check(ctx, s.Ref(), tableOfLimits, false)
		if err != nil {
			t.Fatalf("check after the failover: %v", err)
		}
		if !res.Valid {
			lost++
		}
	}
	t.Logf("%d sessions ended (sign-out, manager, back-channel, max_sessions), %d kept; store calls refused during the failover: %d; "+
		"slowest sign-out or sign-in: %v", len(e.ended), len(e.kept), e.failed, e.slowest.Round(time.Millisecond))
	if back != 0 || lost != 0 {
		t.Fatalf("after the failover %d ended sessions are valid again and %d kept sessions are lost", back, lost)
	}
}

// sentinelWithSessions starts a Sentinel set with n users signed in,
// through a store set up as the gateway sets it up.
func sentinelWithSessions(t *testing.T, n int) (*testredis.SentinelSet, *session.RedisStore, []*session.Session) {
	t.Helper()
	if testing.Short() {
		t.Skip("Sentinel set: not with -short")
	}
	s := testredis.StartSentinel(t)
	st := failoverStore(t, s.URL, session.AutoReplicas)
	return s, st, signIn(t, st, n)
}

// signIn creates n sessions of distinct users.
func signIn(t *testing.T, st *session.RedisStore, n int) []*session.Session {
	t.Helper()
	var out []*session.Session
	for i := range n {
		s := newSession(fmt.Sprintf("failover-user-%d", i))
		mustCreate(t, st, s, session.CreateOptions{})
		// as the gateway's sign-in does: a manager finds the user by name
		err := st.RememberUser(context.Background(), s.UserKey, s.Subject, []session.UserName{{Kind: session.NameSubject, Value: s.Subject}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

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

// sentinelURL is url when it names a Sentinel set, else "".
func sentinelURL(url string) string {
	if session.IsSentinelURL(url) {
		return url
	}
	return ""
}

// A replica that stops and comes back (no failover): the master goes on
// alone once the sentinels see the replica down, and while the replica
// copies the data again. Service is refused only briefly, and no sign-out
// made meanwhile is undone.
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
