package gateway

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/session"
)

// fuzzCookieSecret sealed the committed seed cookies below (and those in
// testdata/fuzz/FuzzSessionCookie): a gateway with this secret opens them.
const fuzzCookieSecret = "fuzz-session-cookie-secret-0123456789abcdef"

// Values sealed once with fuzzCookieSecret (fuzzForeignCookie: with another
// secret); TestFuzzSessionCookieSeeds checks that they still open as
// described, so that a change of the sealing format cannot leave the fuzz
// target without a valid cookie to mutate.
const (
	fuzzLiveCookie    = "MTc5NTUxODcwN3w5UWc0bFAxTXlFak9sU0dwSlRoWnJVbG1peEg0aDVRQXJOb182dmZiYWpjbXdjSlgxcU9Ib3FweFRwWGFzZ2M2TFE0S1ZCVWZWWjNGOGJRV3RXWUhGZ09vU0ZkZ0Vjbzg2VjRudDZueHJMVVBOOWFOUlZRTjRtNUhRLUljcVdfUkE2RlJnZTFBYklnRWlzSk9MMUp3ZFVaS1hNSjlJUkhrdE1KZGpnPT182KnA_1CKgM5TQaQbzDwRbkaU9xWjqgD7cNnkeucMdZQ="
	fuzzEndedCookie   = "MTc5NTUxODcwN3xjLWE5bVdfNW5fSzlrOFFhVnN4ZHJMa0pTY0t6SXpWM05qeXVKa25Jek9sS3ZCc3lPeWg5TWxSSEtDQ0NHbHY4MEFtU0xwbi1SYmtiaUo2NUJZR1VIc2FSck9wUXhwY0JHVFpUSFZNR2d1WlBncFo0cHVrd0FyNndMZ1B4S2ZWWld5TTc4TU5lZUhmdnVVWGN0aXpTbkVKSWR4cUp3dTgydTRSckN3PT18uPO-WNJSlL9TvgW-RTDp7umGoGQjPR98SYze7TBvLWo="
	fuzzSeenCookie    = "MTc5NTUxODcwN3xjZG1rZnYzZFh1Mzh3VlZCaHBQS2toU2p1MTVWT3Q2TGJERGlfZ0xBbXNhdk1jQXBMYnd5Zl9NazI1NnczenhpWjBrM1FhQlp8pmp-QWzYIQrGQHSxLoy3c7UxKS_OrblsN2KwcIjIqpU="
	fuzzForeignCookie = "MTc5NTUxODcwN3xJNTVNQ1VlMkQ3c3hoQWluUWNnZU9JUUhockJaNUI4MkZacVJrUEIyT2RpZE54Rks1UERQZHZBSnVQRjN0TTR4X1VaZVRGOUo1N09pVEszWGMwVU1iVFF6S3B5dl9WTlNiUldqVi1CMU5tc1F0cXNGNGtxU3dJZVFvSWFPMmNZaXpXeXFsQ09hek9NZ0hDVWZ4WFJodWs3ZjdEZmVieG5udkdKRE9RPT18J7Spder_HltkiHNSyX0txfaa1ga-x47hgEziieO8R7A="
)

// The sessions those cookies name: the live one exists, the ended one was
// signed out. No other session reference was ever sealed with the secret.
var (
	fuzzUserKey  = session.UserKey(hostileIssuer, "fuzz-user")
	fuzzLiveRef  = session.Ref{ID: "fuzz-live-session-0123456789abcdefghijklmn", UserKey: fuzzUserKey, CreatedAt: 1767225600000}
	fuzzEndedRef = session.Ref{ID: "fuzz-ended-session-0123456789abcdefghijklm", UserKey: fuzzUserKey, CreatedAt: 1767225600000}
)

func TestFuzzSessionCookieSeeds(t *testing.T) {
	s := mustSealer(t, fuzzCookieSecret)
	for v, want := range map[string]session.Ref{fuzzLiveCookie: fuzzLiveRef, fuzzEndedCookie: fuzzEndedRef} {
		var ref session.Ref
		if err := s.Open(sessionCookieSealKey, v, &ref); err != nil || ref != want {
			t.Errorf("seed cookie opens as %+v (%v), want %+v", ref, err, want)
		}
	}
	var m seenMarker
	if err := s.Open(seenCookieSealKey, fuzzSeenCookie, &m); err != nil || m.CreatedAt == 0 {
		t.Errorf("seed seen marker: %+v %v", m, err)
	}
	var ref session.Ref
	if err := s.Open(sessionCookieSealKey, fuzzForeignCookie, &ref); err == nil {
		t.Error("the foreign seed opens with the fuzz secret")
	}
	// the whole fuzz property, on the seeds
	h, live := newFuzzGateway(t)
	for _, header := range []string{"sessiongate=" + fuzzLiveCookie, "__Host-sessiongate=" + fuzzLiveCookie} {
		mode := uint8(0)
		if strings.HasPrefix(header, "__Host-") {
			mode = 5
		}
		if !checkSessionCookie(t, h, live, header, mode) {
			t.Errorf("%.40s: did not reach the app", header)
		}
	}
	if checkSessionCookie(t, h, live, "sessiongate="+fuzzEndedCookie, 0) {
		t.Error("the ended session's cookie reached the app")
	}
}

// newFuzzGateway is a gateway with fuzzCookieSecret whose store holds the
// live session and the ended one.
func newFuzzGateway(t testing.TB) (*hostile, *session.Session) {
	h := newHostile(t, []string{fuzzCookieSecret}, nil, nil, nil)
	live := &session.Session{ID: fuzzLiveRef.ID, UserKey: fuzzUserKey, Subject: "fuzz-user", Name: "Fuzz"}
	h.signIn(t, live)
	ended := &session.Session{ID: fuzzEndedRef.ID, UserKey: fuzzUserKey, Subject: "fuzz-user"}
	h.signIn(t, ended)
	if err := h.store.Store.End(t.Context(), fuzzEndedRef, session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	return h, live
}

// fuzzModes are the requests a fuzzed Cookie header is sent with; none of
// them asks the (unreachable) provider.
var fuzzModes = []struct {
	method, target, body string
	hdr                  map[string]string
}{
	{"GET", "http://gw.test/api/q", "", poll},
	{"GET", "http://gw.test/chart", "", frameNav},
	{"GET", "http://gw.test/.sessiongate/status", "", poll},
	{"POST", "http://gw.test/.sessiongate/activity", "", map[string]string{"Origin": "http://gw.test"}},
	{"POST", "http://gw.test/.sessiongate/logout", "switch=1", map[string]string{"Origin": "http://gw.test"}},
	{"GET", "https://gw.test/api/q", "", poll},
	{"GET", "http://gw.test/.sessiongate/sessions", "", poll},
	{"POST", "http://gw.test/.sessiongate/sessions", "action=end_others", map[string]string{"Origin": "http://gw.test"}},
}

// checkSessionCookie sends one request with the Cookie header and checks
// the property; it reports whether the request reached the app.
func checkSessionCookie(t *testing.T, h *hostile, live *session.Session, header string, mode uint8) bool {
	t.Helper()
	m := fuzzModes[int(mode)%len(fuzzModes)]
	var body *strings.Reader
	if m.body != "" {
		body = strings.NewReader(m.body)
	}
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(m.method, m.target, body)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(m.method, m.target, nil)
	}
	for k, v := range m.hdr {
		r.Header.Set(k, v)
	}
	r.Header.Set("Cookie", header)

	ref, opened := h.g.readSessionCookie(r)
	if opened && ref != fuzzLiveRef && ref != fuzzEndedRef {
		t.Fatalf("Cookie %q opened as %+v, a reference nobody sealed", header, ref)
	}
	calls, hits := h.store.calls(), h.hits
	w := h.serve(r) // must not panic
	reached := h.hits != hits
	if !opened && h.store.calls() != calls {
		t.Fatalf("Cookie %q does not open, yet the store was asked %d times", header, h.store.calls()-calls)
	}
	if reached && (!opened || ref != fuzzLiveRef) {
		t.Fatalf("Cookie %q reached the app without a valid session (opened %v as %+v)", header, opened, ref)
	}
	if w.Code >= 500 {
		t.Fatalf("Cookie %q: %d %s", header, w.Code, w.Body)
	}
	if h.alive(t, live) == nil {
		t.Fatalf("Cookie %q ended the live session", header)
	}
	return reached
}

// FuzzSessionCookie sends arbitrary Cookie headers through ServeHTTP: it
// never panics, never reaches the app without the valid session's cookie,
// never asks the store about a cookie that does not open, and no value
// opens to a reference that was not sealed with the gateway's secret.
func FuzzSessionCookie(f *testing.F) {
	// mutations of the sealed seeds (the committed corpus has the seeds themselves)
	raw, err := base64.URLEncoding.DecodeString(fuzzLiveCookie)
	if err != nil {
		f.Fatal(err)
	}
	for i, part := range bytes.SplitN(raw, []byte("|"), 3) {
		flipped := bytes.Clone(raw)
		off := bytes.Index(raw, part) + len(part)/2
		flipped[off] ^= 0x01
		f.Add("sessiongate="+base64.URLEncoding.EncodeToString(flipped), uint8(i))
	}
	f.Add("sessiongate="+fuzzLiveCookie[:len(fuzzLiveCookie)/2], uint8(0))
	f.Add("sessiongate="+fuzzLiveCookie+"; sessiongate="+fuzzEndedCookie, uint8(2))
	f.Add("sessiongate="+fuzzEndedCookie+"; sessiongate="+fuzzLiveCookie, uint8(2))
	h, live := newFuzzGateway(f)
	f.Fuzz(func(t *testing.T, header string, mode uint8) {
		checkSessionCookie(t, h, live, header, mode)
	})
}
