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

func storeFactories(t *testing.T) map[string]storeFactory {
	return map[string]storeFactory{
		"memory": func(t *testing.T, clock session.Clock) session.Store {
			s := session.NewMemoryStore(session.Options{Clock: clock}, 0)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"redis": func(t *testing.T, clock session.Clock) session.Store {
			srv := testredis.Start(t)
			return session.NewRedisStore(srv.Client(t), session.Options{Clock: clock})
		},
	}
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

func contractIdle(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	s := newSession("bob")
	mustCreate(t, st, s, session.CreateOptions{})
	clk.Advance(10 * time.Minute)
	if !mustCheck(t, st, s.Ref(), tableOfLimits, true).Valid {
		t.Fatal("valid at 10m")
	}
	clk.Advance(15*time.Minute - time.Millisecond) // 1ms before the moved idle deadline
	if res := mustCheck(t, st, s.Ref(), tableOfLimits, false); !res.Valid {
		t.Fatalf("activity at 10m must move the idle deadline: %+v", res)
	}
	clk.Advance(time.Millisecond)
	res := mustCheck(t, st, s.Ref(), tableOfLimits, true)
	if res.Valid || res.Reason != session.ReasonIdle || !res.Ended || res.Subject != "bob" {
		t.Fatalf("want idle expiry of bob found by this check, got %+v", res)
	}
	// activity after expiry must not revive it; the end is reported once
	res = mustCheck(t, st, s.Ref(), tableOfLimits, true)
	if res.Valid || res.Reason != session.ReasonIdle || res.Ended {
		t.Fatalf("expired session revived, reason lost or end reported twice: %+v", res)
	}
}

// A session the store already forgot at its deadline (Redis TTL, memory
// sweep) is reported ended once, with the reason inferred from the cookie's
// sign-in time.
func contractForgotten(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	s := newSession("fay")
	mustCreate(t, st, s, session.CreateOptions{})
	gone := session.Ref{ID: session.NewID(), UserKey: s.UserKey, CreatedAt: s.Ref().CreatedAt, Subject: "fay"}
	clk.Advance(20 * time.Minute)
	res := mustCheck(t, st, gone, tableOfLimits, false)
	if res.Valid || res.Reason != session.ReasonIdle || !res.Ended || res.Subject != "fay" {
		t.Fatalf("forgotten after the idle limit (the audit needs the subject from the cookie): %+v", res)
	}
	if res = mustCheck(t, st, gone, tableOfLimits, false); res.Reason != session.ReasonIdle || res.Ended {
		t.Fatalf("second check: %+v", res)
	}
	clk.Advance(9 * time.Hour)
	gone.ID = session.NewID()
	if res = mustCheck(t, st, gone, tableOfLimits, false); res.Reason != session.ReasonAbsolute || !res.Ended {
		t.Fatalf("forgotten after the absolute limit: %+v", res)
	}
	// the cookie's own group policy decides: front-desk's 5m idle, not the default 15m
	desk := session.Ref{ID: session.NewID(), UserKey: s.UserKey, CreatedAt: clk.Now().UnixMilli(), PolicyGroups: "front-desk"}
	clk.Advance(6 * time.Minute)
	if res = mustCheck(t, st, desk, tableOfLimits, false); res.Reason != session.ReasonIdle || !res.Ended {
		t.Fatalf("forgotten after its group's idle limit: %+v", res)
	}
}

// The directory, provider-session index, Once and settings back revocation
// by name, back-channel logout by sid, token replay checks and the
// manager-set organization timer.
func contractAbsolute(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	s := newSession("carol")
	mustCreate(t, st, s, session.CreateOptions{})
	for elapsed := time.Duration(0); elapsed < 9*time.Hour-10*time.Minute; elapsed += 10 * time.Minute {
		clk.Advance(10 * time.Minute)
		if res := mustCheck(t, st, s.Ref(), tableOfLimits, true); !res.Valid {
			t.Fatalf("active session expired early at %v: %+v", elapsed, res)
		}
	}
	clk.Advance(10 * time.Minute) // now exactly 9h
	res := mustCheck(t, st, s.Ref(), tableOfLimits, true)
	if res.Valid || res.Reason != session.ReasonAbsolute {
		t.Fatalf("want absolute expiry despite activity, got %+v", res)
	}
}

func contractPolling(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	s := newSession("dave")
	mustCreate(t, st, s, session.CreateOptions{})
	for i := 0; i < 89; i++ { // a poll every 10s for 14m50s
		clk.Advance(10 * time.Second)
		if !mustCheck(t, st, s.Ref(), tableOfLimits, false).Valid {
			t.Fatalf("expired early at poll %d", i)
		}
	}
	clk.Advance(10 * time.Second)
	if res := mustCheck(t, st, s.Ref(), tableOfLimits, false); res.Valid || res.Reason != session.ReasonIdle {
		t.Fatalf("background checks must not extend the session: %+v", res)
	}
}

func contractDevices(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	laptop, tablet := newSession("erin"), newSession("erin")
	mustCreate(t, st, laptop, session.CreateOptions{})
	clk.Advance(5 * time.Minute)
	mustCreate(t, st, tablet, session.CreateOptions{})
	clk.Advance(5 * time.Minute)
	mustCheck(t, st, tablet.Ref(), tableOfLimits, true) // tablet active at 10m
	clk.Advance(5 * time.Minute)                        // 15m: laptop idle, tablet not
	if res := mustCheck(t, st, laptop.Ref(), tableOfLimits, false); res.Valid || res.Reason != session.ReasonIdle {
		t.Fatalf("laptop must be idle-expired: %+v", res)
	}
	res := mustCheck(t, st, tablet.Ref(), tableOfLimits, false)
	if !res.Valid {
		t.Fatalf("tablet must be independent of laptop: %+v", res)
	}
	if !res.AbsoluteDeadline.Equal(tablet.CreatedAt.Add(9 * time.Hour)) {
		t.Fatalf("tablet's absolute timer must start at its own sign-in: %v", res.AbsoluteDeadline)
	}
	list, err := st.List(context.Background(), tablet.UserKey, tableOfLimits)
	if err != nil || len(list) != 1 || list[0].ID != tablet.ID {
		t.Fatalf("list: %v %v", list, err)
	}
}

func contractEnd(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	a, b := newSession("frank"), newSession("frank")
	mustCreate(t, st, a, session.CreateOptions{})
	mustCreate(t, st, b, session.CreateOptions{})
	if err := st.End(context.Background(), a.Ref(), session.ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	if res := mustCheck(t, st, a.Ref(), tableOfLimits, true); res.Valid || res.Reason != session.ReasonRevoked {
		t.Fatalf("want revoked, got %+v", res)
	}
	if !mustCheck(t, st, b.Ref(), tableOfLimits, false).Valid {
		t.Fatal("ending one device must not end the other")
	}
	if g, err := st.Get(context.Background(), a.Ref()); err != nil || g != nil {
		t.Fatalf("ended session still readable: %+v %v", g, err)
	}
	if err := st.End(context.Background(), session.Ref{ID: session.NewID(), UserKey: a.UserKey}, session.ReasonLogout); err != nil {
		t.Fatalf("ending a missing session: %v", err)
	}
	list, _ := st.List(context.Background(), a.UserKey, tableOfLimits)
	if len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("list after end: %v", list)
	}
}

func contractPolicyChange(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	s := newSession("gina")
	mustCreate(t, st, s, session.CreateOptions{})
	clk.Advance(6 * time.Minute)
	stricter := session.LimitTable{Default: session.Limits{Idle: 5 * time.Minute, Absolute: 9 * time.Hour}}
	if res := mustCheck(t, st, s.Ref(), stricter, false); res.Valid || res.Reason != session.ReasonIdle {
		t.Fatalf("a shorter idle timeout must apply to a live session: %+v", res)
	}
	s2 := newSession("gina")
	mustCreate(t, st, s2, session.CreateOptions{})
	clk.Advance(2 * time.Hour)
	shortAbs := session.LimitTable{Default: session.Limits{Idle: 3 * time.Hour, Absolute: time.Hour}}
	if res := mustCheck(t, st, s2.Ref(), shortAbs, true); res.Valid || res.Reason != session.ReasonAbsolute {
		t.Fatalf("a shorter absolute timeout must apply to a live session: %+v", res)
	}
}

func contractGroupPolicy(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	desk := newSession("hal")
	desk.PolicyGroups = "front-desk"
	mustCreate(t, st, desk, session.CreateOptions{})
	doc := newSession("ivy")
	mustCreate(t, st, doc, session.CreateOptions{})
	clk.Advance(5 * time.Minute)
	if res := mustCheck(t, st, desk.Ref(), tableOfLimits, false); res.Valid || res.Reason != session.ReasonIdle {
		t.Fatalf("front-desk 5m idle not applied: %+v", res)
	}
	if !mustCheck(t, st, doc.Ref(), tableOfLimits, false).Valid {
		t.Fatal("default user must still be valid at 5m")
	}
}

func contractMaxSessions(t *testing.T, f storeFactory) {
	clk := testclock.New()
	st := f(t, clk.Now)
	first, second, third := newSession("jo"), newSession("jo"), newSession("jo")
	mustCreate(t, st, first, session.CreateOptions{MaxSessions: 2})
	clk.Advance(time.Second)
	mustCreate(t, st, second, session.CreateOptions{MaxSessions: 2})
	clk.Advance(time.Second)
	ended := mustCreate(t, st, third, session.CreateOptions{MaxSessions: 2})
	if len(ended) != 1 || ended[0] != first.ID {
		t.Fatalf("want the oldest ended, got %v", ended)
	}
	if res := mustCheck(t, st, first.Ref(), tableOfLimits, false); res.Valid || res.Reason != session.ReasonElsewhere {
		t.Fatalf("want elsewhere, got %+v", res)
	}
	if !mustCheck(t, st, second.Ref(), tableOfLimits, false).Valid || !mustCheck(t, st, third.Ref(), tableOfLimits, false).Valid {
		t.Fatal("newer sessions must stay")
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
