package gateway

// Hostile input against the gateway without Caddy (issue #7, point 5): every
// test drives Gateway.ServeHTTP with httptest, counts what reaches the
// session store and the app, and checks that nothing changed when a request
// is refused. The end-to-end counterparts (through Caddy, a real provider
// and Redis) are in caddymodule/e2e_hostile_*_test.go.

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

// countingStore counts every call that reaches the session store.
type countingStore struct {
	session.Store
	n atomic.Int64
}

func (c *countingStore) calls() int64 { return c.n.Load() }

func (c *countingStore) Create(ctx context.Context, s *session.Session, l session.LimitTable, o session.CreateOptions) ([]string, error) {
	c.n.Add(1)
	return c.Store.Create(ctx, s, l, o)
}

func (c *countingStore) Check(ctx context.Context, ref session.Ref, l session.LimitTable, activity bool) (session.CheckResult, error) {
	c.n.Add(1)
	return c.Store.Check(ctx, ref, l, activity)
}

func (c *countingStore) Get(ctx context.Context, ref session.Ref) (*session.Session, error) {
	c.n.Add(1)
	return c.Store.Get(ctx, ref)
}

func (c *countingStore) End(ctx context.Context, ref session.Ref, reason session.Reason) error {
	c.n.Add(1)
	return c.Store.End(ctx, ref, reason)
}

func (c *countingStore) List(ctx context.Context, userKey string, l session.LimitTable) ([]*session.Session, error) {
	c.n.Add(1)
	return c.Store.List(ctx, userKey, l)
}

func (c *countingStore) RememberUser(ctx context.Context, userKey, subject string, names []session.UserName) error {
	c.n.Add(1)
	return c.Store.RememberUser(ctx, userKey, subject, names)
}

func (c *countingStore) LookupUser(ctx context.Context, kind session.NameKind, name string) ([]session.UserMatch, error) {
	c.n.Add(1)
	return c.Store.LookupUser(ctx, kind, name)
}

func (c *countingStore) SessionsForIdPSession(ctx context.Context, sid string) ([]session.Ref, error) {
	c.n.Add(1)
	return c.Store.SessionsForIdPSession(ctx, sid)
}

func (c *countingStore) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	c.n.Add(1)
	return c.Store.Once(ctx, key, ttl)
}

func (c *countingStore) SetSetting(ctx context.Context, name, value string) error {
	c.n.Add(1)
	return c.Store.SetSetting(ctx, name, value)
}

// Setting is not counted: with admin_group set, the gateway polls it in the
// background every two seconds.

var (
	secretCurrent = strings.Repeat("c", 40)
	secretOlder   = strings.Repeat("o", 40)
	secretForeign = strings.Repeat("f", 40)
)

const hostileIssuer = "https://idp.invalid"

// allIdentityHeaders configures one header for every kind of claim.
var allIdentityHeaders = map[string]string{
	"X-Forwarded-User":       "sub",
	"X-Forwarded-Email":      "email",
	"X-Forwarded-Groups":     "groups",
	"X-Forwarded-Name":       "name",
	"X-Forwarded-Sid":        "sid",
	"X-Forwarded-Department": "department",
}

// hostile is a gateway whose store calls, app hits and upstream headers are
// recorded.
type hostile struct {
	g     *Gateway
	clock *testclock.Clock
	store *countingStore
	hits  int
	seen  http.Header // the headers of the last request that reached the app
}

// newStore returns a counted memory store on clock.
func newStore(t testing.TB, clock *testclock.Clock) *countingStore {
	t.Helper()
	mem := session.NewMemoryStore(session.Options{Clock: clock.Now}, 0)
	t.Cleanup(func() { _ = mem.Close() })
	return &countingStore{Store: mem}
}

// newHostile builds a gateway with the given cookie secrets on store (a new
// one when nil); edit may change the settings before defaults apply.
func newHostile(t testing.TB, secrets []string, store *countingStore, clock *testclock.Clock, edit func(*config.Settings)) *hostile {
	t.Helper()
	if clock == nil {
		clock = testclock.New()
	}
	if store == nil {
		store = newStore(t, clock)
	}
	cfg := &config.Settings{Issuer: hostileIssuer, ClientID: "c", CookieSecrets: secrets,
		IdentityHeaders: maps.Clone(allIdentityHeaders)}
	if edit != nil {
		edit(cfg)
	}
	return &hostile{g: testGateway(t, cfg, store, clock.Now), clock: clock, store: store}
}

func (h *hostile) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	_ = h.g.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error {
		h.hits++
		h.seen = r.Header.Clone()
		w.WriteHeader(http.StatusOK)
		return nil
	})
	return w
}

// signIn stores s as a new session (ID and user key filled in when empty)
// and returns its session cookie.
func (h *hostile) signIn(t testing.TB, s *session.Session) *http.Cookie {
	t.Helper()
	if s.ID == "" {
		s.ID = session.NewID()
	}
	if s.UserKey == "" {
		s.UserKey = session.UserKey(hostileIssuer, s.Subject)
	}
	if _, err := h.store.Store.Create(context.Background(), s, h.g.limits(), session.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookieName, Value: mustSeal(t, h.g.sealer, sessionCookieSealKey, s.Ref())}
}

// alive reports whether s is still in the store (without counting the call).
func (h *hostile) alive(t testing.TB, s *session.Session) *session.Session {
	t.Helper()
	got, err := h.store.Store.Get(context.Background(), s.Ref())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mustSeal(t testing.TB, s *auth.Sealer, name string, v any) string {
	t.Helper()
	out, err := s.Seal(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustSealer(t testing.TB, secrets ...string) *auth.Sealer {
	t.Helper()
	s, err := auth.NewSealer(secrets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hostileRequest builds a request to http://gw.test with an optional body,
// cookie and headers.
func hostileRequest(method, target string, body string, c *http.Cookie, hdr map[string]string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://gw.test"+target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c != nil {
		r.AddCookie(c)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}
