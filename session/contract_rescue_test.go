package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

// TestRescuesContract runs the Rescues role's suite against every store
// implementation: a slot is taken once, only by its user, until its time is
// up; a user's rescues are bounded in number and bytes; a browser's slots
// are dropped together.
func TestRescuesContract(t *testing.T) {
	for name, factory := range storeFactories(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := testclock.New()
			st := factory(t, clk.Now)
			ann, ben := session.UserKey("https://idp.test", "ann"), session.UserKey("https://idp.test", "ben")
			note := []byte("BP 128/82 | follow up\x00 in two weeks")
			if err := st.KeepRescue(ctx, ann, "b1|typed|page", note, 15*time.Minute); err != nil {
				t.Fatal(err)
			}
			if got, err := st.TakeRescue(ctx, ben, "b1|typed|page"); err != nil || got != nil {
				t.Fatalf("another user took ann's rescue: %q %v", got, err)
			}
			for range 2 { // a peek leaves it
				if got, err := st.PeekRescue(ctx, ann, "b1|typed|page"); err != nil || !bytes.Equal(got, note) {
					t.Fatalf("peek: %q %v", got, err)
				}
			}
			if got, err := st.TakeRescue(ctx, ann, "b1|typed|page"); err != nil || !bytes.Equal(got, note) {
				t.Fatalf("take: %q %v", got, err)
			}
			if got, _ := st.TakeRescue(ctx, ann, "b1|typed|page"); got != nil {
				t.Fatalf("a rescue was taken twice: %q", got)
			}
			// a slot's time runs out
			if err := st.KeepRescue(ctx, ann, "b1|typed|page", note, time.Minute); err != nil {
				t.Fatal(err)
			}
			clk.Advance(61 * time.Second)
			if got, _ := st.PeekRescue(ctx, ann, "b1|typed|page"); got != nil {
				t.Fatalf("an expired rescue was peeked: %q", got)
			}
			if got, _ := st.TakeRescue(ctx, ann, "b1|typed|page"); got != nil {
				t.Fatalf("an expired rescue was taken: %q", got)
			}
			// the bound in number: the slots that fit are kept, one more is refused;
			// replacing a slot is not one more
			for i := range session.MaxRescueSlots {
				if err := st.KeepRescue(ctx, ann, fmt.Sprintf("b1|typed|p%d", i), []byte("x"), time.Hour); err != nil {
					t.Fatalf("slot %d: %v", i, err)
				}
			}
			if err := st.KeepRescue(ctx, ann, "b1|typed|one-more", []byte("x"), time.Hour); !errors.Is(err, session.ErrRescueFull) {
				t.Fatalf("slot %d: %v, want ErrRescueFull", session.MaxRescueSlots+1, err)
			}
			if err := st.KeepRescue(ctx, ann, "b1|typed|p0", []byte("y"), time.Hour); err != nil {
				t.Fatalf("replacing a slot at the bound: %v", err)
			}
			// a browser's slots go together, another browser's stay
			if err := st.KeepRescue(ctx, ben, "b2|typed|page", note, time.Hour); err != nil {
				t.Fatal(err)
			}
			if n, err := st.DropRescues(ctx, ann, "b1|"); err != nil || n != session.MaxRescueSlots {
				t.Fatalf("drop: %d %v, want %d", n, err, session.MaxRescueSlots)
			}
			if got, _ := st.TakeRescue(ctx, ann, "b1|typed|p3"); got != nil {
				t.Fatal("a dropped rescue was taken")
			}
			// the bound in bytes
			big := bytes.Repeat([]byte("a"), session.MaxRescueBytes/2)
			if err := st.KeepRescue(ctx, ben, "b2|sent|1", big, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := st.KeepRescue(ctx, ben, "b2|sent|2", big, time.Hour); !errors.Is(err, session.ErrRescueFull) {
				t.Fatalf("over the byte bound: %v, want ErrRescueFull", err)
			}
			if got, _ := st.TakeRescue(ctx, ben, "b2|typed|page"); !bytes.Equal(got, note) {
				t.Fatalf("ben's rescue after ann's drop: %q", got)
			}
		})
	}
}
