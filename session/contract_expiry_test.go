package session_test

import (
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

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

// contractAbsolute: the absolute limit ends a session whatever its activity.
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
