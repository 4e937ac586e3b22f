package caddymodule_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	deviceRowRE = regexp.MustCompile(`<li data-device="([^"]+)"( data-this="1")?>`)
	formHeaders = func(b *browser) map[string]string {
		return map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": b.base,
			"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin"}
	}
)

// page GETs one of the gateway's pages and returns its body and CSRF token.
func (b *browser) page(path string) (body, csrf string) {
	b.t.Helper()
	resp := b.navigate(path)
	body = readBody(b.t, resp)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s: %s %.400s", path, resp.Status, body)
	}
	if m := csrfFieldRE.FindStringSubmatch(body); m != nil {
		csrf = m[1]
	}
	return body, csrf
}

// post submits a form as the browser would (same origin).
func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	return b.do(http.MethodPost, path, formHeaders(b), strings.NewReader(form.Encode()))
}

// devices parses the devices page: the handles of the other devices and of this one.
func devices(t *testing.T, body string) (others []string, this string) {
	t.Helper()
	for _, m := range deviceRowRE.FindAllStringSubmatch(body, -1) {
		if m[2] != "" {
			this = m[1]
		} else {
			others = append(others, m[1])
		}
	}
	return others, this
}

func TestDevicesPageAndRemoteSignOut(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b1, b2, b3 := st.newBrowser("main"), st.newBrowser("main"), st.newBrowser("main")
	for _, b := range []*browser{b1, b2, b3} {
		expectApp(t, b.signIn("/patients", "alice", "pw-alice"), "/patients")
	}
	body, csrf := b1.page("/.sessiongate/sessions")
	others, this := devices(t, body)
	if len(others) != 2 || this == "" || !strings.Contains(body, "This device") || !strings.Contains(body, "Sign out all other devices") {
		t.Fatalf("devices page: others %v this %q\n%.1500s", others, this, body)
	}
	if !strings.Contains(body, "127.0.0.1") || strings.Contains(body, "admin-link") {
		t.Fatalf("devices page lacks the IP or shows an admin link to a non-manager:\n%.1500s", body)
	}
	// b2's handle: the first row of b2's own page
	b2body, _ := b2.page("/.sessiongate/sessions")
	_, b2handle := devices(t, b2body)

	// without the CSRF token: refused, nothing ends
	resp := b1.post("/.sessiongate/sessions", url.Values{"action": {"end"}, "device": {b2handle}})
	if readBody(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %s", resp.Status)
	}
	// from another origin: refused
	hdr := formHeaders(b1)
	hdr["Origin"] = "http://evil.example"
	resp = b1.do(http.MethodPost, "/.sessiongate/sessions", hdr, strings.NewReader(url.Values{"csrf": {csrf}, "action": {"end"}, "device": {b2handle}}.Encode()))
	if readBody(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %s", resp.Status)
	}
	expectApp(t, b2.navigate("/patients"), "/patients")

	resp = b1.post("/.sessiongate/sessions", url.Values{"csrf": {csrf}, "action": {"end"}, "device": {b2handle}})
	if body := readBody(t, resp); !strings.Contains(body, "1 device was signed out") {
		t.Fatalf("after signing out one device: %s %.800s", resp.Status, body)
	}
	// b2's next page is the signed-out page
	expectSignedOut(t, b2.navigate("/patients"), "revoked", "ended from another device")
	expectApp(t, b3.navigate("/patients"), "/patients")

	resp = b1.post("/.sessiongate/sessions", url.Values{"csrf": {csrf}, "action": {"end_others"}})
	if body := readBody(t, resp); !strings.Contains(body, "1 device was signed out") || strings.Contains(body, "Sign out all other devices") {
		t.Fatalf("after signing out all others: %.800s", body)
	}
	// b3's banner notices at its next status check (and is sent to the signed-out page)
	resp = b3.background(http.MethodGet, "/.sessiongate/status", nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"reason":"revoked"`) {
		t.Fatalf("status of the signed-out device: %s %s", resp.Status, body)
	}
	expectApp(t, b1.navigate("/patients"), "/patients")
}

func TestMaxSessionsEndsTheOldest(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "max_sessions 1"})
	b1, b2 := st.newBrowser("main"), st.newBrowser("main")
	expectApp(t, b1.signIn("/patients", "alice", "pw-alice"), "/patients")
	expectApp(t, b2.signIn("/patients", "alice", "pw-alice"), "/patients")
	expectSignedOut(t, b1.navigate("/patients"), "elsewhere", "signed in on another device")
	expectApp(t, b2.navigate("/patients"), "/patients")
	// another user is not affected by alice's limit
	b3 := st.newBrowser("main")
	expectApp(t, b3.signIn("/patients", "clinician", "demo"), "/patients")
	expectApp(t, b2.navigate("/patients"), "/patients")
}

// A user in several groups with policies gets the strictest timer: alice
// (clinicians + front-desk) is under front-desk's 2s idle limit, the
// clinician under clinicians' 6s.
func TestGroupPoliciesStrictestWins(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "warn_before 1s\n\t\tpolicy front-desk {\n\t\t\tidle_timeout 2s\n\t\t}\n\t\tpolicy clinicians {\n\t\t\tidle_timeout 6s\n\t\t}"})
	alice, casey := st.newBrowser("main"), st.newBrowser("main")
	expectApp(t, alice.signIn("/patients", "alice", "pw-alice"), "/patients")
	expectApp(t, casey.signIn("/patients", "clinician", "demo"), "/patients")
	idleOf := func(b *browser) float64 {
		resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
		var s struct {
			IdleTimeout float64 `json:"idle_timeout"`
		}
		_ = json.Unmarshal([]byte(readBody(t, resp)), &s)
		return s.IdleTimeout
	}
	if a, c := idleOf(alice), idleOf(casey); a != 2000 || c != 6000 {
		t.Fatalf("idle timeouts: alice %v ms (want 2000), clinician %v ms (want 6000)", a, c)
	}
	time.Sleep(2200 * time.Millisecond)
	expectSignedOut(t, alice.navigate("/patients"), "idle", "inactivity")
	expectApp(t, casey.navigate("/patients"), "/patients")
}

// auditEvents reads the JSON lines of the audit log.
func auditEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		out = append(out, e)
	}
	return out
}

func findEvent(events []map[string]any, msg string, fields map[string]string) map[string]any {
	for _, e := range events {
		if e["msg"] != msg || e["logger"] != "session_gate.audit" {
			continue
		}
		ok := true
		for k, v := range fields {
			if e[k] != v {
				ok = false
			}
		}
		if ok {
			return e
		}
	}
	return nil
}

func TestAdminPageOrgTimerAndRevocation(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	admin := "admin_group practice-managers\n\t\tabsolute_timeout_choices 9h 24h"
	st := startStackWithAudit(t, auditLog, site{name: "main", extra: admin}, site{name: "node2", extra: admin})
	mgr, casey := st.newBrowser("main"), st.newBrowser("node2")
	expectApp(t, mgr.signIn("/", "manager", "demo"), "/")
	expectApp(t, casey.signIn("/", "clinician", "demo"), "/")

	// not a manager: 403 and no link
	resp := casey.navigate("/.sessiongate/admin")
	if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Only practice managers") {
		t.Fatalf("non-manager on the admin page: %s %.300s", resp.Status, body)
	}
	if body, _ := casey.page("/.sessiongate/sessions"); strings.Contains(body, "admin-link") {
		t.Fatal("a non-manager sees the admin link")
	}
	if body, _ := mgr.page("/.sessiongate/sessions"); !strings.Contains(body, "admin-link") {
		t.Fatal("a manager does not see the admin link")
	}
	body, csrf := mgr.page("/.sessiongate/admin")
	if !strings.Contains(body, `id="current">9 hours<`) || !strings.Contains(body, `value="24h0m0s"`) {
		t.Fatalf("admin page: %.1500s", body)
	}
	absoluteOf := func(b *browser) (absAt float64) {
		resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
		var s struct {
			AbsoluteExpiresAt float64 `json:"absolute_expires_at"`
		}
		_ = json.Unmarshal([]byte(readBody(t, resp)), &s)
		return s.AbsoluteExpiresAt
	}
	before := absoluteOf(casey)

	// a choice that is not offered is refused
	resp = mgr.post("/.sessiongate/admin", url.Values{"csrf": {csrf}, "action": {"policy"}, "absolute": {"5h"}})
	if body := readBody(t, resp); !strings.Contains(body, "not one of the allowed choices") {
		t.Fatalf("unlisted choice: %.600s", body)
	}
	resp = mgr.post("/.sessiongate/admin", url.Values{"csrf": {csrf}, "action": {"policy"}, "absolute": {"24h0m0s"}})
	if body := readBody(t, resp); !strings.Contains(body, "24 hours after sign-in") || !strings.Contains(body, `id="current">24 hours<`) {
		t.Fatalf("setting 24h: %.800s", body)
	}
	// the other node, and the clinician's live session, follow within seconds
	deadline := time.Now().Add(6 * time.Second)
	for absoluteOf(casey)-before < float64(15*time.Hour/time.Millisecond)-1000 {
		if time.Now().After(deadline) {
			t.Fatalf("the other node did not apply the new absolute timer: %v → %v", before, absoluteOf(casey))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// off: no absolute deadline at all
	resp = mgr.post("/.sessiongate/admin", url.Values{"csrf": {csrf}, "action": {"policy"}, "absolute": {"off"}})
	readBody(t, resp)
	deadline = time.Now().Add(6 * time.Second)
	for absoluteOf(casey) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("turning the absolute timer off did not reach the other node")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// without the token nothing changes
	resp = mgr.post("/.sessiongate/admin", url.Values{"action": {"policy"}, "absolute": {"9h0m0s"}})
	if readBody(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("admin POST without CSRF token: %s", resp.Status)
	}

	// revoke the clinician everywhere (lost device)
	resp = mgr.post("/.sessiongate/admin", url.Values{"csrf": {csrf}, "action": {"revoke"}, "user": {"Clinician@Example.test"}})
	if body := readBody(t, resp); !strings.Contains(body, "signed out of 1 device") {
		t.Fatalf("revocation: %.800s", body)
	}
	expectSignedOut(t, casey.navigate("/"), "admin", "")
	resp = mgr.post("/.sessiongate/admin", url.Values{"csrf": {csrf}, "action": {"revoke"}, "user": {"nobody"}})
	if body := readBody(t, resp); !strings.Contains(body, "No user nobody has signed in") {
		t.Fatalf("unknown user: %.800s", body)
	}

	// the audit trail
	time.Sleep(100 * time.Millisecond)
	events := auditEvents(t, auditLog)
	for _, want := range []struct {
		msg    string
		fields map[string]string
	}{
		{"sign-in", map[string]string{"user": "demo-manager-0003"}},
		{"sign-in", map[string]string{"user": "demo-clinician-0001"}},
		{"policy-change", map[string]string{"by": "demo-manager-0003", "from": "9h0m0s", "to": "24h0m0s"}},
		{"policy-change", map[string]string{"by": "demo-manager-0003", "from": "24h0m0s", "to": "off"}},
		{"sign-out", map[string]string{"reason": "admin", "user": "demo-clinician-0001", "by": "demo-manager-0003"}},
		{"admin-revocation", map[string]string{"by": "demo-manager-0003", "user": "demo-clinician-0001", "name": "Clinician@Example.test", "matched_as": "email"}},
	} {
		e := findEvent(events, want.msg, want.fields)
		if e == nil {
			t.Errorf("audit log lacks %s %v; have %v", want.msg, want.fields, events)
			continue
		}
		for _, k := range []string{"ts", "ip", "site"} {
			if _, ok := e[k]; !ok {
				t.Errorf("audit event %s lacks %q: %v", want.msg, k, e)
			}
		}
	}
	raw, _ := os.ReadFile(auditLog)
	for _, c := range []*http.Cookie{casey.cookie("sessiongate"), mgr.cookie("sessiongate")} {
		if c != nil && strings.Contains(string(raw), c.Value) {
			t.Fatal("a session cookie value appears in the audit log")
		}
	}
}

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
