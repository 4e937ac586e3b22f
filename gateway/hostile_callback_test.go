package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

// The callback's error, error_description and state are never reflected, a
// state cookie of another attempt (or another cookie's value) is refused
// before the provider is asked, and no session is created.
func TestHostileCallbackInput(t *testing.T) {
	h := newHostile(t, []string{secretCurrent}, nil, nil, nil)
	st := h.g.rp.NewLoginState("/chart", false)
	other := h.g.rp.NewLoginState("/other", false)
	cookieFor := func(state string, v any, name string) *http.Cookie {
		return &http.Cookie{Name: loginCookieBase(state), Value: mustSeal(t, h.g.sealer, name, v)}
	}
	q := func(state string, extra ...string) string {
		v := url.Values{"state": {state}, "code": {"c-1"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/.sessiongate/callback?" + v.Encode()
	}
	cases := []struct {
		name, target string
		cookie       *http.Cookie
		message      string
	}{
		{"provider error with markup", q(st.State, "error", markup[0], "error_description", markup[1]),
			cookieFor(st.State, st, loginCookieSealKey), "The identity provider refused the sign-in."},
		{"no state cookie", q(st.State), nil, "could not be matched to this browser"},
		{"state cookie of another attempt under this attempt's name", q(st.State),
			cookieFor(st.State, other, loginCookieSealKey), "could not be matched to this browser"},
		{"another attempt's cookie, this attempt's state", q(st.State), cookieFor(other.State, other, loginCookieSealKey),
			"could not be matched to this browser"},
		{"the session cookie's value as state cookie", q(st.State),
			cookieFor(st.State, session.Ref{ID: "x", UserKey: "y"}, sessionCookieSealKey), "could not be matched to this browser"},
		{"a state cookie sealed with another secret", q(st.State),
			&http.Cookie{Name: loginCookieBase(st.State), Value: mustSeal(t, mustSealer(t, secretForeign), loginCookieSealKey, st)},
			"could not be matched to this browser"},
		{"markup in the state", q(markup[0]), nil, "could not be matched to this browser"},
		{"empty state", q(""), cookieFor(st.State, st, loginCookieSealKey), "could not be matched to this browser"},
		{"expired state", q(st.State), cookieFor(st.State, func() auth.LoginState {
			old := st
			old.Issued -= int64((16 * time.Minute).Seconds())
			return old
		}(), loginCookieSealKey), "The sign-in took too long."},
	}
	for _, tc := range cases {
		calls := h.store.calls()
		w := h.serve(hostileRequest("GET", tc.target, "", tc.cookie, click))
		text := checkPage(t, tc.name, w)
		if w.Code != http.StatusBadRequest || !strings.Contains(text, tc.message) {
			t.Errorf("%s: %d %q", tc.name, w.Code, text)
		}
		if strings.Contains(w.Body.String(), "alert(") {
			t.Errorf("%s: input reflected: %s", tc.name, w.Body)
		}
		for _, sc := range w.Result().Cookies() {
			if sc.Name == sessionCookieName || sc.Name == seenCookieName {
				t.Errorf("%s: set %s", tc.name, sc.Name)
			}
		}
		if h.store.calls() != calls {
			t.Errorf("%s: the store was asked", tc.name)
		}
	}
}
