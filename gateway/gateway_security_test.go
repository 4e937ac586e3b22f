package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

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
