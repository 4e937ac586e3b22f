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
	if store == nil {
		store = session.NewMemoryStore(session.Options{Clock: clock.Now}, 0)
	}
	return &fixture{g: testGateway(t, cfg, store, clock.Now), clock: clock, store: store}
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
