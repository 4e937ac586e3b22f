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

// sentinelURL is url when it names a Sentinel set, else "".
func sentinelURL(url string) string {
	if session.IsSentinelURL(url) {
		return url
	}
	return ""
}
