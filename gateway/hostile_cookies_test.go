package gateway

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

// sealedParts splits a sealed value into securecookie's date|value|mac.
func sealedParts(t *testing.T, v string) (date, value, mac []byte) {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.SplitN(raw, []byte("|"), 3)
	if len(parts) != 3 {
		t.Fatalf("sealed value has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

func joinSealed(parts ...[]byte) string {
	return base64.URLEncoding.EncodeToString(bytes.Join(parts, []byte("|")))
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}

// hostileCookieValues are session cookie values that must never open: every
// part of a valid value bit-flipped, truncated, extended or rearranged, and
// values sealed under another cookie's name or another site's secret.
func hostileCookieValues(t *testing.T, h *hostile, s *session.Session) map[string]string {
	t.Helper()
	valid := mustSeal(t, h.g.sealer, sessionCookieSealKey, s.Ref())
	date, value, mac := sealedParts(t, valid)
	out := map[string]string{}
	for name, part := range map[string][]byte{"date": date, "value": value, "mac": mac} {
		for _, i := range []int{0, len(part) / 2, len(part) - 1} {
			p := map[string][]byte{"date": date, "value": value, "mac": mac}
			p[name] = flip(part, i)
			out[fmt.Sprintf("bit flip in %s byte %d", name, i)] = joinSealed(p["date"], p["value"], p["mac"])
		}
	}
	out["date changed to now"] = joinSealed([]byte(fmt.Sprint(time.Now().Unix()+1)), value, mac)
	out["value of another seal under this mac"] = func() string {
		_, v2, _ := sealedParts(t, mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{ID: "x", UserKey: "y"}))
		return joinSealed(date, v2, mac)
	}()
	out["parts swapped"] = joinSealed(value, date, mac)
	out["mac dropped"] = joinSealed(date, value)
	out["mac empty"] = joinSealed(date, value, nil)
	out["mac doubled"] = joinSealed(date, value, append(bytes.Clone(mac), mac...))
	out["separators dropped"] = base64.URLEncoding.EncodeToString(bytes.Join([][]byte{date, value, mac}, nil))
	out["raw, not base64"] = string(date) + "|" + string(value)
	out["appended data"] = valid + "AAAA"
	out["appended separator"] = strings.TrimRight(valid, "=") + "fA"
	out["4097 characters"] = strings.Repeat("A", 4097)
	out["64 KiB"] = strings.Repeat("A", 64<<10)
	out["64 KiB of base64"] = base64.URLEncoding.EncodeToString(bytes.Repeat([]byte("0|x|"), 12<<10))
	for _, n := range []int{1, 4, 16, len(valid) / 2, len(valid) - 8, len(valid) - 4, len(valid) - 1} {
		out[fmt.Sprintf("truncated to %d", n)] = valid[:n]
		out[fmt.Sprintf("first %d characters cut", n)] = valid[n:]
	}
	out["empty"] = ""
	// values the gateway sealed itself, but under another cookie's name
	out["seen marker"] = mustSeal(t, h.g.sealer, seenCookieSealKey, seenMarker{CreatedAt: 1})
	out["seen marker name, session ref"] = mustSeal(t, h.g.sealer, seenCookieSealKey, s.Ref())
	out["login state"] = mustSeal(t, h.g.sealer, loginCookieSealKey, auth.LoginState{State: s.ID, Nonce: s.UserKey})
	out["login state name, session ref"] = mustSeal(t, h.g.sealer, loginCookieSealKey, s.Ref())
	out["ID token cookie"] = mustSeal(t, h.g.sealer, idTokenCookieSealKey, idTokenCookie{SessionID: s.ID, IDToken: "t"})
	// right name, wrong content
	out["empty ref"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{})
	out["ref without user key"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{ID: s.ID})
	out["ref without ID"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, session.Ref{UserKey: s.UserKey})
	out["a string"] = mustSeal(t, h.g.sealer, sessionCookieSealKey, s.ID)
	// another site's (or a removed) secret
	out["another site's secret"] = mustSeal(t, mustSealer(t, secretForeign), sessionCookieSealKey, s.Ref())
	out["the current secret used as raw keys"] = func() string {
		raw := securecookie.New([]byte(secretCurrent), []byte(secretCurrent[:32]))
		raw.SetSerializer(securecookie.JSONEncoder{})
		v, err := raw.Encode(sessionCookieSealKey, s.Ref())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}()
	return out
}

// The session cookie carries the session reference sealed (encrypted and
// MAC'd): any value that does not open is no session at all, and the store
// is never asked about it.
func TestHostileSessionCookieNeverReachesTheStore(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	alice := &session.Session{Subject: "alice", Name: "Alice"}
	valid := h.signIn(t, alice)
	values := hostileCookieValues(t, h, alice)
	if len(values) < 40 {
		t.Fatalf("only %d hostile values", len(values))
	}
	for name, v := range values {
		c := &http.Cookie{Name: sessionCookieName, Value: v}
		before := h.store.calls()
		// background request: 401 unauthenticated
		w := h.serve(hostileRequest("GET", "/api/q", "", c, poll))
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"unauthenticated"`) {
			t.Errorf("%s: background request %d %s", name, w.Code, w.Body)
		}
		// a frame navigation: the break-out page to the sign-in
		if w := h.serve(hostileRequest("GET", "/chart", "", c, frameNav)); w.Code != http.StatusOK ||
			!strings.Contains(w.Body.String(), "/.sessiongate/login") {
			t.Errorf("%s: frame navigation %d", name, w.Code)
		}
		// the gateway's own endpoints
		if w := h.serve(hostileRequest("GET", "/.sessiongate/status", "", c, poll)); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, w.Code)
		}
		if w := h.serve(hostileRequest("POST", "/.sessiongate/activity", "", c, map[string]string{
			"Origin": "http://gw.test", "X-Sessiongate-CSRF": h.g.csrfToken(alice)})); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: activity %d", name, w.Code)
		}
		if w := h.serve(hostileRequest("POST", "/.sessiongate/logout", "csrf="+h.g.csrfToken(alice), c,
			map[string]string{"Origin": "http://gw.test"})); w.Code != http.StatusSeeOther {
			t.Errorf("%s: logout %d", name, w.Code)
		}
		if w := h.serve(hostileRequest("POST", "/.sessiongate/sessions", "action=end_others&csrf="+h.g.csrfToken(alice), c,
			poll)); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: sessions %d", name, w.Code)
		}
		if got := h.store.calls() - before; got != 0 {
			t.Errorf("%s: %d store calls for a cookie that does not open", name, got)
		}
		if h.hits != 0 {
			t.Fatalf("%s: reached the app", name)
		}
	}
	if h.alive(t, alice) == nil {
		t.Fatal("a hostile cookie ended the session")
	}
	// the control: the untouched cookie passes with one store call
	before := h.store.calls()
	if w := h.serve(hostileRequest("GET", "/api/q", "", valid, poll)); w.Code != http.StatusOK || h.hits != 1 {
		t.Fatalf("valid cookie: %d hits=%d", w.Code, h.hits)
	}
	if got := h.store.calls() - before; got != 1 {
		t.Fatalf("valid cookie: %d store calls, want 1", got)
	}
}

// Cookie names are exact: another spelling of the session cookie's name is
// an unknown cookie (and the app's business).
func TestHostileSessionCookieNameVariants(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	alice := &session.Session{Subject: "alice"}
	valid := h.signIn(t, alice)
	for _, name := range []string{"Sessiongate", "SESSIONGATE", "sessiongate_", "_sessiongate", "__Host-sessiongate",
		"__Secure-sessiongate", "sessiongate_seen", "sessiongate_login_x"} {
		before := h.store.calls()
		w := h.serve(hostileRequest("GET", "/api/q", "", &http.Cookie{Name: name, Value: valid.Value}, poll))
		if w.Code != http.StatusUnauthorized || h.hits != 0 || h.store.calls() != before {
			t.Errorf("cookie named %q: %d hits=%d store calls=%d", name, w.Code, h.hits, h.store.calls()-before)
		}
	}
	// on HTTPS only the __Host- name counts
	r := httptest.NewRequest("GET", "https://gw.test/api/q", nil)
	r.AddCookie(valid)
	for k, v := range poll {
		r.Header.Set(k, v)
	}
	if w := h.serve(r); w.Code != http.StatusUnauthorized || h.hits != 0 {
		t.Errorf("unprefixed cookie on HTTPS: %d hits=%d", w.Code, h.hits)
	}
}

// A 64 KiB Cookie header: no crash, a sane status, and the store is asked
// only when the session cookie itself opens.
func TestHostileCookieHeader64KiB(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	alice := &session.Session{Subject: "alice"}
	valid := h.signIn(t, alice)
	var junk strings.Builder
	for i := 0; junk.Len() < 64<<10; i++ {
		fmt.Fprintf(&junk, "app%d=%s; ", i, strings.Repeat("x", 100))
	}
	var dupes strings.Builder
	for dupes.Len() < 64<<10 {
		dupes.WriteString("sessiongate=" + strings.Repeat("A", 200) + "; ")
	}
	cases := []struct {
		name     string
		header   string
		want     int
		calls    int64
		upstream bool
	}{
		{"a 64 KiB session cookie", "sessiongate=" + strings.Repeat("A", 64<<10), http.StatusUnauthorized, 0, false},
		{"64 KiB of other cookies, then the session cookie", junk.String() + "sessiongate=" + valid.Value, http.StatusOK, 1, true},
		{"the session cookie, then 64 KiB of other cookies", "sessiongate=" + valid.Value + "; " + junk.String(), http.StatusOK, 1, true},
		// at most four copies of the name are tried: 64 KiB of forged ones in front is no session
		{"a forged session cookie in front of the valid one", "sessiongate=" + strings.Repeat("A", 200) + "; sessiongate=" + valid.Value +
			"; " + junk.String(), http.StatusOK, 1, true},
		{"64 KiB of forged session cookies in front", dupes.String() + "sessiongate=" + valid.Value, http.StatusUnauthorized, 0, false},
		{"64 KiB of nothing but separators", strings.Repeat("; ", 32<<10), http.StatusUnauthorized, 0, false},
		{"64 KiB of a name without a value", strings.Repeat("s", 64<<10), http.StatusUnauthorized, 0, false},
	}
	for _, tc := range cases {
		if len(tc.header) < 64<<10 {
			t.Fatalf("%s: header only %d bytes", tc.name, len(tc.header))
		}
		for _, path := range []string{"/api/q", "/.sessiongate/status"} {
			r := hostileRequest("GET", path, "", nil, poll)
			r.Header.Set("Cookie", tc.header)
			before, hits := h.store.calls(), h.hits
			w := h.serve(r)
			if w.Code != tc.want {
				t.Errorf("%s, %s: %d, want %d", tc.name, path, w.Code, tc.want)
			}
			if got := h.store.calls() - before; got != tc.calls {
				t.Errorf("%s, %s: %d store calls, want %d", tc.name, path, got, tc.calls)
			}
			if path == "/api/q" && (h.hits != hits) != tc.upstream {
				t.Errorf("%s: reached the app: %v", tc.name, h.hits != hits)
			}
		}
	}
	// the app gets its own cookies back, without the session cookie
	if got := h.seen.Get("Cookie"); strings.Contains(got, "sessiongate") || !strings.Contains(got, "app0=") {
		t.Errorf("upstream Cookie header: %.100q", got)
	}
}
