package caddymodule_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackchannelLogout(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	st := startStackWithAudit(t, auditLog, site{name: "main"})
	b1, b2, b3 := st.newBrowser("main"), st.newBrowser("main"), st.newBrowser("main")
	expectApp(t, b1.signIn("/", "alice", "pw-alice"), "/")
	expectApp(t, b2.signIn("/", "alice", "pw-alice"), "/")
	expectApp(t, b3.signIn("/", "clinician", "demo"), "/")
	endpoint := st.sites["main"] + "/.sessiongate/backchannel-logout"
	idpURL, _ := url.Parse(st.idp.Issuer())
	sso := func(b *browser) string {
		for _, c := range b.client.Jar.Cookies(idpURL) {
			if c.Name == st.idp.SSOCookieName() {
				return st.idp.SIDOfSSOCookie(c.Value)
			}
		}
		return ""
	}
	sid1 := sso(b1)
	if sid1 == "" || sid1 == sso(b2) {
		t.Fatalf("each browser should have its own provider session: %q %q", sid1, sso(b2))
	}
	postToken := func(token string) (int, string) {
		resp, err := http.PostForm(endpoint, url.Values{"logout_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readBody(t, resp)
	}
	// by sid: only that browser's session ends
	token, err := st.idp.LogoutToken(testClientID, "u-alice", sid1)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := postToken(token); code != http.StatusOK {
		t.Fatalf("back-channel logout: %d %s", code, body)
	}
	expectSignedOut(t, b1.navigate("/"), "backchannel", "sign-in service")
	expectApp(t, b2.navigate("/"), "/")
	// the same token again: a replay
	if code, body := postToken(token); code != http.StatusBadRequest || !strings.Contains(body, "invalid_request") {
		t.Fatalf("replayed token: %d %s", code, body)
	}
	// garbage, and a request without a token
	if code, _ := postToken("not.a.token"); code != http.StatusBadRequest {
		t.Fatalf("garbage token: %d", code)
	}
	if code, _ := postToken(""); code != http.StatusBadRequest {
		t.Fatalf("no token: %d", code)
	}
	// a token for another client (audience) is refused
	if tok, err := st.idp.SignLogoutClaims(map[string]any{
		"iss": st.idp.Issuer(), "aud": "other-client", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
		"jti": "x-1", "sub": "u-alice", "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}, "logout+jwt"); err != nil {
		t.Fatal(err)
	} else if code, _ := postToken(tok); code != http.StatusBadRequest {
		t.Fatalf("foreign audience: %d", code)
	}
	expectApp(t, b2.navigate("/"), "/")
	// by sub, as the provider's real client would send it
	resp, err := st.idp.SendBackchannelLogout(context.Background(), endpoint, testClientID, "u-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout by sub: %s %s", resp.Status, body)
	}
	expectSignedOut(t, b2.navigate("/"), "backchannel", "sign-in service")
	expectApp(t, b3.navigate("/"), "/")
	if resp, _ := http.Get(endpoint); resp == nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET on the back-channel endpoint: %v", resp)
	}
	time.Sleep(100 * time.Millisecond)
	events := auditEvents(t, auditLog)
	n := 0
	for _, e := range events {
		if e["msg"] == "sign-out" && e["reason"] == "backchannel" && e["user"] == "u-alice" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("want 2 back-channel sign-outs in the audit log, got %d: %v", n, events)
	}
}

func TestProviderLogoutAndMetrics(t *testing.T) {
	st := startStack(t, site{name: "main"}, site{name: "metrics", raw: "metrics"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	_, csrf := b.page("/.sessiongate/logout")
	calls, hints := st.idp.EndSessionCalls(), st.idp.EndSessionHints()
	resp := b.post("/.sessiongate/logout", url.Values{"csrf": {csrf}})
	body := readBody(t, resp)
	u := resp.Request.URL
	if !strings.HasSuffix(u.Path, "/.sessiongate/signed-out") || u.Query().Get("state") != "logout" ||
		!strings.Contains(body, "You have signed out") {
		t.Fatalf("want the signed-out page back from the provider, got %s: %.400s", u, body)
	}
	if st.idp.EndSessionCalls() != calls+1 || st.idp.EndSessionHints() != hints+1 {
		t.Fatal("the provider's end_session_endpoint was not called with the session's id_token_hint")
	}
	if !strings.Contains(body, `id="switch-user"`) || !strings.Contains(body, "prompt=login") {
		t.Fatalf("signed-out page lacks Switch user with prompt=login: %.1200s", body)
	}
	// the provider's single sign-on session is over: signing in asks for the password
	resp = b.navigate("/")
	if readBody(t, resp); !strings.Contains(resp.Request.URL.Path, "/login") {
		t.Fatalf("after provider logout: %s", resp.Request.URL)
	}

	mresp, err := http.Get(st.sites["metrics"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := readBody(t, mresp)
	for _, want := range []string{
		"sessiongate_sign_ins_total 1",
		`sessiongate_sign_outs_total{reason="manual"} 1`,
		"sessiongate_session_check_duration_seconds_count",
		"sessiongate_sessions_active 0",
		"sessiongate_store_errors_total 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
