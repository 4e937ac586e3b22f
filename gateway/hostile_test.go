package gateway

// Hostile input against the gateway without Caddy (issue #7, point 5): every
// test drives Gateway.ServeHTTP with httptest, counts what reaches the
// session store and the app, and checks that nothing changed when a request
// is refused. The end-to-end counterparts (through Caddy, a real provider
// and Redis) are in caddymodule/e2e_hostile_test.go.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"golang.org/x/net/html"

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
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sealer, err := auth.NewSealer(cfg.CookieSecrets)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Settings: cfg, Store: store, Sealer: sealer, Now: clock.Now,
		RP: auth.New(auth.Config{Issuer: cfg.Issuer, ClientID: "c", HTTPClient: &http.Client{Timeout: time.Millisecond}})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return &hostile{g: g, clock: clock, store: store}
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

// sealedParts splits a sealed value into securecookie's date|value|mac.
func sealedParts(t *testing.T, v string) (date, value, mac []byte) {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.SplitN(raw, []byte("|"), 3)
	if len(parts) != 3 {
		t.Fatalf("sealed value has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

func joinSealed(parts ...[]byte) string {
	return base64.URLEncoding.EncodeToString(bytes.Join(parts, []byte("|")))
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}

// hostileCookieValues are session cookie values that must never open: every
// part of a valid value bit-flipped, truncated, extended or rearranged, and
// values sealed under another cookie's name or another site's secret.
func hostileCookieValues(t *testing.T, h *hostile, s *session.Session) map[string]string {
	t.Helper()
	valid := mustSeal(t, h.g.sealer, sessionCookieSealKey, s.Ref())
	date, value, mac := sealedParts(t, valid)
	out := map[string]string{}
	for name, part := range map[string][]byte{"date": date, "value": value, "mac": mac} {
		for _, i := range []int{0, len(part) / 2, len(part) - 1} {
			p := map[string][]byte{"date": date, "value": value, "mac": mac}
			p[name] = flip(part, i)
			out[fmt.Sprintf("bit flip in %s byte %d", name, i)] = joinSealed(p["date"], p["value"], p["mac"])
		}
	}
	out["date changed to now"] = joinSealed([]byte(fmt.Sprint(time.Now().Unix()+1)), value, mac)
	out["value of another seal under this mac"] = func() string {
		_, v2, _ := sealedParts(t, mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{ID: "x", UserKey: "y"}))
		return joinSealed(date, v2, mac)
	}()
	out["parts swapped"] = joinSealed(value, date, mac)
	out["mac dropped"] = joinSealed(date, value)
	out["mac empty"] = joinSealed(date, value, nil)
	out["mac doubled"] = joinSealed(date, value, append(bytes.Clone(mac), mac...))
	out["separators dropped"] = base64.URLEncoding.EncodeToString(bytes.Join([][]byte{date, value, mac}, nil))
	out["raw, not base64"] = string(date) + "|" + string(value)
	out["appended data"] = valid + "AAAA"
	out["appended separator"] = strings.TrimRight(valid, "=") + "fA"
	out["4097 characters"] = strings.Repeat("A", 4097)
	out["64 KiB"] = strings.Repeat("A", 64<<10)
	out["64 KiB of base64"] = base64.URLEncoding.EncodeToString(bytes.Repeat([]byte("0|x|"), 12<<10))
	for _, n := range []int{1, 4, 16, len(valid) / 2, len(valid) - 8, len(valid) - 4, len(valid) - 1} {
		out[fmt.Sprintf("truncated to %d", n)] = valid[:n]
		out[fmt.Sprintf("first %d characters cut", n)] = valid[n:]
	}
	out["empty"] = ""
	// values the gateway sealed itself, but under another cookie's name
	out["seen marker"] = mustSeal(t, h.g.sealer, seenCookieSealKey, seenMarker{CreatedAt: 1})
	out["seen marker name, session ref"] = mustSeal(t, h.g.sealer, seenCookieSealKey, s.Ref())
	out["login state"] = mustSeal(t, h.g.sealer, loginCookieSealKey, auth.LoginState{State: s.ID, Nonce: s.UserKey})
	out["login state name, session ref"] = mustSeal(t, h.g.sealer, loginCookieSealKey, s.Ref())
	out["ID token cookie"] = mustSeal(t, h.g.sealer, idTokenCookieSealKey, idTokenCookie{SessionID: s.ID, IDToken: "t"})
	// right name, wrong content
	out["empty ref"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{})
	out["ref without user key"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{ID: s.ID})
	out["ref without ID"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{UserKey: s.UserKey})
	out["a string"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, s.ID)
	// another site's (or a removed) secret
	out["another site's secret"] = mustSeal(t, mustSealer(t, secretForeign), sessionCookieSealKey, s.Ref())
	out["the current secret used as raw keys"] = func() string {
		raw := securecookie.New([]byte(secretCurrent), []byte(secretCurrent[:32]))
		raw.SetSerializer(securecookie.JSONEncoder{})
		v, err := raw.Encode(sessionCookieSealKey, s.Ref())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}()
	return out
}

// The session cookie carries the session reference sealed (encrypted and
// MAC'd): any value that does not open is no session at all, and the store
// is never asked about it.
func TestHostileSessionCookieNeverReachesTheStore(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	alice := &session.Session{Subject: "alice", Name: "Alice"}
	valid := h.signIn(t, alice)
	values := hostileCookieValues(t, h, alice)
	if len(values) < 40 {
		t.Fatalf("only %d hostile values", len(values))
	}
	for name, v := range values {
		c := &http.Cookie{Name: sessionCookieName, Value: v}
		before := h.store.calls()
		// background request: 401 unauthenticated
		w := h.serve(hostileRequest("GET", "/api/q", "", c, poll))
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"unauthenticated"`) {
			t.Errorf("%s: background request %d %s", name, w.Code, w.Body)
		}
		// a frame navigation: the break-out page to the sign-in
		if w := h.serve(hostileRequest("GET", "/chart", "", c, frameNav)); w.Code != http.StatusOK ||
			!strings.Contains(w.Body.String(), "/.sessiongate/login") {
			t.Errorf("%s: frame navigation %d", name, w.Code)
		}
		// the gateway's own endpoints
		if w := h.serve(hostileRequest("GET", "/.sessiongate/status", "", c, poll)); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, w.Code)
		}
		if w := h.serve(hostileRequest("POST", "/.sessiongate/activity", "", c, map[string]string{
			"Origin": "http://gw.test", "X-Sessiongate-CSRF": h.g.csrfToken(alice)})); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: activity %d", name, w.Code)
		}
		if w := h.serve(hostileRequest("POST", "/.sessiongate/logout", "csrf="+h.g.csrfToken(alice), c,
			map[string]string{"Origin": "http://gw.test"})); w.Code != http.StatusSeeOther {
			t.Errorf("%s: logout %d", name, w.Code)
		}
		if w := h.serve(hostileRequest("POST", "/.sessiongate/sessions", "action=end_others&csrf="+h.g.csrfToken(alice), c,
			poll)); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: sessions %d", name, w.Code)
		}
		if got := h.store.calls() - before; got != 0 {
			t.Errorf("%s: %d store calls for a cookie that does not open", name, got)
		}
		if h.hits != 0 {
			t.Fatalf("%s: reached the app", name)
		}
	}
	if h.alive(t, alice) == nil {
		t.Fatal("a hostile cookie ended the session")
	}
	// the control: the untouched cookie passes with one store call
	before := h.store.calls()
	if w := h.serve(hostileRequest("GET", "/api/q", "", valid, poll)); w.Code != http.StatusOK || h.hits != 1 {
		t.Fatalf("valid cookie: %d hits=%d", w.Code, h.hits)
	}
	if got := h.store.calls() - before; got != 1 {
		t.Fatalf("valid cookie: %d store calls, want 1", got)
	}
}

// Cookie names are exact: another spelling of the session cookie's name is
// an unknown cookie (and the app's business).
func TestHostileSessionCookieNameVariants(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	alice := &session.Session{Subject: "alice"}
	valid := h.signIn(t, alice)
	for _, name := range []string{"Sessiongate", "SESSIONGATE", "sessiongate_", "_sessiongate", "__Host-sessiongate",
		"__Secure-sessiongate", "sessiongate_seen", "sessiongate_login_x"} {
		before := h.store.calls()
		w := h.serve(hostileRequest("GET", "/api/q", "", &http.Cookie{Name: name, Value: valid.Value}, poll))
		if w.Code != http.StatusUnauthorized || h.hits != 0 || h.store.calls() != before {
			t.Errorf("cookie named %q: %d hits=%d store calls=%d", name, w.Code, h.hits, h.store.calls()-before)
		}
	}
	// on HTTPS only the __Host- name counts
	r := httptest.NewRequest("GET", "https://gw.test/api/q", nil)
	r.AddCookie(valid)
	for k, v := range poll {
		r.Header.Set(k, v)
	}
	if w := h.serve(r); w.Code != http.StatusUnauthorized || h.hits != 0 {
		t.Errorf("unprefixed cookie on HTTPS: %d hits=%d", w.Code, h.hits)
	}
}

// A 64 KiB Cookie header: no crash, a sane status, and the store is asked
// only when the session cookie itself opens.
func TestHostileCookieHeader64KiB(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	alice := &session.Session{Subject: "alice"}
	valid := h.signIn(t, alice)
	var junk strings.Builder
	for i := 0; junk.Len() < 64<<10; i++ {
		fmt.Fprintf(&junk, "app%d=%s; ", i, strings.Repeat("x", 100))
	}
	var dupes strings.Builder
	for dupes.Len() < 64<<10 {
		dupes.WriteString("sessiongate=" + strings.Repeat("A", 200) + "; ")
	}
	cases := []struct {
		name     string
		header   string
		want     int
		calls    int64
		upstream bool
	}{
		{"a 64 KiB session cookie", "sessiongate=" + strings.Repeat("A", 64<<10), http.StatusUnauthorized, 0, false},
		{"64 KiB of other cookies, then the session cookie", junk.String() + "sessiongate=" + valid.Value, http.StatusOK, 1, true},
		{"the session cookie, then 64 KiB of other cookies", "sessiongate=" + valid.Value + "; " + junk.String(), http.StatusOK, 1, true},
		// at most four copies of the name are tried: 64 KiB of forged ones in front is no session
		{"a forged session cookie in front of the valid one", "sessiongate=" + strings.Repeat("A", 200) + "; sessiongate=" + valid.Value +
			"; " + junk.String(), http.StatusOK, 1, true},
		{"64 KiB of forged session cookies in front", dupes.String() + "sessiongate=" + valid.Value, http.StatusUnauthorized, 0, false},
		{"64 KiB of nothing but separators", strings.Repeat("; ", 32<<10), http.StatusUnauthorized, 0, false},
		{"64 KiB of a name without a value", strings.Repeat("s", 64<<10), http.StatusUnauthorized, 0, false},
	}
	for _, tc := range cases {
		if len(tc.header) < 64<<10 {
			t.Fatalf("%s: header only %d bytes", tc.name, len(tc.header))
		}
		for _, path := range []string{"/api/q", "/.sessiongate/status"} {
			r := hostileRequest("GET", path, "", nil, poll)
			r.Header.Set("Cookie", tc.header)
			before, hits := h.store.calls(), h.hits
			w := h.serve(r)
			if w.Code != tc.want {
				t.Errorf("%s, %s: %d, want %d", tc.name, path, w.Code, tc.want)
			}
			if got := h.store.calls() - before; got != tc.calls {
				t.Errorf("%s, %s: %d store calls, want %d", tc.name, path, got, tc.calls)
			}
			if path == "/api/q" && (h.hits != hits) != tc.upstream {
				t.Errorf("%s: reached the app: %v", tc.name, h.hits != hits)
			}
		}
	}
	// the app gets its own cookies back, without the session cookie
	if got := h.seen.Get("Cookie"); strings.Contains(got, "sessiongate") || !strings.Contains(got, "app0=") {
		t.Errorf("upstream Cookie header: %.100q", got)
	}
}

// The same cookie value presented after the session ended (sign-out here,
// sign-out from another device, the banner's sign-out) opens, but the store
// says the session is over: nothing passes.
func TestHostileCookieReplayedAfterSignOut(t *testing.T) {
	same := map[string]string{"Origin": "http://gw.test"}
	for _, how := range []string{"logout form", "banner logout", "signed out from another device"} {
		t.Run(how, func(t *testing.T) {
			h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
			alice := &session.Session{Subject: "alice"}
			c := h.signIn(t, alice)
			csrf := h.g.csrfToken(alice)
			switch how {
			case "logout form":
				if w := h.serve(hostileRequest("POST", "/.sessiongate/logout", "csrf="+csrf, c, same)); w.Code != http.StatusSeeOther {
					t.Fatalf("logout: %d %s", w.Code, w.Body)
				}
			case "banner logout":
				w := h.serve(hostileRequest("POST", "/.sessiongate/logout", "switch=0", c,
					map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": csrf}))
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"location"`) {
					t.Fatalf("banner logout: %d %s", w.Code, w.Body)
				}
			default:
				tablet := &session.Session{Subject: "alice"}
				other := h.signIn(t, tablet)
				w := h.serve(hostileRequest("POST", "/.sessiongate/sessions", "action=end_others&csrf="+h.g.csrfToken(tablet), other, same))
				if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "ended=1") {
					t.Fatalf("end others: %d %s", w.Code, w.Header().Get("Location"))
				}
			}
			if h.alive(t, alice) != nil {
				t.Fatal("the session is still in the store")
			}
			reason := "logout"
			if how == "signed out from another device" {
				reason = "revoked"
			}
			// the replayed cookie, everywhere
			w := h.serve(hostileRequest("GET", "/api/q", "", c, poll))
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"reason":"`+reason+`"`) {
				t.Errorf("background: %d %s", w.Code, w.Body)
			}
			w = h.serve(hostileRequest("GET", "/chart", "", c, click))
			loc, _ := url.Parse(w.Header().Get("Location"))
			if w.Code != http.StatusFound || loc.Path != "/.sessiongate/signed-out" || loc.Query().Get("reason") != reason {
				t.Errorf("navigation: %d %s", w.Code, loc)
			}
			if w := h.serve(hostileRequest("GET", "/.sessiongate/status", "", c, poll)); w.Code != http.StatusUnauthorized {
				t.Errorf("status: %d", w.Code)
			}
			if w := h.serve(hostileRequest("POST", "/.sessiongate/activity", "", c,
				map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": csrf})); w.Code != http.StatusUnauthorized {
				t.Errorf("activity: %d", w.Code)
			}
			if w := h.serve(hostileRequest("GET", "/.sessiongate/sessions", "", c, click)); w.Code != http.StatusFound {
				t.Errorf("devices page: %d", w.Code)
			}
			if h.hits != 0 {
				t.Fatalf("a replayed cookie reached the app %d times", h.hits)
			}
			if h.alive(t, alice) != nil {
				t.Fatal("the replay revived the session")
			}
		})
	}
}

// Cookie secret rotation: a cookie sealed with the old secret is accepted
// while that secret is listed as an older cookie_secret (with its CSRF
// token), and refused, without a store call, once it is removed.
func TestHostileCookieKeyRotation(t *testing.T) {
	clock := testclock.New()
	store := newStore(t, clock)
	before := newHostile(t, []string{secretOlder}, store, clock, nil)
	during := newHostile(t, []string{secretCurrent, secretOlder}, store, clock, nil)
	after := newHostile(t, []string{secretCurrent}, store, clock, nil)

	alice := &session.Session{Subject: "alice"}
	oldCookie := before.signIn(t, alice)
	oldCSRF := before.g.csrfToken(alice)
	same := map[string]string{"Origin": "http://gw.test"}

	if w := before.serve(hostileRequest("GET", "/api/q", "", oldCookie, poll)); w.Code != http.StatusOK {
		t.Fatalf("before the rotation: %d", w.Code)
	}
	// during: the old cookie and the old CSRF token are accepted
	if w := during.serve(hostileRequest("GET", "/api/q", "", oldCookie, poll)); w.Code != http.StatusOK || during.hits != 1 {
		t.Fatalf("old cookie while the old secret is listed: %d", w.Code)
	}
	w := during.serve(hostileRequest("POST", "/.sessiongate/activity", "", oldCookie,
		map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": oldCSRF}))
	if w.Code != http.StatusOK {
		t.Fatalf("old CSRF token while the old secret is listed: %d %s", w.Code, w.Body)
	}
	var st statusBody
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.CSRF == oldCSRF || st.CSRF == "" {
		t.Fatalf("new CSRF tokens must use the current secret: %q (old %q)", st.CSRF, oldCSRF)
	}
	// new cookies are sealed with the current secret: the old secret alone cannot open them
	newCookie := &http.Cookie{Name: sessionCookieName, Value: mustSeal(t, during.g.sealer, sessionCookieSealKey, alice.Ref())}
	if w := before.serve(hostileRequest("GET", "/api/q", "", newCookie, poll)); w.Code != http.StatusUnauthorized {
		t.Fatalf("a cookie of the rotated gateway opened with the old secret alone: %d", w.Code)
	}

	// after: the old secret is removed
	calls := store.calls()
	if w := after.serve(hostileRequest("GET", "/api/q", "", oldCookie, poll)); w.Code != http.StatusUnauthorized ||
		!strings.Contains(w.Body.String(), `"unauthenticated"`) {
		t.Fatalf("old cookie after the old secret was removed: %d %s", w.Code, w.Body)
	}
	if w := after.serve(hostileRequest("GET", "/.sessiongate/status", "", oldCookie, poll)); w.Code != http.StatusUnauthorized {
		t.Fatalf("status with the old cookie after removal: %d", w.Code)
	}
	if got := store.calls() - calls; got != 0 || after.hits != 0 {
		t.Fatalf("old cookie after removal: %d store calls, %d app hits", got, after.hits)
	}
	// the cookie of the current secret works, but the old secret's CSRF token does not
	if w := after.serve(hostileRequest("GET", "/api/q", "", newCookie, poll)); w.Code != http.StatusOK {
		t.Fatalf("current cookie: %d", w.Code)
	}
	if w := after.serve(hostileRequest("POST", "/.sessiongate/activity", "", newCookie,
		map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": oldCSRF})); w.Code != http.StatusForbidden {
		t.Fatalf("old CSRF token after removal: %d", w.Code)
	}
	if w := after.serve(hostileRequest("POST", "/.sessiongate/logout", "csrf="+url.QueryEscape(after.g.csrfToken(alice)), newCookie, same)); w.Code != http.StatusSeeOther {
		t.Fatalf("logout with the current token: %d", w.Code)
	}
}

// csrfEnv is a manager signed in on two devices and another user, on a
// gateway with the admin page.
type csrfEnv struct {
	h                    *hostile
	me, meTablet, victim *session.Session
	cookie               *http.Cookie
}

func newCSRFEnv(t *testing.T) *csrfEnv {
	t.Helper()
	h := newHostile(t, []string{secretCurrent}, nil, nil, func(c *config.Settings) {
		c.AdminGroup = "practice-managers"
		c.AbsoluteTimeoutChoices = []config.Duration{config.Duration(9 * time.Hour), config.Duration(24 * time.Hour)}
	})
	e := &csrfEnv{h: h,
		me:       &session.Session{Subject: "manager", Groups: []string{"practice-managers"}},
		meTablet: &session.Session{Subject: "manager", Groups: []string{"practice-managers"}},
		victim:   &session.Session{Subject: "victim", Groups: []string{"clinicians"}},
	}
	e.cookie = h.signIn(t, e.me)
	h.signIn(t, e.meTablet)
	h.signIn(t, e.victim)
	if err := h.store.Store.RememberUser(context.Background(), e.victim.UserKey, e.victim.Subject,
		[]session.UserName{{Kind: session.NameUsername, Value: "victim"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// state is everything a state-changing POST could change: each session's
// existence and last activity, and the organization policy.
func (e *csrfEnv) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, s := range []*session.Session{e.me, e.meTablet, e.victim} {
		if got := e.h.alive(t, s); got == nil {
			b.WriteString("gone ")
		} else {
			fmt.Fprintf(&b, "%d ", got.LastActivity.UnixMilli())
		}
	}
	org, err := e.h.store.Store.Setting(context.Background(), e.h.g.orgSettingName())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "org=%q abs=%v", org, e.h.g.limits().Default.Absolute)
	return b.String()
}

// csrfEndpoint is one state-changing POST of the gateway.
type csrfEndpoint struct {
	name string
	// request carries token where the endpoint expects it, or in the query
	// string when inQuery.
	request func(e *csrfEnv, token string, inQuery bool) *http.Request
	// okStatus and changed describe the accepted request.
	okStatus int
	changed  func(t *testing.T, e *csrfEnv) bool
}

func formPost(path string, form url.Values, token string, inQuery bool) *http.Request {
	target := path
	if inQuery {
		target += "?csrf=" + url.QueryEscape(token)
	} else if token != "" {
		form.Set("csrf", token)
	}
	return hostileRequest("POST", target, form.Encode(), nil, nil)
}

func headerPost(path, body, token string, inQuery bool) *http.Request {
	target := path
	if inQuery {
		target += "?csrf=" + url.QueryEscape(token)
	}
	r := hostileRequest("POST", target, body, nil, nil)
	if !inQuery && token != "" {
		r.Header.Set("X-Sessiongate-CSRF", token)
	}
	return r
}

var csrfEndpoints = []csrfEndpoint{
	{"activity", func(e *csrfEnv, token string, q bool) *http.Request {
		return headerPost("/.sessiongate/activity", "", token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool {
		return e.h.alive(t, e.me).LastActivity.Equal(e.h.clock.Now())
	}},
	{"logout (form)", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/logout", url.Values{}, token, q)
	}, http.StatusSeeOther, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.me) == nil }},
	{"logout (banner)", func(e *csrfEnv, token string, q bool) *http.Request {
		return headerPost("/.sessiongate/logout", "switch=0", token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.me) == nil }},
	{"sessions: end the other devices", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/sessions", url.Values{"action": {"end_others"}}, token, q)
	}, http.StatusSeeOther, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.meTablet) == nil }},
	{"sessions: end one device", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/sessions", url.Values{"action": {"end"}, "device": {session.LogID(e.meTablet.ID)}}, token, q)
	}, http.StatusSeeOther, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.meTablet) == nil }},
	{"admin: set the absolute timer", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/admin", url.Values{"action": {"policy"}, "absolute": {"24h0m0s"}}, token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool { return e.h.g.limits().Default.Absolute == 24*time.Hour }},
	{"admin: sign a user out everywhere", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/admin", url.Values{"action": {"revoke"}, "user": {"victim"}}, token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.victim) == nil }},
}

// csrfAttack is a forged POST: a token and the browser's origin signals.
type csrfAttack struct {
	name    string
	token   func(e *csrfEnv) string
	hdr     map[string]string
	inQuery bool
}

func rightToken(e *csrfEnv) string { return e.h.g.csrfToken(e.me) }

var csrfAttacks = []csrfAttack{
	{"missing token", func(*csrfEnv) string { return "" }, map[string]string{"Origin": "http://gw.test"}, false},
	{"wrong token", func(*csrfEnv) string { return "wrong" }, map[string]string{"Origin": "http://gw.test"}, false},
	{"random token of the right shape", func(*csrfEnv) string {
		return base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 24))
	}, map[string]string{"Origin": "http://gw.test"}, false},
	{"token of the same user's other device", func(e *csrfEnv) string { return e.h.g.csrfToken(e.meTablet) },
		map[string]string{"Origin": "http://gw.test"}, false},
	{"token of another user's session", func(e *csrfEnv) string { return e.h.g.csrfToken(e.victim) },
		map[string]string{"Origin": "http://gw.test"}, false},
	{"token of this session under another site's secret", func(e *csrfEnv) string {
		foreign, err := auth.NewSealer([]string{secretForeign})
		if err != nil {
			panic(err)
		}
		return foreign.Token(csrfPurpose, e.me.ID)
	}, map[string]string{"Origin": "http://gw.test"}, false},
	{"token in the query string", rightToken, map[string]string{"Origin": "http://gw.test"}, true},
	{"cross-site Origin", rightToken, map[string]string{"Origin": "https://evil.example"}, false},
	{"Origin: null", rightToken, map[string]string{"Origin": "null"}, false},
	{"sibling subdomain (same-site)", rightToken, map[string]string{"Origin": "http://evil.gw.test", "Sec-Fetch-Site": "same-site"}, false},
	{"Origin with another scheme", rightToken, map[string]string{"Origin": "https://gw.test"}, false},
	{"Origin with a port", rightToken, map[string]string{"Origin": "http://gw.test:8080"}, false},
	{"no Origin, cross-site Referer", rightToken, map[string]string{"Referer": "https://evil.example/attack"}, false},
	{"no Origin, Referer host-suffix trick", rightToken, map[string]string{"Referer": "http://gw.test.evil.example/"}, false},
	{"no Origin, Referer userinfo trick", rightToken, map[string]string{"Referer": "http://gw.test@evil.example/"}, false},
	{"no Origin, Sec-Fetch-Site cross-site", rightToken, map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
	{"no Origin, Sec-Fetch-Site same-site", rightToken, map[string]string{"Sec-Fetch-Site": "same-site"}, false},
	{"no Origin, Sec-Fetch-Site none", rightToken, map[string]string{"Sec-Fetch-Site": "none"}, false},
	{"cross-site Sec-Fetch-Site beats a same-origin Referer", rightToken,
		map[string]string{"Sec-Fetch-Site": "cross-site", "Referer": "http://gw.test/page"}, false},
}

// CSRF on every state-changing POST: each forged request is refused with
// 403 and changes nothing (no session ends, no timer moves, no policy is
// set); the same request from the same origin with the session's token
// passes.
func TestHostileCSRFOnEveryPostEndpoint(t *testing.T) {
	for _, ep := range csrfEndpoints {
		t.Run(ep.name, func(t *testing.T) {
			e := newCSRFEnv(t)
			for _, a := range csrfAttacks {
				e.h.clock.Advance(10 * time.Second) // so that a recorded activity would show
				before := e.state(t)
				r := ep.request(e, a.token(e), a.inQuery)
				r.AddCookie(e.cookie)
				for k, v := range a.hdr {
					r.Header.Set(k, v)
				}
				w := e.h.serve(r)
				if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "csrf_check_failed") {
					t.Errorf("%s: %d %.200s", a.name, w.Code, w.Body)
				}
				if after := e.state(t); after != before {
					t.Errorf("%s: refused, yet the state changed:\n before %s\n after  %s", a.name, before, after)
				}
				for _, sc := range w.Result().Cookies() {
					if sc.Name == sessionCookieName {
						t.Errorf("%s: the refusal touched the session cookie: %v", a.name, sc)
					}
				}
			}
			// the genuine request
			e.h.clock.Advance(10 * time.Second)
			r := ep.request(e, rightToken(e), false)
			r.AddCookie(e.cookie)
			r.Header.Set("Origin", "http://gw.test")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			if w := e.h.serve(r); w.Code != ep.okStatus {
				t.Fatalf("same origin, right token: %d %.300s", w.Code, w.Body)
			}
			if !ep.changed(t, e) {
				t.Fatalf("same origin, right token: nothing happened (%s)", e.state(t))
			}
			if e.h.hits != 0 {
				t.Fatal("a gateway endpoint reached the app")
			}
		})
	}
}

// Without Origin and Fetch Metadata (older browsers, privacy extensions) the
// Referer decides, and it must name this very origin; with no browser signal
// at all the session's token alone decides.
func TestHostileCSRFRefererOnly(t *testing.T) {
	for _, tc := range []struct {
		referer string
		ok      bool
	}{
		{"http://gw.test/chart?id=7", true},
		{"http://gw.test/", true},
		{"http://gw.test", true},
		{"", true}, // no signal: the token decides
		{"https://evil.example/attack", false},
		{"https://gw.test/chart", false},        // another scheme
		{"http://gw.test:80/chart", false},      // not how browsers write the origin: refused
		{"http://GW.TEST/chart", false},         // likewise
		{"http://gw.test.evil.example/", false}, // host suffix
		{"http://gw.test@evil.example/", false}, // userinfo
		{"http://gw.testevil.example/", false},
		{"http://evil.example/http://gw.test/", false},
		{"null", false},
		{"/chart", false}, // relative: not a browser's Referer
		{"http://gw.test?x=/", false},
	} {
		e := newCSRFEnv(t)
		e.h.clock.Advance(time.Second)
		r := headerPost("/.sessiongate/activity", "", rightToken(e), false)
		r.AddCookie(e.cookie)
		if tc.referer != "" {
			r.Header.Set("Referer", tc.referer)
		}
		w := e.h.serve(r)
		moved := e.h.alive(t, e.me).LastActivity.Equal(e.h.clock.Now())
		if tc.ok && (w.Code != http.StatusOK || !moved) {
			t.Errorf("Referer %q: %d (activity recorded: %v), want it accepted", tc.referer, w.Code, moved)
		}
		if !tc.ok && (w.Code != http.StatusForbidden || moved) {
			t.Errorf("Referer %q: %d (activity recorded: %v), want 403 and no change", tc.referer, w.Code, moved)
		}
	}
}

// Client-sent identity headers never reach the app: every configured header,
// in any letter case, repeated, and spelled with underscores or dots (which
// CGI, WSGI and PHP servers fold into the same variable as the dashed name)
// is removed; headers whose claim the user lacks are absent, not the client's.
func TestHostileIdentityHeadersCannotBeSpoofed(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	s := &session.Session{Subject: "u-real", Name: "Real Name", Groups: []string{"clinicians", "front-desk"},
		IdPSessionID: "sid-1"} // no email, no department
	c := h.signIn(t, s)
	r := hostileRequest("GET", "/chart", "", c, click)
	spoofed := func(name string) []string {
		under := strings.ReplaceAll(name, "-", "_")
		dot := strings.ReplaceAll(name, "-", ".")
		return []string{name, strings.ToLower(name), strings.ToUpper(name), under, strings.ToLower(under),
			strings.ToUpper(under), strings.ReplaceAll(name, "-Forwarded-", "_Forwarded-"), dot, strings.ToLower(dot),
			strings.ReplaceAll(name, "-Forwarded-", ".Forwarded_")}
	}
	for name := range allIdentityHeaders {
		for _, key := range spoofed(name) {
			// raw keys, as a non-canonicalizing front end might pass them, twice each
			r.Header[key] = append(r.Header[key], "mallory", "practice-managers")
		}
	}
	// headers that merely share a prefix are the app's
	r.Header.Set("X-Forwarded-User-Agent", "kept")
	r.Header.Set("X-Forwarded-Users", "kept")
	r.Header.Set("X-Forwarded-For", "192.0.2.1")
	if w := h.serve(r); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := map[string]string{
		"x-forwarded-user": "u-real", "x-forwarded-name": "Real Name", "x-forwarded-groups": "clinicians,front-desk",
		"x-forwarded-sid": "sid-1",
	}
	got := map[string][]string{}
	for key, vals := range h.seen {
		norm := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(key))
		if _, configured := want[norm]; configured || norm == "x-forwarded-email" || norm == "x-forwarded-department" {
			got[key] = vals
		}
		for _, v := range vals {
			if v == "mallory" || v == "practice-managers" {
				t.Errorf("spoofed value reached the app: %s: %q", key, vals)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("identity headers upstream: %q, want exactly %v", got, want)
	}
	for norm, v := range want {
		canon := http.CanonicalHeaderKey(norm)
		if vals := got[canon]; len(vals) != 1 || vals[0] != v {
			t.Errorf("%s upstream = %q, want [%q]", canon, vals, v)
		}
	}
	for _, k := range []string{"X-Forwarded-User-Agent", "X-Forwarded-Users"} {
		if h.seen.Get(k) != "kept" {
			t.Errorf("%s was removed: %q", k, h.seen.Values(k))
		}
	}

	// a custom claim: set from the session, never from the client
	d := &session.Session{Subject: "u-d", Email: "d@clinic.test", Claims: map[string]string{"department": "cardiology"}}
	r = hostileRequest("GET", "/chart", "", h.signIn(t, d), click)
	r.Header["X_Forwarded_Department"] = []string{"oncology"}
	r.Header["X.Forwarded.Department"] = []string{"oncology"}
	r.Header.Add("X-Forwarded-Department", "oncology")
	h.serve(r)
	if got := h.seen.Values("X-Forwarded-Department"); len(got) != 1 || got[0] != "cardiology" {
		t.Errorf("X-Forwarded-Department = %q", got)
	}
	for _, k := range []string{"X_Forwarded_Department", "X.Forwarded.Department"} {
		if _, ok := h.seen[k]; ok {
			t.Errorf("%s reached the app", k)
		}
	}
	if got := h.seen.Values("X-Forwarded-Email"); len(got) != 1 || got[0] != "d@clinic.test" {
		t.Errorf("X-Forwarded-Email = %q", got)
	}
}

// Oversized input: bodies over the limit on every POST endpoint, a huge
// Origin, CSRF header or rd: 4xx (or the harmless default), no crash,
// nothing changes.
func TestHostileOversizedInput(t *testing.T) {
	e := newCSRFEnv(t)
	same := map[string]string{"Origin": "http://gw.test"}
	over := strings.Repeat("a", maxFormBytes+1)
	huge := strings.Repeat("a", 1<<20)
	before := e.state(t)
	for _, tc := range []struct {
		path, body string
		hdr        map[string]string
	}{
		{"/.sessiongate/activity", over, map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": rightToken(e)}},
		{"/.sessiongate/activity", huge, map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": rightToken(e)}},
		{"/.sessiongate/logout", "csrf=" + rightToken(e) + "&pad=" + over, same},
		{"/.sessiongate/logout", "csrf=" + rightToken(e) + "&pad=" + huge, same},
		{"/.sessiongate/sessions", "action=end_others&csrf=" + rightToken(e) + "&pad=" + over, same},
		{"/.sessiongate/admin", "action=revoke&user=victim&csrf=" + rightToken(e) + "&pad=" + over, same},
		{"/.sessiongate/admin", "action=policy&absolute=24h&csrf=" + rightToken(e) + "&pad=" + huge, same},
	} {
		e.h.clock.Advance(time.Second)
		r := hostileRequest("POST", tc.path, tc.body, e.cookie, tc.hdr)
		w := e.h.serve(r)
		if w.Code < 400 || w.Code >= 500 {
			t.Errorf("%s with a %d-byte body: %d, want 4xx", tc.path, len(tc.body), w.Code)
		}
		if after := e.state(t); after != before {
			t.Errorf("%s with a %d-byte body changed the state:\n before %s\n after  %s", tc.path, len(tc.body), before, after)
		}
		before = e.state(t)
	}
	// back-channel logout: over its 64 KiB limit, refused before the provider or the store is asked
	calls := e.h.store.calls()
	for _, body := range []string{"logout_token=" + strings.Repeat("a", maxLogoutRequestBytes), strings.Repeat("a", 1<<20)} {
		w := e.h.serve(hostileRequest("POST", "/.sessiongate/backchannel-logout", body, nil, nil))
		if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("back-channel logout with a %d-byte body: %d", len(body), w.Code)
		}
	}
	if e.h.store.calls() != calls || e.state(t) != before {
		t.Error("an oversized back-channel logout reached the store")
	}
	// a huge Origin or CSRF header: refused
	for _, hdr := range []map[string]string{
		{"Origin": "http://gw.test" + strings.Repeat("a", 64<<10), "X-Sessiongate-CSRF": rightToken(e)},
		{"Origin": "http://gw.test", "X-Sessiongate-CSRF": strings.Repeat("a", 64<<10)},
		{"Referer": "http://evil.example/" + strings.Repeat("a", 64<<10), "X-Sessiongate-CSRF": rightToken(e)},
	} {
		if w := e.h.serve(hostileRequest("POST", "/.sessiongate/activity", "", e.cookie, hdr)); w.Code != http.StatusForbidden {
			t.Errorf("huge header: %d", w.Code)
		}
	}
	if e.state(t) != before {
		t.Error("a huge header changed the state")
	}
	// a huge rd: the return path falls back to "/" and is not reflected
	big := "/" + strings.Repeat("x", 100<<10)
	w := e.h.serve(hostileRequest("GET", "/.sessiongate/signed-out?reason=idle&rd="+url.QueryEscape(big), "", nil, click))
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "xxxxxxxxxx") ||
		!strings.Contains(w.Body.String(), `href="/.sessiongate/login?prompt=login&amp;rd=%2F"`) {
		t.Errorf("signed-out page with a huge rd: %d %.300s", w.Code, w.Body)
	}
	w = e.h.serve(hostileRequest("GET", "/.sessiongate/login?rd="+url.QueryEscape(big), "", nil, click))
	if w.Code >= 500 && w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "xxxxxxxxxx") {
		t.Errorf("login with a huge rd: %d %.300s", w.Code, w.Body)
	}
	// a huge path on an expired session: the signed-out redirect does not carry it
	e.h.clock.Advance(time.Hour)
	w = e.h.serve(hostileRequest("GET", big, "", e.cookie, click))
	if loc := w.Header().Get("Location"); w.Code != http.StatusFound || len(loc) > 200 {
		t.Errorf("huge path after expiry: %d Location of %d bytes", w.Code, len(loc))
	}
	if e.h.hits != 0 {
		t.Fatal("oversized input reached the app")
	}
}

// Paths that a lenient server might read as the gateway's prefix (encoded
// dots and slashes, double slashes, letter case, dot segments, trailing
// dots, semicolon parameters, backslashes, NUL) never reach the app, and
// none of them serves a gateway endpoint: only the canonical path does.
func TestHostilePathTricksNeverReachTheApp(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	c := h.signIn(t, &session.Session{Subject: "alice", Name: "Alice"})
	for _, p := range hostilePaths {
		for _, hdr := range []map[string]string{click, poll} {
			r := httptest.NewRequest("GET", "http://gw.test/", nil)
			r.URL = &url.URL{Path: mustUnescape(t, p), RawPath: p}
			r.RequestURI = p
			r.AddCookie(c)
			for k, v := range hdr {
				r.Header.Set(k, v)
			}
			w := h.serve(r)
			if h.hits != 0 {
				t.Fatalf("%s reached the app (%d)", p, w.Code)
			}
			if w.Code != http.StatusNotFound {
				t.Errorf("%s: %d, want 404: %.120s", p, w.Code, w.Body)
			}
		}
	}
	// the canonical path answers
	if w := h.serve(hostileRequest("GET", "/.sessiongate/status", "", c, poll)); w.Code != http.StatusOK ||
		!strings.Contains(w.Body.String(), `"authenticated":true`) {
		t.Fatalf("canonical status: %d %s", w.Code, w.Body)
	}
	// paths that only resemble the prefix are the app's
	for _, p := range []string{"/sessiongate/status", "/.sessiongatex/status", "/x.sessiongate/status", "/a/.sessiongate.md",
		"/.sessiongate-docs/", "/%2esessiongatex"} {
		hits := h.hits
		r := httptest.NewRequest("GET", "http://gw.test"+p, nil)
		r.AddCookie(c)
		if w := h.serve(r); w.Code != http.StatusOK || h.hits != hits+1 {
			t.Errorf("%s: %d, want the app", p, w.Code)
		}
	}
}

// hostilePaths are request paths (as sent, percent-encoded) that must be
// kept from the app and must not serve the status endpoint.
var hostilePaths = []string{
	"/%2esessiongate/status", "/%2Esessiongate/status", "/%2e%73essiongate/status",
	"/.sessiongate%2Fstatus", "/.sessiongate%2fstatus", "/.sessiongate/status%2F", "/.sessiongate%2F%2Fstatus",
	"/.sessiongate/sta%74us", "/.sessiongate/%73tatus",
	"//.sessiongate/status", "/.sessiongate//status", "///.sessiongate/status",
	"/.SessionGate/status", "/.SESSIONGATE/STATUS", "/.sessiongate/STATUS", "/.Sessiongate/status",
	"/x/../.sessiongate/status", "/x/%2e%2e/.sessiongate/status", "/x/%2E%2E/.sessiongate/status",
	"/.sessiongate/./status", "/.sessiongate/../.sessiongate/status", "/./.sessiongate/status",
	"/.sessiongate/status.", "/.sessiongate/status..", "/.sessiongate/status;", "/.sessiongate/status;jsessionid=1",
	"/.sessiongate/status/", "/.sessiongate/status/.", "/.sessiongate/status%20", "/.sessiongate/status%00",
	"/.sessiongate;/status", "/.sessiongate;jsessionid=x/status", "/.SessionGate;x=1/status",
	"/.sessiongate./status", "/.sessiongate../status", "/.SESSIONGATE./status", "/.sessiongate%2e/status",
	"/.sessiongate%20/status", "/.sessiongate%20./status", "/.sessiongate%00/status",
	"/.sessiongate%5Cstatus", "/.sessiongate%5cstatus", `/.sessiongate\status`, `/x\..\.sessiongate\status`,
	"/.sessiongate", "/.sessiongate.", "/.sessiongate;", "/.sessiongate%2e", "/.SESSIONGATE", "/app/.sessiongate",
	"/app/.sessiongate/status", "/.sessiongate/status/..", "/.sessiongate/status%2F..%2F..%2Fchart",
	"/.sessiongate/nope", "/.sessiongate/", "/.sessiongate/banner.js/",
}

func mustUnescape(t *testing.T, p string) string {
	t.Helper()
	u, err := url.PathUnescape(p)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// markup are user-controlled strings that must stay text wherever the
// gateway shows them.
var markup = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(2)>`,
	`'><svg/onload=alert(3)>`,
	`</script><script>alert(4)</script>`,
	`</title></style><script>alert(5)</script>`,
	"line\u2028separator\u2029paragraph",
	`{{.Nonce}}`,
	`javascript:alert(6)`,
	`&lt;b&gt;pre-escaped&amp;`,
	`" onmouseover="alert(7)`,
	`<!-- ]]> <![CDATA[`,
}

var hostileName = strings.Join(markup, " ")

// checkPage parses an HTML page and fails when user input became markup: a
// script without the page's nonce, an injected element, an event handler
// attribute, a javascript: link. It returns the page's text.
func checkPage(t *testing.T, what string, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	csp := w.Header().Get("Content-Security-Policy")
	doc, err := html.Parse(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "img", "iframe", "object", "embed", "base": // (an injected <svg> would need an on* attribute)
				t.Errorf("%s: injected <%s>", what, n.Data)
			case "script":
				nonce := ""
				for _, a := range n.Attr {
					if a.Key == "nonce" {
						nonce = a.Val
					}
				}
				if nonce == "" || !strings.Contains(csp, "'nonce-"+nonce+"'") {
					t.Errorf("%s: a script without the page's nonce", what)
				}
				if n.FirstChild != nil && strings.Contains(n.FirstChild.Data, "alert(") {
					t.Errorf("%s: user input inside a script: %.200s", what, n.FirstChild.Data)
				}
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("%s: injected attribute %s=%q on <%s>", what, a.Key, a.Val, n.Data)
				}
				if (a.Key == "href" || a.Key == "action" || a.Key == "src") && !strings.HasPrefix(a.Val, "/") {
					t.Errorf("%s: %s=%q on <%s> is not a path", what, a.Key, a.Val, n.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return text.String()
}

// User names, emails, groups, subjects, devices and typed names are text on
// every gateway page, valid JSON in /status, and header-safe upstream.
func TestHostileMarkupInNamesAndClaims(t *testing.T) {
	e := newCSRFEnv(t)
	h := e.h
	h.g.cfg.AccountMenu = true
	// the attacker controls their profile at the provider (and so the store)
	evil := &session.Session{Subject: "u-" + markup[3], Name: hostileName, Email: markup[1] + "@evil.test",
		Groups: []string{"practice-managers", markup[0]}, Device: markup[2], IP: markup[1],
		Claims: map[string]string{"department": markup[0]}}
	c := h.signIn(t, evil)
	h.signIn(t, &session.Session{Subject: evil.Subject, Name: hostileName, Device: markup[4], IP: markup[5]})
	// another user the attacker registered under a name full of markup
	named := &session.Session{Subject: "u-named"}
	h.signIn(t, named)
	if err := h.store.Store.RememberUser(context.Background(), named.UserKey, named.Subject,
		[]session.UserName{{Kind: session.NameUsername, Value: markup[0]}}); err != nil {
		t.Fatal(err)
	}
	same := map[string]string{"Origin": "http://gw.test"}

	// My devices
	text := checkPage(t, "devices page", h.serve(hostileRequest("GET", "/.sessiongate/sessions", "", c, click)))
	for _, want := range []string{hostileName, markup[2], markup[4], markup[5]} {
		if !strings.Contains(text, want) {
			t.Errorf("devices page does not show %q as text", want)
		}
	}
	// the sign-out confirmation
	if text := checkPage(t, "logout page", h.serve(hostileRequest("GET", "/.sessiongate/logout", "", c, click))); !strings.Contains(text, hostileName) {
		t.Error("logout page does not show the name as text")
	}
	// the admin page: the manager who set the policy, and typed user names
	csrf := h.g.csrfToken(evil)
	w := h.serve(hostileRequest("POST", "/.sessiongate/admin", "action=policy&absolute=24h&csrf="+url.QueryEscape(csrf), c, same))
	if text := checkPage(t, "admin page after a policy change", w); !strings.Contains(text, "Set by "+evil.Subject) {
		t.Errorf("admin page does not show the subject as text: %.300s", text)
	}
	for _, typed := range []string{markup[1], markup[0], hostileName[:200]} {
		w := h.serve(hostileRequest("POST", "/.sessiongate/admin", "action=revoke&user="+url.QueryEscape(typed)+"&csrf="+url.QueryEscape(csrf), c, same))
		if text := checkPage(t, "admin page after revoking "+typed, w); !strings.Contains(text, strings.TrimSpace(typed)) {
			t.Errorf("admin page does not echo %q as text", typed)
		}
	}
	// /status: valid JSON, nothing that an HTML or JS parser could take for markup
	c = h.signIn(t, &session.Session{Subject: "u-2", Name: hostileName, Groups: []string{"practice-managers"}})
	w = h.serve(hostileRequest("GET", "/.sessiongate/status", "", c, poll))
	raw := w.Body.Bytes()
	if !json.Valid(raw) || bytes.ContainsAny(raw, "<>&") || bytes.Contains(raw, []byte("\u2028")) || bytes.Contains(raw, []byte("\u2029")) {
		t.Errorf("status JSON: %s", raw)
	}
	var st statusBody
	if err := json.Unmarshal(raw, &st); err != nil || st.Name != hostileName || st.Account == nil || st.Account.Name != hostileName {
		t.Errorf("status JSON does not carry the exact name: %+v %v", st, err)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("status headers: %v", w.Header())
	}
	// upstream identity headers: the value, without control characters
	r := hostileRequest("GET", "/chart", "", c, click)
	h.serve(r)
	if got, want := h.seen.Get("X-Forwarded-Name"), headerSafe(hostileName); got != want || strings.ContainsAny(got, "\r\n") {
		t.Errorf("X-Forwarded-Name = %q", got)
	}
	crlf := &session.Session{Subject: "u-3", Name: "Eve\r\nX-Admin: 1", Claims: map[string]string{"department": "a\nb"}}
	h.serve(hostileRequest("GET", "/chart", "", h.signIn(t, crlf), click))
	if h.seen.Get("X-Forwarded-Name") != "EveX-Admin: 1" || h.seen.Get("X-Admin") != "" || h.seen.Get("X-Forwarded-Department") != "ab" {
		t.Errorf("claims with CR/LF upstream: %v", h.seen)
	}

	// the signed-out page and the break-out page reflect the return path
	for _, rd := range []string{"/" + markup[0], "/x" + markup[1], "/" + markup[3], "/\u2028"} {
		w := h.serve(hostileRequest("GET", "/.sessiongate/signed-out?reason=idle&rd="+url.QueryEscape(rd), "", nil, click))
		checkPage(t, "signed-out page with rd "+rd, w)
		if strings.Contains(w.Body.String(), "alert(") && !strings.Contains(w.Body.String(), "alert%28") {
			t.Errorf("signed-out page reflects rd %q unencoded", rd)
		}
	}
	h.clock.Advance(time.Hour)
	for _, p := range []string{"/" + url.PathEscape(markup[3]), "/x%22%3E%3Cimg%20src=x%20onerror=alert(2)%3E", "/%E2%80%A8%3C/script%3E"} {
		r := httptest.NewRequest("GET", "http://gw.test"+p, nil)
		r.AddCookie(c)
		for k, v := range frameNav {
			r.Header.Set(k, v)
		}
		w := h.serve(r)
		checkPage(t, "break-out page for "+p, w)
		body := w.Body.String()
		if strings.Contains(body, "</script><script>") || strings.Contains(body, "\u2028") || strings.Contains(body, "<img") {
			t.Errorf("break-out page for %s: %s", p, body)
		}
	}
	if h.hits != 2 {
		t.Fatalf("app hits = %d, want 2 (the header checks)", h.hits)
	}
}

// The callback's error, error_description and state are never reflected, a
// state cookie of another attempt (or another cookie's value) is refused
// before the provider is asked, and no session is created.
func TestHostileCallbackInput(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	st := h.g.rp.NewLoginState("/chart", false)
	other := h.g.rp.NewLoginState("/other", false)
	cookieFor := func(state string, v any, name string) *http.Cookie {
		return &http.Cookie{Name: loginCookieBase(state), Value: mustSeal(t, h.g.sealer, name, v)}
	}
	q := func(state string, extra ...string) string {
		v := url.Values{"state": {state}, "code": {"c-1"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/.sessiongate/callback?" + v.Encode()
	}
	cases := []struct {
		name, target string
		cookie       *http.Cookie
		message      string
	}{
		{"provider error with markup", q(st.State, "error", markup[0], "error_description", markup[1]),
			cookieFor(st.State, st, loginCookieSealKey), "The identity provider refused the sign-in."},
		{"no state cookie", q(st.State), nil, "could not be matched to this browser"},
		{"state cookie of another attempt under this attempt's name", q(st.State),
			cookieFor(st.State, other, loginCookieSealKey), "could not be matched to this browser"},
		{"another attempt's cookie, this attempt's state", q(st.State), cookieFor(other.State, other, loginCookieSealKey),
			"could not be matched to this browser"},
		{"the session cookie's value as state cookie", q(st.State),
			cookieFor(st.State, session.Ref{ID: "x", UserKey: "y"}, sessionCookieSealKey), "could not be matched to this browser"},
		{"a state cookie sealed with another secret", q(st.State),
			&http.Cookie{Name: loginCookieBase(st.State), Value: mustSeal(t, mustSealer(t, secretForeign), loginCookieSealKey, st)},
			"could not be matched to this browser"},
		{"markup in the state", q(markup[0]), nil, "could not be matched to this browser"},
		{"empty state", q(""), cookieFor(st.State, st, loginCookieSealKey), "could not be matched to this browser"},
		{"expired state", q(st.State), cookieFor(st.State, func() auth.LoginState {
			old := st
			old.Issued -= int64((16 * time.Minute).Seconds())
			return old
		}(), loginCookieSealKey), "The sign-in took too long."},
	}
	for _, tc := range cases {
		calls := h.store.calls()
		w := h.serve(hostileRequest("GET", tc.target, "", tc.cookie, click))
		text := checkPage(t, tc.name, w)
		if w.Code != http.StatusBadRequest || !strings.Contains(text, tc.message) {
			t.Errorf("%s: %d %q", tc.name, w.Code, text)
		}
		if strings.Contains(w.Body.String(), "alert(") {
			t.Errorf("%s: input reflected: %s", tc.name, w.Body)
		}
		for _, sc := range w.Result().Cookies() {
			if sc.Name == sessionCookieName || sc.Name == seenCookieName {
				t.Errorf("%s: set %s", tc.name, sc.Name)
			}
		}
		if h.store.calls() != calls {
			t.Errorf("%s: the store was asked", tc.name)
		}
	}
}
