package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// csrfEnv is a manager signed in on two devices and another user, on a
// gateway with the admin page.
type csrfEnv struct {
	h                    *hostile
	me, meTablet, victim *session.Session
	cookie               *http.Cookie
}

func newCSRFEnv(t *testing.T) *csrfEnv {
	t.Helper()
	h := newHostile(t, []string{secretCurrent}, nil, nil, func(c *config.Settings) {
		c.AdminGroup = "practice-managers"
		c.AbsoluteTimeoutChoices = []config.Duration{config.Duration(9 * time.Hour), config.Duration(24 * time.Hour)}
	})
	e := &csrfEnv{h: h,
		me:       &session.Session{Subject: "manager", Groups: []string{"practice-managers"}},
		meTablet: &session.Session{Subject: "manager", Groups: []string{"practice-managers"}},
		victim:   &session.Session{Subject: "victim", Groups: []string{"clinicians"}},
	}
	e.cookie = h.signIn(t, e.me)
	h.signIn(t, e.meTablet)
	h.signIn(t, e.victim)
	if err := h.store.Store.RememberUser(context.Background(), e.victim.UserKey, e.victim.Subject,
		[]session.UserName{{Kind: session.NameUsername, Value: "victim"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// state is everything a state-changing POST could change: each session's
// existence and last activity, and the organization policy.
func (e *csrfEnv) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, s := range []*session.Session{e.me, e.meTablet, e.victim} {
		if got := e.h.alive(t, s); got == nil {
			b.WriteString("gone ")
		} else {
			fmt.Fprintf(&b, "%d ", got.LastActivity.UnixMilli())
		}
	}
	org, err := e.h.store.Store.Setting(context.Background(), e.h.g.orgSettingName())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "org=%q abs=%v", org, e.h.g.limits().Default.Absolute)
	return b.String()
}

// csrfEndpoint is one state-changing POST of the gateway.
type csrfEndpoint struct {
	name string
	// request carries token where the endpoint expects it, or in the query
	// string when inQuery.
	request func(e *csrfEnv, token string, inQuery bool) *http.Request
	// okStatus and changed describe the accepted request.
	okStatus int
	changed  func(t *testing.T, e *csrfEnv) bool
}

func formPost(path string, form url.Values, token string, inQuery bool) *http.Request {
	target := path
	if inQuery {
		target += "?csrf=" + url.QueryEscape(token)
	} else if token != "" {
		form.Set("csrf", token)
	}
	return hostileRequest("POST", target, form.Encode(), nil, nil)
}

func headerPost(path, body, token string, inQuery bool) *http.Request {
	target := path
	if inQuery {
		target += "?csrf=" + url.QueryEscape(token)
	}
	r := hostileRequest("POST", target, body, nil, nil)
	if !inQuery && token != "" {
		r.Header.Set("X-Sessiongate-CSRF", token)
	}
	return r
}

var csrfEndpoints = []csrfEndpoint{
	{"activity", func(e *csrfEnv, token string, q bool) *http.Request {
		return headerPost("/.sessiongate/activity", "", token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool {
		return e.h.alive(t, e.me).LastActivity.Equal(e.h.clock.Now())
	}},
	{"logout (form)", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/logout", url.Values{}, token, q)
	}, http.StatusSeeOther, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.me) == nil }},
	{"logout (banner)", func(e *csrfEnv, token string, q bool) *http.Request {
		return headerPost("/.sessiongate/logout", "switch=0", token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.me) == nil }},
	{"sessions: end the other devices", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/sessions", url.Values{"action": {"end_others"}}, token, q)
	}, http.StatusSeeOther, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.meTablet) == nil }},
	{"sessions: end one device", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/sessions", url.Values{"action": {"end"}, "device": {session.LogID(e.meTablet.ID)}}, token, q)
	}, http.StatusSeeOther, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.meTablet) == nil }},
	{"admin: set the absolute timer", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/admin", url.Values{"action": {"policy"}, "absolute": {"24h0m0s"}}, token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool { return e.h.g.limits().Default.Absolute == 24*time.Hour }},
	{"admin: sign a user out everywhere", func(e *csrfEnv, token string, q bool) *http.Request {
		return formPost("/.sessiongate/admin", url.Values{"action": {"revoke"}, "user": {"victim"}}, token, q)
	}, http.StatusOK, func(t *testing.T, e *csrfEnv) bool { return e.h.alive(t, e.victim) == nil }},
}

// csrfAttack is a forged POST: a token and the browser's origin signals.
type csrfAttack struct {
	name    string
	token   func(e *csrfEnv) string
	hdr     map[string]string
	inQuery bool
}

func rightToken(e *csrfEnv) string { return e.h.g.csrfToken(e.me) }

var csrfAttacks = []csrfAttack{
	{"missing token", func(*csrfEnv) string { return "" }, map[string]string{"Origin": "http://gw.test"}, false},
	{"wrong token", func(*csrfEnv) string { return "wrong" }, map[string]string{"Origin": "http://gw.test"}, false},
	{"random token of the right shape", func(*csrfEnv) string {
		return base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 24))
	}, map[string]string{"Origin": "http://gw.test"}, false},
	{"token of the same user's other device", func(e *csrfEnv) string { return e.h.g.csrfToken(e.meTablet) },
		map[string]string{"Origin": "http://gw.test"}, false},
	{"token of another user's session", func(e *csrfEnv) string { return e.h.g.csrfToken(e.victim) },
		map[string]string{"Origin": "http://gw.test"}, false},
	{"token of this session under another site's secret", func(e *csrfEnv) string {
		foreign, err := auth.NewSealer([]string{secretForeign})
		if err != nil {
			panic(err)
		}
		return foreign.Token(csrfPurpose, e.me.ID)
	}, map[string]string{"Origin": "http://gw.test"}, false},
	{"token in the query string", rightToken, map[string]string{"Origin": "http://gw.test"}, true},
	{"cross-site Origin", rightToken, map[string]string{"Origin": "https://evil.example"}, false},
	{"Origin: null", rightToken, map[string]string{"Origin": "null"}, false},
	{"sibling subdomain (same-site)", rightToken, map[string]string{"Origin": "http://evil.gw.test", "Sec-Fetch-Site": "same-site"}, false},
	{"Origin with another scheme", rightToken, map[string]string{"Origin": "https://gw.test"}, false},
	{"Origin with a port", rightToken, map[string]string{"Origin": "http://gw.test:8080"}, false},
	{"no Origin, cross-site Referer", rightToken, map[string]string{"Referer": "https://evil.example/attack"}, false},
	{"no Origin, Referer host-suffix trick", rightToken, map[string]string{"Referer": "http://gw.test.evil.example/"}, false},
	{"no Origin, Referer userinfo trick", rightToken, map[string]string{"Referer": "http://gw.test@evil.example/"}, false},
	{"no Origin, Sec-Fetch-Site cross-site", rightToken, map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
	{"no Origin, Sec-Fetch-Site same-site", rightToken, map[string]string{"Sec-Fetch-Site": "same-site"}, false},
	{"no Origin, Sec-Fetch-Site none", rightToken, map[string]string{"Sec-Fetch-Site": "none"}, false},
	{"cross-site Sec-Fetch-Site beats a same-origin Referer", rightToken,
		map[string]string{"Sec-Fetch-Site": "cross-site", "Referer": "http://gw.test/page"}, false},
}

// CSRF on every state-changing POST: each forged request is refused with
// 403 and changes nothing (no session ends, no timer moves, no policy is
// set); the same request from the same origin with the session's token
// passes.
func TestHostileCSRFOnEveryPostEndpoint(t *testing.T) {
	for _, ep := range csrfEndpoints {
		t.Run(ep.name, func(t *testing.T) {
			e := newCSRFEnv(t)
			for _, a := range csrfAttacks {
				e.h.clock.Advance(10 * time.Second) // so that a recorded activity would show
				before := e.state(t)
				r := ep.request(e, a.token(e), a.inQuery)
				r.AddCookie(e.cookie)
				for k, v := range a.hdr {
					r.Header.Set(k, v)
				}
				w := e.h.serve(r)
				if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "csrf_check_failed") {
					t.Errorf("%s: %d %.200s", a.name, w.Code, w.Body)
				}
				if after := e.state(t); after != before {
					t.Errorf("%s: refused, yet the state changed:\n before %s\n after  %s", a.name, before, after)
				}
				for _, sc := range w.Result().Cookies() {
					if sc.Name == sessionCookieName {
						t.Errorf("%s: the refusal touched the session cookie: %v", a.name, sc)
					}
				}
			}
			// the genuine request
			e.h.clock.Advance(10 * time.Second)
			r := ep.request(e, rightToken(e), false)
			r.AddCookie(e.cookie)
			r.Header.Set("Origin", "http://gw.test")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			if w := e.h.serve(r); w.Code != ep.okStatus {
				t.Fatalf("same origin, right token: %d %.300s", w.Code, w.Body)
			}
			if !ep.changed(t, e) {
				t.Fatalf("same origin, right token: nothing happened (%s)", e.state(t))
			}
			if e.h.hits != 0 {
				t.Fatal("a gateway endpoint reached the app")
			}
		})
	}
}

// Without Origin and Fetch Metadata (older browsers, privacy extensions) the
// Referer decides, and it must name this very origin; with no browser signal
// at all the session's token alone decides.
func TestHostileCSRFRefererOnly(t *testing.T) {
	for _, tc := range []struct {
		referer string
		ok      bool
	}{
		{"http://gw.test/chart?id=7", true},
		{"http://gw.test/", true},
		{"http://gw.test", true},
		{"", true}, // no signal: the token decides
		{"https://evil.example/attack", false},
		{"https://gw.test/chart", false},        // another scheme
		{"http://gw.test:80/chart", false},      // not how browsers write the origin: refused
		{"http://GW.TEST/chart", false},         // likewise
		{"http://gw.test.evil.example/", false}, // host suffix
		{"http://gw.test@evil.example/", false}, // userinfo
		{"http://gw.testevil.example/", false},
		{"http://evil.example/http://gw.test/", false},
		{"null", false},
		{"/chart", false}, // relative: not a browser's Referer
		{"http://gw.test?x=/", false},
	} {
		e := newCSRFEnv(t)
		e.h.clock.Advance(time.Second)
		r := headerPost("/.sessiongate/activity", "", rightToken(e), false)
		r.AddCookie(e.cookie)
		if tc.referer != "" {
			r.Header.Set("Referer", tc.referer)
		}
		w := e.h.serve(r)
		moved := e.h.alive(t, e.me).LastActivity.Equal(e.h.clock.Now())
		if tc.ok && (w.Code != http.StatusOK || !moved) {
			t.Errorf("Referer %q: %d (activity recorded: %v), want it accepted", tc.referer, w.Code, moved)
		}
		if !tc.ok && (w.Code != http.StatusForbidden || moved) {
			t.Errorf("Referer %q: %d (activity recorded: %v), want 403 and no change", tc.referer, w.Code, moved)
		}
	}
}
