package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestStatusActivityAndLogout(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "provider_logout off"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	var s1 struct {
		Authenticated bool   `json:"authenticated"`
		IdleExpiresAt int64  `json:"idle_expires_at"`
		LastActivity  int64  `json:"last_activity"`
		CSRF          string `json:"csrf"`
		Name          string `json:"name"`
	}
	getStatus := func() {
		t.Helper()
		resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
		body := readBody(t, resp)
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &s1) != nil || !s1.Authenticated {
			t.Fatalf("status: %s %s", resp.Status, body)
		}
	}
	getStatus()
	first := s1
	time.Sleep(20 * time.Millisecond)
	getStatus()
	if s1.LastActivity != first.LastActivity || s1.Name != "Alice Adams" {
		t.Fatalf("/status must never count as activity: %+v then %+v", first, s1)
	}
	origin := b.base
	// CSRF: missing token, wrong token, cross-site origin → 403
	for _, h := range []map[string]string{
		{"Origin": origin},
		{"Origin": origin, "X-Sessiongate-CSRF": "wrong"},
		{"Origin": "https://evil.example", "X-Sessiongate-CSRF": first.CSRF},
	} {
		resp := b.background(http.MethodPost, "/.sessiongate/activity", h)
		if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("activity with %v: %s %s", h, resp.Status, body)
		}
	}
	time.Sleep(20 * time.Millisecond)
	resp := b.background(http.MethodPost, "/.sessiongate/activity", map[string]string{"Origin": origin, "X-Sessiongate-CSRF": first.CSRF})
	if body := readBody(t, resp); resp.StatusCode != 200 {
		t.Fatalf("activity: %s %s", resp.Status, body)
	}
	getStatus()
	if s1.LastActivity <= first.LastActivity || s1.IdleExpiresAt <= first.IdleExpiresAt {
		t.Fatalf("activity must move the idle deadline: %+v then %+v", first, s1)
	}
	// logout: GET confirms, POST without token refused, POST with token ends it
	resp = b.navigate("/.sessiongate/logout")
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `name="csrf"`) {
		t.Fatalf("logout form: %s %.300s", resp.Status, body)
	}
	resp = b.do(http.MethodPost, "/.sessiongate/logout", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": origin}, strings.NewReader("csrf=nope"))
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without token: %s %s", resp.Status, body)
	}
	calls := st.idp.EndSessionCalls()
	resp = b.do(http.MethodPost, "/.sessiongate/logout", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": origin}, strings.NewReader("csrf="+url.QueryEscape(first.CSRF)))
	expectSignedOut(t, resp, "logout", "You have signed out")
	if st.idp.EndSessionCalls() != calls {
		t.Fatal("provider_logout off, yet the provider's end_session_endpoint was called")
	}
	resp = b.background(http.MethodGet, "/api/queue", nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %s %s", resp.Status, body)
	}
}
