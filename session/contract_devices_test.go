package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

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
