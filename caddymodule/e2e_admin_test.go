package caddymodule_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
