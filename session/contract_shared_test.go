package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testclock"
)

// TestSharedStateContract runs the SharedState role's suite against every
// store implementation: replay markers and runtime settings.
func TestSharedStateContract(t *testing.T) {
	for name, factory := range storeFactories(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := factory(t, testclock.New().Now)
			if first, err := st.Once(ctx, "jti-1", time.Minute); err != nil || !first {
				t.Fatalf("first once: %v %v", first, err)
			}
			if again, _ := st.Once(ctx, "jti-1", time.Minute); again {
				t.Fatal("a replayed key was accepted")
			}
			if err := st.Forget(ctx, "jti-1"); err != nil {
				t.Fatal(err)
			}
			if first, err := st.Once(ctx, "jti-1", time.Minute); err != nil || !first {
				t.Fatalf("once after forget: %v %v", first, err)
			}
			if v, err := st.Setting(ctx, "org"); err != nil || v != "" {
				t.Fatalf("unset setting: %q %v", v, err)
			}
			if err := st.SetSetting(ctx, "org", `{"absolute":"24h"}`); err != nil {
				t.Fatal(err)
			}
			if v, _ := st.Setting(ctx, "org"); v != `{"absolute":"24h"}` {
				t.Fatalf("setting: %q", v)
			}
		})
	}
}
