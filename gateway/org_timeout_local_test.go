package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// slowSettings is a Redis store whose settings take a while to read, as
// over a slow link: the follower of the organization's timer lags.
type slowSettings struct {
	*session.RedisStore
	delay time.Duration
}

// Setting implements session.SharedState, late.
func (s slowSettings) Setting(ctx context.Context, name string) (string, error) {
	time.Sleep(s.delay)
	return s.RedisStore.Setting(ctx, name)
}

// managedNode is a gateway node with an admin group and a Redis store of its
// own (its local copy on) on srv.
func managedNode(t *testing.T, srv *testredis.Server, clock *testclock.Clock, wrap func(*session.RedisStore) session.Store) *fixture {
	t.Helper()
	store := session.NewRedisStore(srv.Client(t), session.Options{Clock: clock.Now})
	t.Cleanup(func() { _ = store.Close() })
	cfg := &config.Settings{
		Issuer: "https://idp.invalid", ClientID: "c", CookieSecrets: []string{strings.Repeat("s", 40)},
		AdminGroup: "practice-managers", AbsoluteTimeout: config.Duration(9 * time.Hour),
		IdleTimeout:            config.Duration(time.Hour),
		AbsoluteTimeoutChoices: []config.Duration{config.Duration(time.Hour), config.Duration(9 * time.Hour)},
	}
	var st session.Store = store
	if wrap != nil {
		st = wrap(store)
	}
	g := testGateway(t, cfg, st, clock.Now)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		v, _ := store.SettingsVersion()
		if store.ReadsLocally() && g.inForce.Load().version >= v {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node did not read the settings from its copy within 5 s")
		}
	}
	return &fixture{g: g, clock: clock, store: store}
}

// A manager lowers the organization's absolute timeout on node A: node B,
// which answers checks from its local copy, applies it to every check after
// the change was announced to it, even while its follower is still reading
// the new choice (it waits for it), not from its next re-read on.
func TestOrgAbsoluteTimeoutAppliesOnAnnouncement(t *testing.T) {
	srv := testredis.Start(t)
	clock := testclock.New()
	a := managedNode(t, srv, clock, nil)
	var bStore *session.RedisStore
	b := managedNode(t, srv, clock, func(s *session.RedisStore) session.Store {
		bStore = s
		return slowSettings{RedisStore: s, delay: 200 * time.Millisecond}
	})
	cookie := a.signIn(t)
	for range 2 { // node B holds the session in its copy; 80 minutes of work, past the hour to come
		clock.Advance(40 * time.Minute)
		if w := b.serve(request("GET", "/chart", cookie, click)); w.Code != http.StatusOK {
			t.Fatalf("node B: %d", w.Code)
		}
	}
	before, _ := bStore.SettingsVersion()
	err := a.g.saveOrgAbsoluteTimeout(context.Background(), OrgAbsoluteTimeout{Enabled: true,
		Absolute: config.Duration(time.Hour), ChangedBy: "manager", ChangedAt: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Second); ; time.Sleep(100 * time.Microsecond) {
		if v, _ := bStore.SettingsVersion(); v > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not announced to node B within 1 s")
		}
	}
	hits := b.hits
	if w := b.serve(request("GET", "/chart", cookie, click)); w.Code == http.StatusOK || b.hits != hits {
		t.Fatalf("node B let a session past the manager's new absolute timeout in (%d)", w.Code)
	}
}
