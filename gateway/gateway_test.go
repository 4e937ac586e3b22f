package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

type fixture struct {
	g     *Gateway
	clock *testclock.Clock
	store session.Store
	hits  int
}

func newFixture(t *testing.T, store session.Store, clock *testclock.Clock) *fixture {
	t.Helper()
	cfg := &config.Settings{
		Issuer: "https://idp.invalid", ClientID: "c", CookieSecrets: []string{strings.Repeat("s", 40)},
		IdentityHeaders: map[string]string{"X-Forwarded-User": "sub", "X-Forwarded-Groups": "groups"},
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sealer, err := auth.NewSealer(cfg.CookieSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		store = session.NewMemoryStore(session.Options{Clock: clock.Now}, 0)
	}
	g, err := New(Options{Settings: cfg, Store: store, Sealer: sealer, Now: clock.Now,
		RP: auth.New(auth.Config{Issuer: cfg.Issuer, ClientID: "c", HTTPClient: &http.Client{Timeout: time.Millisecond}})})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{g: g, clock: clock, store: store}
}

// signIn puts a session in the store and returns its cookie.
func (f *fixture) signIn(t *testing.T) *http.Cookie {
	t.Helper()
	s := &session.Session{ID: session.NewID(), UserKey: session.UserKey("https://idp.invalid", "u1"), Subject: "u1",
		Name: "Dr <b>One</b>", Groups: []string{"clinicians"}}
	if _, err := f.store.Create(context.Background(), s, f.g.limits(), session.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := f.g.sealer.Seal(sessionCookieSealKey, s.Ref())
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookieName, Value: v}
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	_ = f.g.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error {
		f.hits++
		w.Header().Set("X-Seen-User", r.Header.Get("X-Forwarded-User"))
		w.Header().Set("X-Seen-Cookie", r.Header.Get("Cookie"))
		w.WriteHeader(http.StatusOK)
		return nil
	})
	return w
}

func request(method, target string, c *http.Cookie, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, "http://gw.test"+target, nil)
	if c != nil {
		r.AddCookie(c)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

var (
	// click is a navigation a person started in the browser's UI (the
	// address bar): the one navigation that counts as activity by itself
	click      = map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none"}
	poll       = map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
	frameNav   = map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "frame"}
	metaReload = map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
)

func TestIdleExpiryWithInjectedClock(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	f.clock.Advance(14 * time.Minute)
	if w := f.serve(request("GET", "/chart", c, click)); w.Code != 200 {
		t.Fatalf("valid session refused: %d", w.Code)
	}
	// polling and meta refreshes for 14m59s do not extend the session
	for i := 0; i < 89; i++ {
		f.clock.Advance(10 * time.Second)
		hdr := poll
		if i%2 == 0 {
			hdr = metaReload
		}
		if w := f.serve(request("GET", "/api/q", c, hdr)); w.Code != 200 {
			t.Fatalf("poll %d refused: %d", i, w.Code)
		}
	}
	f.clock.Advance(10 * time.Second) // 15m after the click
	hits := f.hits
	w := f.serve(request("GET", "/chart?id=3", c, click))
	if w.Code != http.StatusFound {
		t.Fatalf("want 302, got %d", w.Code)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	if loc.Path != "/.sessiongate/signed-out" || loc.Query().Get("reason") != "idle" || loc.Query().Get("rd") != "/chart?id=3" {
		t.Fatalf("Location %s", loc)
	}
	if f.hits != hits {
		t.Fatal("an expired session reached the app")
	}
	if sc := w.Header().Get("Set-Cookie"); !strings.Contains(sc, "sessiongate=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Fatalf("session cookie not cleared: %q", sc)
	}
}

func TestAbsoluteExpiryWithInjectedClock(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	for elapsed := time.Duration(0); elapsed < 9*time.Hour-5*time.Minute; elapsed += 5 * time.Minute {
		f.clock.Advance(5 * time.Minute)
		if w := f.serve(request("GET", "/chart", c, click)); w.Code != 200 {
			t.Fatalf("refused at %v: %d", elapsed, w.Code)
		}
	}
	f.clock.Advance(5 * time.Minute)
	w := f.serve(request("GET", "/api/q", c, poll))
	var body map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 401 || body["error"] != "session_expired" || body["reason"] != "absolute" || !strings.Contains(body["login"], "prompt=login") {
		t.Fatalf("background after absolute: %d %s", w.Code, w.Body)
	}
}

func TestFrameNavigationBreaksOut(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	f.clock.Advance(16 * time.Minute)
	w := f.serve(request("GET", "/frame/left", c, frameNav))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "window.top.location.href") ||
		!strings.Contains(w.Body.String(), `reason=idle`) {
		t.Fatalf("frame expiry: %d %s", w.Code, w.Body)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'nonce-") {
		t.Fatalf("CSP %q", csp)
	}
}

func TestStatusNeverCountsAsActivity(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	for i := 0; i < 20; i++ {
		f.clock.Advance(time.Minute)
		w := f.serve(request("GET", "/.sessiongate/status", c, poll))
		if i < 14 && w.Code != 200 {
			t.Fatalf("status at %dm: %d", i+1, w.Code)
		}
		if i == 14 {
			if w.Code != 401 || !strings.Contains(w.Body.String(), `"reason":"idle"`) {
				t.Fatalf("status at 15m: %d %s", w.Code, w.Body)
			}
			return
		}
	}
}

func TestIdentityHeadersAndCookieHygiene(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	r := request("GET", "/chart", c, click)
	r.Header.Set("X-Forwarded-User", "mallory")
	r.AddCookie(&http.Cookie{Name: "app", Value: "1"})
	r.AddCookie(&http.Cookie{Name: "sessiongate_login_abc", Value: "x"})
	w := f.serve(r)
	if w.Header().Get("X-Seen-User") != "u1" {
		t.Fatalf("upstream user %q", w.Header().Get("X-Seen-User"))
	}
	if got := w.Header().Get("X-Seen-Cookie"); got != "app=1" {
		t.Fatalf("upstream Cookie %q", got)
	}
}

// failingStore is a store whose backend is down.
type failingStore struct{ session.Store }

func (failingStore) Check(context.Context, session.Ref, session.LimitTable, bool) (session.CheckResult, error) {
	return session.CheckResult{}, session.ErrUnavailable
}

func TestStoreDownFailsClosed(t *testing.T) {
	clock := testclock.New()
	mem := session.NewMemoryStore(session.Options{Clock: clock.Now}, 0)
	f := newFixture(t, mem, clock)
	c := f.signIn(t)
	f.g.sessions = failingStore{mem}
	w := f.serve(request("GET", "/chart", c, click))
	if w.Code != 503 || !strings.Contains(w.Body.String(), "Sign-in service unavailable") || f.hits != 0 {
		t.Fatalf("store down: %d hits=%d", w.Code, f.hits)
	}
	w = f.serve(request("GET", "/api/q", c, poll))
	if w.Code != 503 || f.hits != 0 {
		t.Fatalf("store down, background: %d hits=%d", w.Code, f.hits)
	}
}

func TestGatewayPathsNeverReachTheApp(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	for _, p := range []string{"/.sessiongate/nope", "/.SessionGate/status", "/.sessiongate", "/app/../.sessiongate/x", "/.sessiongate/status/"} {
		w := f.serve(request("GET", p, c, click))
		if f.hits != 0 {
			t.Fatalf("%s reached the app (%d)", p, w.Code)
		}
	}
}

func TestSignedOutPageEscapesAndExplains(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	for reason, want := range map[string]string{
		"idle":     "after 15 minutes of inactivity",
		"absolute": "Your 9-hour session limit was reached",
		"logout":   "You have signed out",
		"revoked":  "ended from another device",
		"bogus":    "Your session has ended",
	} {
		w := f.serve(request("GET", "/.sessiongate/signed-out?reason="+reason+"&rd=/x%22%3E%3Cscript%3E", nil, click))
		body := w.Body.String()
		if w.Code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s", reason, w.Code, body)
		}
		if strings.Contains(body, `"><script>`) {
			t.Errorf("%s: rd not escaped", reason)
		}
	}
}

func TestCookiesOnHTTPSUseHostPrefix(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	r := httptest.NewRequest("GET", "https://gw.test/", nil)
	if r.TLS == nil {
		t.Fatal("httptest should set TLS for https targets")
	}
	w := httptest.NewRecorder()
	s := &session.Session{ID: session.NewID(), UserKey: "ab", CreatedAt: time.Now()}
	if err := f.g.writeSessionCookie(w, r, s, session.Limits{Idle: time.Minute, Absolute: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	sc := w.Header().Get("Set-Cookie")
	for _, want := range []string{"__Host-sessiongate=", "Path=/", "Max-Age=7200", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(strings.ToLower(sc), "domain=") {
		t.Errorf("__Host- cookie must not carry Domain: %q", sc)
	}
	// and it is read back under that name only
	r2 := httptest.NewRequest("GET", "https://gw.test/", nil)
	r2.Header.Set("Cookie", strings.SplitN(sc, ";", 2)[0])
	if _, ok := f.g.readSessionCookie(r2); !ok {
		t.Fatal("cannot read back the __Host- cookie")
	}
	r3 := httptest.NewRequest("GET", "https://gw.test/", nil)
	r3.Header.Set("Cookie", strings.TrimPrefix(strings.SplitN(sc, ";", 2)[0], "__Host-"))
	if _, ok := f.g.readSessionCookie(r3); ok {
		t.Fatal("on HTTPS a cookie without the __Host- prefix must not count")
	}
}

func TestStatusCarriesBannerTexts(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	f.g.texts = (config.BannerTexts{IdleTitle: "Noch da?", LogoutButton: "Abmelden"}).ScriptTexts()
	c := f.signIn(t)
	w := f.serve(request("GET", "/.sessiongate/status", c, poll))
	var body struct {
		Texts map[string]string `json:"texts"`
		CSRF  string            `json:"csrf"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if body.Texts["idleTitle"] != "Noch da?" || body.Texts["logoutButton"] != "Abmelden" || len(body.Texts) != 2 || body.CSRF == "" {
		t.Fatalf("texts %v", body.Texts)
	}
}

func TestBannerScriptServedWithLongCache(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	w := f.serve(request("GET", f.g.BannerSrc(), nil, nil))
	if w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") || !strings.Contains(w.Body.String(), "alertdialog") {
		t.Fatalf("banner.js: %d %v", w.Code, w.Header())
	}
	if strings.Contains(w.Body.String(), "__SESSIONGATE_CSS__") || !strings.Contains(w.Body.String(), ":host") {
		t.Fatal("stylesheet not built into the script")
	}
	w = f.serve(request("GET", "/.sessiongate/banner.js?v=old", nil, nil))
	if w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("stale version cached: %v", w.Header())
	}
	if f.hits != 0 {
		t.Fatal("banner.js reached the app")
	}
}

func TestStatusAfterCookieDroppedAtAbsoluteLimit(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	s := &session.Session{ID: session.NewID(), UserKey: "ab", CreatedAt: f.clock.Now()}
	w := httptest.NewRecorder()
	r := request("GET", "/", nil, nil)
	if err := f.g.writeSeenMarker(w, r, s, session.Limits{Idle: time.Minute, Absolute: time.Hour}); err != nil {
		t.Fatal(err)
	}
	marker := w.Result().Cookies()[0]
	// within the hour: a plain "unauthenticated"
	w = f.serve(request("GET", "/.sessiongate/status", marker, poll))
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"unauthenticated"`) || !strings.Contains(w.Body.String(), "prompt=login") {
		t.Fatalf("before the limit: %d %s", w.Code, w.Body)
	}
	f.clock.Advance(time.Hour)
	w = f.serve(request("GET", "/.sessiongate/status", marker, poll))
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"reason":"absolute"`) {
		t.Fatalf("after the limit: %d %s", w.Code, w.Body)
	}
}

// A background poll that meets the expired session clears the cookie; the
// banner's next /status (and the next visit) must still learn why the session
// ended, not fall back to a generic "ended" — the race seen in CI.
func TestReasonSurvivesCookieClearedByBackgroundRequest(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	f.clock.Advance(15 * time.Minute)
	w := f.serve(request("GET", "/api/q", c, poll))
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"reason":"idle"`) {
		t.Fatalf("poll at the idle deadline: %d %s", w.Code, w.Body)
	}
	var marker *http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.Name == seenCookieName {
			marker = ck
		}
	}
	if marker == nil {
		t.Fatal("no seen marker recording the reason")
	}
	// the browser now has only the marker
	w = f.serve(request("GET", "/.sessiongate/status", marker, poll))
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"reason":"idle"`) || !strings.Contains(w.Body.String(), "reason=idle") {
		t.Fatalf("status after the cookie was cleared: %d %s", w.Code, w.Body)
	}
	// a navigation before the signed-out page was shown (a page reloading
	// itself as the banner moves the window) goes to that page, not past it
	w = f.serve(request("GET", "/chart", marker, metaReload))
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "/.sessiongate/signed-out?") ||
		!strings.Contains(w.Header().Get("Location"), "reason=idle") {
		t.Fatalf("navigation before the signed-out page was shown: %d %s", w.Code, w.Header().Get("Location"))
	}
	w = f.serve(request("GET", "/.sessiongate/signed-out?reason=idle", marker, click))
	for _, ck := range w.Result().Cookies() {
		if ck.Name == seenCookieName {
			marker = ck
		}
	}
	if w.Code != 200 || !strings.Contains(w.Body.String(), "inactivity") {
		t.Fatalf("signed-out page: %d", w.Code)
	}
	// the next visit (the user has seen the signed-out page) goes to the
	// provider's sign-in (unreachable in this fixture), not back to that page
	w = f.serve(request("GET", "/chart", marker, click))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "identity provider cannot be reached") {
		t.Fatalf("next visit: %d %s %.200s", w.Code, w.Header().Get("Location"), w.Body)
	}
	// a day later the explanation is stale: straight to the provider, with prompt=login
	f.clock.Advance(25 * time.Hour)
	w = f.serve(request("GET", "/.sessiongate/status", marker, poll))
	if !strings.Contains(w.Body.String(), `"unauthenticated"`) || !strings.Contains(w.Body.String(), "prompt=login") {
		t.Fatalf("status a day later: %d %s", w.Code, w.Body)
	}
}

// Signing out on purpose records no security reason: the next visit goes to
// the provider's sign-in, not to a "signed out for security reasons" page.
func TestManualSignOutRecordsNoReason(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	ref, _ := f.g.readSessionCookie(request("GET", "/", c, nil))
	if err := f.store.End(context.Background(), ref, session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	w := f.serve(request("GET", "/.sessiongate/status", c, poll))
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"reason":"logout"`) {
		t.Fatalf("status after logout elsewhere: %d %s", w.Code, w.Body)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == seenCookieName {
			t.Fatalf("a manual sign-out wrote a reason marker: %v", ck)
		}
	}
}

// groups_claim names the claim groups are read from; group policies and
// admin_group use it.
func TestGroupsClaimConfigurable(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	f.g.cfg.GroupsClaim = "roles"
	f.g.cfg.GroupPolicies = map[string]config.GroupPolicy{"front-desk": {IdleTimeout: config.Duration(5 * time.Minute)}}
	id := &auth.Identity{Subject: "u", Groups: []string{"from-groups"},
		Claims: map[string]any{"roles": []any{"front-desk", "nurses"}, "groups": []any{"from-groups"}}}
	s := f.g.newSession(request("GET", "/", nil, nil), id)
	if strings.Join(s.Groups, ",") != "front-desk,nurses" || s.PolicyGroups != "front-desk" {
		t.Fatalf("groups %v policy %q", s.Groups, s.PolicyGroups)
	}
	// a single string is a list of one
	id.Claims["roles"] = "front-desk"
	if s := f.g.newSession(request("GET", "/", nil, nil), id); len(s.Groups) != 1 || s.PolicyGroups != "front-desk" {
		t.Fatalf("single-string claim: %v %q", s.Groups, s.PolicyGroups)
	}
	// no such claim: no groups, not those of the default "groups" claim
	delete(id.Claims, "roles")
	id.Groups = []string{"front-desk"}
	id.Claims["groups"] = []any{"front-desk"}
	if s := f.g.newSession(request("GET", "/", nil, nil), id); s.PolicyGroups != "" || len(s.Groups) != 0 {
		t.Fatalf("groups without the configured claim: %v %q", s.Groups, s.PolicyGroups)
	}
}
