package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"net/url"
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
