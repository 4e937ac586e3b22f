package session

import (
	"testing"
	"time"
)

func TestEvaluateIdleAndAbsolute(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	l := Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}
	cases := []struct {
		name      string
		last, now time.Time
		valid     bool
		why       Reason
	}{
		{"fresh", t0, t0, true, ""},
		{"just before idle", t0, t0.Add(15*time.Minute - time.Millisecond), true, ""},
		{"at idle deadline", t0, t0.Add(15 * time.Minute), false, ReasonIdle},
		{"active but past absolute", t0.Add(9*time.Hour - time.Minute), t0.Add(9 * time.Hour), false, ReasonAbsolute},
		{"both passed names absolute", t0, t0.Add(10 * time.Hour), false, ReasonAbsolute},
	}
	for _, c := range cases {
		valid, why := Evaluate(t0, c.last, l, c.now)
		if valid != c.valid || why != c.why {
			t.Errorf("%s: got (%v,%q), want (%v,%q)", c.name, valid, why, c.valid, c.why)
		}
	}
	// no absolute limit
	if valid, _ := Evaluate(t0, t0.Add(100*time.Hour), Limits{Idle: time.Minute}, t0.Add(100*time.Hour+30*time.Second)); !valid {
		t.Error("without an absolute limit an active session must stay valid")
	}
}

func TestLimitSetStrictestOfGroups(t *testing.T) {
	ls := LimitTable{
		Default: Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour},
		Groups: map[string]Limits{
			"front-desk": {Idle: 5 * time.Minute, Absolute: 12 * time.Hour},
			"nurses":     {Idle: 10 * time.Minute, Absolute: 8 * time.Hour},
			"open":       {Idle: 20 * time.Minute, Absolute: 0},
		},
	}
	if got := ls.For(""); got != ls.Default {
		t.Errorf("default: %v", got)
	}
	if got := ls.For("unknown"); got != ls.Default {
		t.Errorf("unknown policy should fall back to default: %v", got)
	}
	if got, want := ls.For("front-desk,nurses"), (Limits{Idle: 5 * time.Minute, Absolute: 8 * time.Hour}); got != want {
		t.Errorf("strictest: got %v want %v", got, want)
	}
	if got, want := ls.For("open,nurses"), (Limits{Idle: 10 * time.Minute, Absolute: 8 * time.Hour}); got != want {
		t.Errorf("0 absolute is the least strict: got %v want %v", got, want)
	}
}

func TestMissingReason(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	ref := Ref{CreatedAt: t0.UnixMilli()}
	l := Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}
	if r := MissingReason(ref, l, t0.Add(9*time.Hour)); r != ReasonAbsolute {
		t.Errorf("got %q", r)
	}
	if r := MissingReason(ref, l, t0.Add(20*time.Minute)); r != ReasonIdle {
		t.Errorf("got %q", r)
	}
	if r := MissingReason(ref, l, t0.Add(time.Minute)); r != ReasonEnded {
		t.Errorf("got %q", r)
	}
}

func TestNewIDIsRandom256Bit(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || len(a) != 43 {
		t.Fatalf("ids %q %q", a, b)
	}
	if LogID(a) == a || len(LogID(a)) != 16 {
		t.Fatalf("log id %q", LogID(a))
	}
}
