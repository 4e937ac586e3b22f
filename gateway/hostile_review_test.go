package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/session"
)

// The session cookie with a space before '=' is read by net/http as the
// session cookie, so it must be stripped from what reaches the app like the
// plain spelling (#15 point 5); the same for every gateway cookie.
func TestHostileSpacedCookieNamesNeverReachTheApp(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	c := h.signIn(t, &session.Session{Subject: "alice"})
	for _, spelled := range []string{"sessiongate =", "sessiongate\t=", " sessiongate="} {
		r := hostileRequest("GET", "/api/q", "", nil, poll)
		r.Header.Set("Cookie", "app=1; "+spelled+c.Value+"; sessiongate_idt ="+c.Value+"; sessiongate_seen ="+c.Value)
		if w := h.serve(r); w.Code != http.StatusOK {
			t.Fatalf("%q: %d (the spelled cookie authenticates, as net/http reads it)", spelled, w.Code)
		}
		if got := h.seen.Get("Cookie"); got != "app=1" {
			t.Errorf("%q: the app got Cookie %q, want only app=1", spelled, got)
		}
	}
}

// The app cannot set the gateway's cookies (#15 point 6): upstream
// Set-Cookie lines for a gateway cookie name are dropped; the app's own
// cookies and the gateway's own lines stay.
func TestHostileUpstreamCannotSetGatewayCookies(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	c := h.signIn(t, &session.Session{Subject: "alice"})
	w := httptest.NewRecorder()
	w.Header().Add("Set-Cookie", "sessiongate_seen=gateway-own; Path=/") // as if the gateway had set it
	r := hostileRequest("GET", "/chart", "", c, poll)
	_ = h.g.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error {
		for _, line := range []string{"sessiongate=planted; Path=/", "sessiongate_seen=planted", " sessiongate_idt =planted",
			"__Host-sessiongate=planted; Secure; Path=/", "sessiongate_login_abc=planted", "app=kept; Path=/"} {
			w.Header().Add("Set-Cookie", line)
		}
		w.WriteHeader(http.StatusOK)
		_, err := w.Write([]byte("ok"))
		return err
	})
	got := w.Result().Header.Values("Set-Cookie")
	if strings.Contains(strings.Join(got, "\n"), "planted") || len(got) != 2 || got[0] != "sessiongate_seen=gateway-own; Path=/" || got[1] != "app=kept; Path=/" {
		t.Fatalf("Set-Cookie reaching the browser: %q", got)
	}
}

