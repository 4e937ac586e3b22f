package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// The display claims travel in the sealed cookie, so that Redis keeps only
// the timers; claims too large for a cookie (hundreds of groups) are kept in
// the store instead, and the app gets the same identity headers either way.
func TestIdentityInCookieOrStoreBySize(t *testing.T) {
	srv := testredis.Start(t)
	clock := testclock.New()
	store := session.NewRedisStore(srv.Client(t), session.Options{Clock: clock.Now})
	t.Cleanup(func() { _ = store.Close() })
	f := newFixture(t, store, clock)
	for _, n := range []int{3, 400} {
		t.Run(fmt.Sprintf("%d groups", n), func(t *testing.T) {
			groups := make([]string, n)
			for i := range groups {
				groups[i] = fmt.Sprintf("ehr-department-group-%03d", i)
			}
			s := &session.Session{ID: session.NewID(), UserKey: session.UserKey("https://idp.invalid", "u1"),
				Subject: "u1", Name: "Dr One", Groups: groups}
			s.IdentityInStore = !f.g.identityFitsCookie(s)
			if s.IdentityInStore != (n == 400) {
				t.Fatalf("%d groups: identity in store = %v", n, s.IdentityInStore)
			}
			if _, err := store.Create(context.Background(), s, f.g.limits(), session.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			v, err := f.g.sealer.Seal(sessionCookieSealKey, s.Ref())
			if err != nil {
				t.Fatal(err)
			}
			if len(v) > sessionCookieBudget {
				t.Fatalf("cookie value %d bytes, budget %d", len(v), sessionCookieBudget)
			}
			var seen string
			w := httptest.NewRecorder()
			r := request("GET", "/chart", &http.Cookie{Name: sessionCookieName, Value: v}, click)
			_ = f.g.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error {
				seen = r.Header.Get("X-Forwarded-Groups")
				return nil
			})
			if want := strings.Join(groups, ","); seen != want {
				t.Fatalf("groups header %d bytes, want %d", len(seen), len(want))
			}
		})
	}
}
