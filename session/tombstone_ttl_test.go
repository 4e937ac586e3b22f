package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

// A store made by the first configuration remembers why sessions ended for
// as long as a later configuration needs (#15 point 9: the Caddy module
// shares one store across reloads, so the first TombstoneTTL stayed).
func TestStoreTombstoneTTLCanBeRaised(t *testing.T) {
	for name, factory := range storeFactories(t) {
		t.Run(name, func(t *testing.T) {
			clock := testclock.New()
			st := factory(t, clock.Now) // default: 24h
			st.(interface{ RaiseTombstoneTTL(time.Duration) }).RaiseTombstoneTTL(72 * time.Hour)
			st.(interface{ RaiseTombstoneTTL(time.Duration) }).RaiseTombstoneTTL(time.Hour) // never lowered
			ctx := context.Background()
			long := session.LimitTable{Default: session.Limits{Idle: 15 * time.Minute, Absolute: 100 * time.Hour}}
			s := newSession("ttl")
			if _, err := st.Create(ctx, s, long, session.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := st.End(ctx, s.Ref(), session.ReasonRevoked); err != nil {
				t.Fatal(err)
			}
			clock.Advance(48 * time.Hour)
			res, err := st.Check(ctx, s.Ref(), long, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Valid || res.Reason != session.ReasonRevoked {
				t.Fatalf("48h after a revocation (TTL raised to 72h): %+v, want the reason revoked", res)
			}
		})
	}
}
