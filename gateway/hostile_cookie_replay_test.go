package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

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
