package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/session"
)

// Client-sent identity headers never reach the app: every configured header,
// in any letter case, repeated, and spelled with underscores or dots (which
// CGI, WSGI and PHP servers fold into the same variable as the dashed name)
// is removed; headers whose claim the user lacks are absent, not the client's.
func TestHostileIdentityHeadersCannotBeSpoofed(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	s := &session.Session{Subject: "u-real", Name: "Real Name", Groups: []string{"clinicians", "front-desk"},
		IdPSessionID: "sid-1"} // no email, no department
	c := h.signIn(t, s)
	r := hostileRequest("GET", "/chart", "", c, click)
	spoofed := func(name string) []string {
		under := strings.ReplaceAll(name, "-", "_")
		dot := strings.ReplaceAll(name, "-", ".")
		return []string{name, strings.ToLower(name), strings.ToUpper(name), under, strings.ToLower(under),
			strings.ToUpper(under), strings.ReplaceAll(name, "-Forwarded-", "_Forwarded-"), dot, strings.ToLower(dot),
			strings.ReplaceAll(name, "-Forwarded-", ".Forwarded_")}
	}
	for name := range allIdentityHeaders {
		for _, key := range spoofed(name) {
			// raw keys, as a non-canonicalizing front end might pass them, twice each
			r.Header[key] = append(r.Header[key], "mallory", "practice-managers")
		}
	}
	// headers that merely share a prefix are the app's
	r.Header.Set("X-Forwarded-User-Agent", "kept")
	r.Header.Set("X-Forwarded-Users", "kept")
	r.Header.Set("X-Forwarded-For", "192.0.2.1")
	if w := h.serve(r); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := map[string]string{
		"x-forwarded-user": "u-real", "x-forwarded-name": "Real Name", "x-forwarded-groups": "clinicians,front-desk",
		"x-forwarded-sid": "sid-1",
	}
	got := map[string][]string{}
	for key, vals := range h.seen {
		norm := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(key))
		if _, configured := want[norm]; configured || norm == "x-forwarded-email" || norm == "x-forwarded-department" {
			got[key] = vals
		}
		for _, v := range vals {
			if v == "mallory" || v == "practice-managers" {
				t.Errorf("spoofed value reached the app: %s: %q", key, vals)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("identity headers upstream: %q, want exactly %v", got, want)
	}
	for norm, v := range want {
		canon := http.CanonicalHeaderKey(norm)
		if vals := got[canon]; len(vals) != 1 || vals[0] != v {
			t.Errorf("%s upstream = %q, want [%q]", canon, vals, v)
		}
	}
	for _, k := range []string{"X-Forwarded-User-Agent", "X-Forwarded-Users"} {
		if h.seen.Get(k) != "kept" {
			t.Errorf("%s was removed: %q", k, h.seen.Values(k))
		}
	}

	// a custom claim: set from the session, never from the client
	d := &session.Session{Subject: "u-d", Email: "d@clinic.test", Claims: map[string]string{"department": "cardiology"}}
	r = hostileRequest("GET", "/chart", "", h.signIn(t, d), click)
	r.Header["X_Forwarded_Department"] = []string{"oncology"}
	r.Header["X.Forwarded.Department"] = []string{"oncology"}
	r.Header.Add("X-Forwarded-Department", "oncology")
	h.serve(r)
	if got := h.seen.Values("X-Forwarded-Department"); len(got) != 1 || got[0] != "cardiology" {
		t.Errorf("X-Forwarded-Department = %q", got)
	}
	for _, k := range []string{"X_Forwarded_Department", "X.Forwarded.Department"} {
		if _, ok := h.seen[k]; ok {
			t.Errorf("%s reached the app", k)
		}
	}
	if got := h.seen.Values("X-Forwarded-Email"); len(got) != 1 || got[0] != "d@clinic.test" {
		t.Errorf("X-Forwarded-Email = %q", got)
	}
}

// Oversized input: bodies over the limit on every POST endpoint, a huge
// Origin, CSRF header or rd: 4xx (or the harmless default), no crash,
// nothing changes.
func TestHostileOversizedInput(t *testing.T) {
	e := newCSRFEnv(t)
	same := map[string]string{"Origin": "http://gw.test"}
	over := strings.Repeat("a", maxFormBytes+1)
	huge := strings.Repeat("a", 1<<20)
	before := e.state(t)
	for _, tc := range []struct {
		path, body string
		hdr        map[string]string
	}{
		{"/.sessiongate/activity", over, map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": rightToken(e)}},
		{"/.sessiongate/activity", huge, map[string]string{"Origin": "http://gw.test", "X-Sessiongate-CSRF": rightToken(e)}},
		{"/.sessiongate/logout", "csrf=" + rightToken(e) + "&pad=" + over, same},
		{"/.sessiongate/logout", "csrf=" + rightToken(e) + "&pad=" + huge, same},
		{"/.sessiongate/sessions", "action=end_others&csrf=" + rightToken(e) + "&pad=" + over, same},
		{"/.sessiongate/admin", "action=revoke&user=victim&csrf=" + rightToken(e) + "&pad=" + over, same},
		{"/.sessiongate/admin", "action=policy&absolute=24h&csrf=" + rightToken(e) + "&pad=" + huge, same},
	} {
		e.h.clock.Advance(time.Second)
		r := hostileRequest("POST", tc.path, tc.body, e.cookie, tc.hdr)
		w := e.h.serve(r)
		if w.Code < 400 || w.Code >= 500 {
			t.Errorf("%s with a %d-byte body: %d, want 4xx", tc.path, len(tc.body), w.Code)
		}
		if after := e.state(t); after != before {
			t.Errorf("%s with a %d-byte body changed the state:\n before %s\n after  %s", tc.path, len(tc.body), before, after)
		}
		before = e.state(t)
	}
	// back-channel logout: over its 64 KiB limit, refused before the provider or the store is asked
	calls := e.h.store.calls()
	for _, body := range []string{"logout_token=" + strings.Repeat("a", maxLogoutRequestBytes), strings.Repeat("a", 1<<20)} {
		w := e.h.serve(hostileRequest("POST", "/.sessiongate/backchannel-logout", body, nil, nil))
		if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("back-channel logout with a %d-byte body: %d", len(body), w.Code)
		}
	}
	if e.h.store.calls() != calls || e.state(t) != before {
		t.Error("an oversized back-channel logout reached the store")
	}
	// a huge Origin or CSRF header: refused
	for _, hdr := range []map[string]string{
		{"Origin": "http://gw.test" + strings.Repeat("a", 64<<10), "X-Sessiongate-CSRF": rightToken(e)},
		{"Origin": "http://gw.test", "X-Sessiongate-CSRF": strings.Repeat("a", 64<<10)},
		{"Referer": "http://evil.example/" + strings.Repeat("a", 64<<10), "X-Sessiongate-CSRF": rightToken(e)},
	} {
		if w := e.h.serve(hostileRequest("POST", "/.sessiongate/activity", "", e.cookie, hdr)); w.Code != http.StatusForbidden {
			t.Errorf("huge header: %d", w.Code)
		}
	}
	if e.state(t) != before {
		t.Error("a huge header changed the state")
	}
	// a huge rd: the return path falls back to "/" and is not reflected
	big := "/" + strings.Repeat("x", 100<<10)
	w := e.h.serve(hostileRequest("GET", "/.sessiongate/signed-out?reason=idle&rd="+url.QueryEscape(big), "", nil, click))
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "xxxxxxxxxx") ||
		!strings.Contains(w.Body.String(), `href="/.sessiongate/login?prompt=login&amp;rd=%2F"`) {
		t.Errorf("signed-out page with a huge rd: %d %.300s", w.Code, w.Body)
	}
	w = e.h.serve(hostileRequest("GET", "/.sessiongate/login?rd="+url.QueryEscape(big), "", nil, click))
	if w.Code >= 500 && w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "xxxxxxxxxx") {
		t.Errorf("login with a huge rd: %d %.300s", w.Code, w.Body)
	}
	// a huge path on an expired session: the signed-out redirect does not carry it
	e.h.clock.Advance(time.Hour)
	w = e.h.serve(hostileRequest("GET", big, "", e.cookie, click))
	if loc := w.Header().Get("Location"); w.Code != http.StatusFound || len(loc) > 200 {
		t.Errorf("huge path after expiry: %d Location of %d bytes", w.Code, len(loc))
	}
	if e.h.hits != 0 {
		t.Fatal("oversized input reached the app")
	}
}

// Paths that a lenient server might read as the gateway's prefix (encoded
// dots and slashes, double slashes, letter case, dot segments, trailing
// dots, semicolon parameters, backslashes, NUL) never reach the app, and
// none of them serves a gateway endpoint: only the canonical path does.
func TestHostilePathTricksNeverReachTheApp(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	c := h.signIn(t, &session.Session{Subject: "alice", Name: "Alice"})
	for _, p := range hostilePaths {
		for _, hdr := range []map[string]string{click, poll} {
			r := httptest.NewRequest("GET", "http://gw.test/", nil)
			r.URL = &url.URL{Path: mustUnescape(t, p), RawPath: p}
			r.RequestURI = p
			r.AddCookie(c)
			for k, v := range hdr {
				r.Header.Set(k, v)
			}
			w := h.serve(r)
			if h.hits != 0 {
				t.Fatalf("%s reached the app (%d)", p, w.Code)
			}
			if w.Code != http.StatusNotFound {
				t.Errorf("%s: %d, want 404: %.120s", p, w.Code, w.Body)
			}
		}
	}
	// the canonical path answers
	if w := h.serve(hostileRequest("GET", "/.sessiongate/status", "", c, poll)); w.Code != http.StatusOK ||
		!strings.Contains(w.Body.String(), `"authenticated":true`) {
		t.Fatalf("canonical status: %d %s", w.Code, w.Body)
	}
	// paths that only resemble the prefix are the app's
	for _, p := range []string{"/sessiongate/status", "/.sessiongatex/status", "/x.sessiongate/status", "/a/.sessiongate.md",
		"/.sessiongate-docs/", "/%2esessiongatex"} {
		hits := h.hits
		r := httptest.NewRequest("GET", "http://gw.test"+p, nil)
		r.AddCookie(c)
		if w := h.serve(r); w.Code != http.StatusOK || h.hits != hits+1 {
			t.Errorf("%s: %d, want the app", p, w.Code)
		}
	}
}

// hostilePaths are request paths (as sent, percent-encoded) that must be
// kept from the app and must not serve the status endpoint.
var hostilePaths = []string{
	"/%2esessiongate/status", "/%2Esessiongate/status", "/%2e%73essiongate/status",
	"/.sessiongate%2Fstatus", "/.sessiongate%2fstatus", "/.sessiongate/status%2F", "/.sessiongate%2F%2Fstatus",
	"/.sessiongate/sta%74us", "/.sessiongate/%73tatus",
	"//.sessiongate/status", "/.sessiongate//status", "///.sessiongate/status",
	"/.SessionGate/status", "/.SESSIONGATE/STATUS", "/.sessiongate/STATUS", "/.Sessiongate/status",
	"/x/../.sessiongate/status", "/x/%2e%2e/.sessiongate/status", "/x/%2E%2E/.sessiongate/status",
	"/.sessiongate/./status", "/.sessiongate/../.sessiongate/status", "/./.sessiongate/status",
	"/.sessiongate/status.", "/.sessiongate/status..", "/.sessiongate/status;", "/.sessiongate/status;jsessionid=1",
	"/.sessiongate/status/", "/.sessiongate/status/.", "/.sessiongate/status%20", "/.sessiongate/status%00",
	"/.sessiongate;/status", "/.sessiongate;jsessionid=x/status", "/.SessionGate;x=1/status",
	"/.sessiongate./status", "/.sessiongate../status", "/.SESSIONGATE./status", "/.sessiongate%2e/status",
	"/.sessiongate%20/status", "/.sessiongate%20./status", "/.sessiongate%00/status",
	"/.sessiongate%5Cstatus", "/.sessiongate%5cstatus", `/.sessiongate\status`, `/x\..\.sessiongate\status`,
	"/.sessiongate", "/.sessiongate.", "/.sessiongate;", "/.sessiongate%2e", "/.SESSIONGATE", "/app/.sessiongate",
	"/app/.sessiongate/status", "/.sessiongate/status/..", "/.sessiongate/status%2F..%2F..%2Fchart",
	"/.sessiongate/nope", "/.sessiongate/", "/.sessiongate/banner.js/",
}

func mustUnescape(t *testing.T, p string) string {
	t.Helper()
	u, err := url.PathUnescape(p)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
