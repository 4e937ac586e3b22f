package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

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

// A group whose name contains a comma does not reach the app as two groups
// (#15 point 9): "practice-managers,x" must not read as membership of
// practice-managers.
func TestHostileGroupNameWithCommaIsNotTwoGroups(t *testing.T) {
	if got := joinGroups([]string{"clinicians", "practice-managers,x", "", "front-desk"}); got != "clinicians,front-desk" {
		t.Fatalf("X-Forwarded-Groups = %q", got)
	}
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	c := h.signIn(t, &session.Session{Subject: "alice", Groups: []string{"a,b", "nurses"}})
	if w := h.serve(hostileRequest("GET", "/api/q", "", c, poll)); w.Code != http.StatusOK {
		t.Fatalf("%d", w.Code)
	}
	for name, vals := range h.seen {
		for _, v := range vals {
			if strings.Contains(v, "a,b") || strings.Contains(v, "a, b") {
				t.Errorf("%s: %q carries the comma group", name, v)
			}
		}
	}
}

// The devices page shows a count it wrote, never text from the link
// (#15 point 9).
func TestHostileDevicesNoticeIsACount(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	c := h.signIn(t, &session.Session{Subject: "alice"})
	for q, want := range map[string]string{
		"?ended=2":                            "2 devices were signed out.",
		"?ended=Your+account+is+locked.+Call": "",
		"?ended=-5":                           "",
	} {
		w := h.serve(hostileRequest("GET", "/.sessiongate/sessions"+q, "", c, map[string]string{"Sec-Fetch-Mode": "navigate",
			"Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin"}))
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", q, w.Code)
		}
		if strings.Contains(body, "locked") || strings.Contains(body, "-5 devices") {
			t.Errorf("%s: the page shows the link's text", q)
		}
		if want != "" && !strings.Contains(body, want) {
			t.Errorf("%s: notice %q missing", q, want)
		}
	}
}

// "Sign a user out everywhere" hits exactly the named user (#15 point 2).
// Subjects, sign-in names and verified emails are kept apart, one name may
// belong to several users, and an ambiguous name signs nobody out but lists
// the candidates; the page says whom it signed out.
func TestHostileAdminRevocationHitsTheRightAccount(t *testing.T) {
	e := newCSRFEnv(t)
	h := e.h
	ctx := context.Background()
	manager := &session.Session{Subject: "u-manager", Groups: []string{"practice-managers"}}
	mc := h.signIn(t, manager)
	csrf := h.g.csrfToken(manager)
	same := map[string]string{"Origin": "http://gw.test"}
	remember := func(s *session.Session, names ...session.UserName) *http.Cookie {
		c := h.signIn(t, s)
		if err := h.store.Store.RememberUser(ctx, s.UserKey, s.Subject, names); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// clinician signs in; then a user whose (unverified, so unrecorded) email
	// claim is the string "clinician", and one whose verified email is it
	clin := &session.Session{Subject: "u-clinician"}
	cc := remember(clin, session.UserName{Kind: session.NameSubject, Value: "u-clinician"},
		session.UserName{Kind: session.NameUsername, Value: "clinician"})
	other := &session.Session{Subject: "u-other"}
	oc := remember(other, session.UserName{Kind: session.NameSubject, Value: "u-other"},
		session.UserName{Kind: session.NameEmail, Value: "clinician"})
	revoke := func(name string) string {
		w := h.serve(hostileRequest("POST", "/.sessiongate/admin", "action=revoke&user="+url.QueryEscape(name)+"&csrf="+url.QueryEscape(csrf), mc, same))
		if w.Code != http.StatusOK {
			t.Fatalf("revoke %q: %d", name, w.Code)
		}
		return w.Body.String()
	}
	alive := func(c *http.Cookie) bool {
		return h.serve(hostileRequest("GET", "/api/q", "", c, poll)).Code == http.StatusOK
	}
	body := revoke("clinician")
	if alive(cc) || !alive(oc) {
		t.Fatalf("revoking clinician: clinician alive %v, the other user alive %v (want false, true)", alive(cc), alive(oc))
	}
	if !strings.Contains(body, "u-clinician") || !strings.Contains(body, "signed out of 1 device") {
		t.Errorf("the page does not say whom it signed out: %.400s", body)
	}
	// two users with one sign-in name: nobody is signed out, both are listed
	sam1 := &session.Session{Subject: "u-sam-1"}
	s1 := remember(sam1, session.UserName{Kind: session.NameSubject, Value: "u-sam-1"}, session.UserName{Kind: session.NameUsername, Value: "sam"})
	sam2 := &session.Session{Subject: "u-sam-2"}
	s2 := remember(sam2, session.UserName{Kind: session.NameSubject, Value: "u-sam-2"}, session.UserName{Kind: session.NameUsername, Value: "sam"})
	body = revoke("sam")
	if !alive(s1) || !alive(s2) || !strings.Contains(body, "u-sam-1") || !strings.Contains(body, "u-sam-2") || !strings.Contains(body, "Nobody was signed out") {
		t.Fatalf("ambiguous name: alive %v %v; page %.400s", alive(s1), alive(s2), body)
	}
	// the manager chooses by subject
	revoke("u-sam-2")
	if !alive(s1) || alive(s2) {
		t.Fatalf("choosing by subject: sam-1 alive %v, sam-2 alive %v", alive(s1), alive(s2))
	}
}

// An aborted compressed page releases the injector's decoder (#15 point 9):
// Caddy's proxy aborts a response with panic(http.ErrAbortHandler); the
// decoder's coroutine must not be left running.
func TestAbortedCompressedPageReleasesTheDecoder(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	c := h.signIn(t, &session.Session{Subject: "alice"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(bytes.Repeat([]byte("<p>a long page without a head</p>\n"), 4000))
	_ = zw.Close()
	partial := gz.Bytes()[:gz.Len()/2]
	nav := map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin", "Accept": "text/html"}
	baseline := runtime.NumGoroutine()
	for range 20 {
		func() {
			defer func() {
				if p := recover(); p != nil && p != http.ErrAbortHandler {
					panic(p)
				}
			}()
			_ = h.g.ServeHTTP(httptest.NewRecorder(), hostileRequest("GET", "/board", "", c, nav), func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("Content-Encoding", "gzip")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(partial)
				panic(http.ErrAbortHandler)
			})
		}()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > baseline+2 {
		if time.Now().After(deadline) {
			t.Fatalf("20 aborted compressed pages left %d goroutines behind", runtime.NumGoroutine()-baseline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
