package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

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
