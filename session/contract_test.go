package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

type storeFactory func(t *testing.T, clock session.Clock) session.Store

// storeFactories are the stores every contract runs against: memory, and
// Redis as a single server, behind Sentinel and as a Cluster.
func storeFactories(t *testing.T) map[string]storeFactory {
	f := map[string]storeFactory{
		"memory": func(t *testing.T, clock session.Clock) session.Store {
			s := session.NewMemoryStore(session.Options{Clock: clock}, 0)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"redis": func(t *testing.T, clock session.Clock) session.Store {
			return readingLocally(t, session.NewRedisStore(testredis.Start(t).Client(t), session.Options{Clock: clock}))
		},
		"redis-local-cache-off": func(t *testing.T, clock session.Clock) session.Store {
			st := session.NewRedisStore(testredis.Start(t).Client(t),
				session.Options{Clock: clock, LocalCache: session.LocalCacheOptions{Off: true}})
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
	}
	if testing.Short() {
		return f
	}
	for name, factory := range topologyFactories(t) {
		f[name] = factory
	}
	return f
}

// readingLocally closes st after the test and waits until it serves checks
// from its local copy (when it has one), so that the contract runs through
// the copy.
func readingLocally(t *testing.T, st *session.RedisStore) *session.RedisStore {
	t.Helper()
	t.Cleanup(func() { _ = st.Close() })
	if on, _ := st.LocalCache(); !on {
		return st
	}
	for deadline := time.Now().Add(5 * time.Second); !st.ReadsLocally(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the local copy was not trusted within 5 s")
		}
	}
	return st
}

var tableOfLimits = session.LimitTable{
	Default: session.Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour},
	Groups:  map[string]session.Limits{"front-desk": {Idle: 5 * time.Minute, Absolute: 9 * time.Hour}},
}

func newSession(user string) *session.Session {
	return &session.Session{
		ID: session.NewID(), UserKey: session.UserKey("https://idp.test", user), Subject: user,
		Name: "Dr. " + user, Email: user + "@clinic.test", Groups: []string{"clinicians", "x"},
		IdPSessionID: "sid-" + user, Device: "Firefox on Linux",
		IP: "192.0.2.7", Claims: map[string]string{"preferred_username": user},
	}
}

// TestSessionsContract runs the Sessions role's suite against every store
// implementation.
func TestSessionsContract(t *testing.T) {
	for name, factory := range storeFactories(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("CreateCheck", func(t *testing.T) { contractCreateCheck(t, factory) })
			t.Run("IdleExpiry", func(t *testing.T) { contractIdle(t, factory) })
			t.Run("ForgottenReportedOnce", func(t *testing.T) { contractForgotten(t, factory) })
			t.Run("SparseAndCount", func(t *testing.T) { contractSparseAndCount(t, factory) })
			t.Run("AbsoluteDespiteActivity", func(t *testing.T) { contractAbsolute(t, factory) })
			t.Run("NonActivityDoesNotExtend", func(t *testing.T) { contractPolling(t, factory) })
			t.Run("DevicesIndependent", func(t *testing.T) { contractDevices(t, factory) })
			t.Run("EndRemembersReason", func(t *testing.T) { contractEnd(t, factory) })
			t.Run("PolicyChangeAppliesToLiveSessions", func(t *testing.T) { contractPolicyChange(t, factory) })
			t.Run("GroupPolicy", func(t *testing.T) { contractGroupPolicy(t, factory) })
			t.Run("MaxSessions", func(t *testing.T) { contractMaxSessions(t, factory) })
			t.Run("WrongUserKey", func(t *testing.T) { contractWrongUser(t, factory) })
		})
	}
}

func mustCreate(t *testing.T, st session.Sessions, s *session.Session, opts session.CreateOptions) []string {
	t.Helper()
	ended, err := st.Create(context.Background(), s, tableOfLimits, opts)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return ended
}

func mustCheck(t *testing.T, st session.Sessions, ref session.Ref, ls session.LimitTable, activity bool) session.CheckResult {
	t.Helper()
	res, err := st.Check(context.Background(), ref, ls, activity)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return res
}

func contractCreateCheck(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	s := newSession("alice")
	mustCreate(t, st, s, session.CreateOptions{})
	if !s.CreatedAt.Equal(clk.Now()) || !s.LastActivity.Equal(clk.Now()) {
		t.Fatalf("created %v last %v, clock %v", s.CreatedAt, s.LastActivity, clk.Now())
	}
	res := mustCheck(t, st, s.Ref(), tableOfLimits, false)
	if !res.Valid {
		t.Fatalf("new session invalid: %+v", res)
	}
	got := res.Session
	if got.Subject != "alice" || got.Name != "Dr. alice" || got.Email != "alice@clinic.test" ||
		len(got.Groups) != 2 || got.Groups[0] != "clinicians" || got.IdPSessionID != "sid-alice" ||
		got.Claims["preferred_username"] != "alice" {
		t.Fatalf("fields not kept: %+v", got)
	}
	if !res.IdleDeadline.Equal(clk.Now().Add(15*time.Minute)) || !res.AbsoluteDeadline.Equal(clk.Now().Add(9*time.Hour)) {
		t.Fatalf("deadlines %v %v", res.IdleDeadline, res.AbsoluteDeadline)
	}
	full, err := st.Get(context.Background(), s.Ref())
	if err != nil || full == nil || full.Device != "Firefox on Linux" || full.IP != "192.0.2.7" {
		t.Fatalf("get: %+v %v", full, err)
	}
}

func contractWrongUser(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	s := newSession("kim")
	mustCreate(t, st, s, session.CreateOptions{})
	ref := s.Ref()
	ref.UserKey = session.UserKey("https://idp.test", "mallory")
	if mustCheck(t, st, ref, tableOfLimits, true).Valid {
		t.Fatal("a session must not be found under another user's key")
	}
}

// contractSparseAndCount: a session with only the fields a sign-in must
// have lists and checks with each of them, and the gauge counts live
// sessions only.
func contractSparseAndCount(t *testing.T, f storeFactory) {
	ctx := context.Background()
	clk := testclock.New()
	st := f(t, clk.Now)
	for _, s := range []*session.Session{newSession("ann"), newSession("ann"), newSession("ben")} {
		mustCreate(t, st, s, session.CreateOptions{})
	}
	b := newSession("bea")
	mustCreate(t, st, b, session.CreateOptions{})
	// sparse sessions (no policy, no email, no provider sid) list with every field they have
	c := &session.Session{ID: session.NewID(), UserKey: session.UserKey("https://idp.test", "cy"), Subject: "cy",
		Device: "Safari on iOS", IP: "192.0.2.9"}
	mustCreate(t, st, c, session.CreateOptions{})
	if list, err := st.List(ctx, c.UserKey, tableOfLimits); err != nil || len(list) != 1 || list[0].Device != "Safari on iOS" ||
		list[0].IP != "192.0.2.9" || list[0].Subject != "cy" {
		t.Fatalf("list of a sparse session: %+v %v", list, err)
	}
	if res := mustCheck(t, st, c.Ref(), tableOfLimits, false); !res.Valid || res.Session.Subject != "cy" || res.Session.Email != "" {
		t.Fatalf("check of a sparse session: %+v", res)
	}
	if err := st.End(ctx, c.Ref(), session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountSessions(ctx, tableOfLimits); err != nil || n != 4 {
		t.Fatalf("count: %d %v", n, err)
	}
	if err := st.End(ctx, b.Ref(), session.ReasonBackchannel); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountSessions(ctx, tableOfLimits); n != 3 {
		t.Fatalf("count after an end (tombstones do not count): %d", n)
	}
}
