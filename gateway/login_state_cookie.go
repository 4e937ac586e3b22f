package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/sessiongate/sessiongate/auth"
)

// loginCookieBase names the state cookie of one sign-in attempt, so that
// sign-ins started in several tabs do not overwrite each other.
func loginCookieBase(state string) string {
	if len(state) > 12 {
		state = state[:12]
	}
	return loginCookiePrefix + state
}

func (g *Gateway) writeLoginState(w http.ResponseWriter, r *http.Request, st auth.LoginState) error {
	v, err := g.sealer.Seal(loginCookieSealKey, st)
	if err != nil {
		return err
	}
	g.setCookie(w, r, loginCookieBase(st.State), v, 15*time.Minute)
	// Every unauthenticated navigation starts a sign-in; self-refreshing
	// frames or many tabs of a signed-out browser would pile up state cookies
	// until the Cookie header is too large for anything, the sign-in
	// included. Keep the newest maxLoginStates (browsers list older cookies
	// first) and expire the rest.
	var existing []string
	prefix := cookieName(r, loginCookiePrefix)
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, prefix) {
			existing = append(existing, c.Name)
		}
	}
	for i := 0; i < len(existing)-(maxLoginStates-1); i++ {
		g.expireCookieNamed(w, r, existing[i])
	}
	return nil
}

func (g *Gateway) readLoginState(r *http.Request, state string) (auth.LoginState, bool) {
	var st auth.LoginState
	if state == "" {
		return st, false
	}
	c, err := r.Cookie(cookieName(r, loginCookieBase(state)))
	if err != nil {
		return st, false
	}
	if err := g.sealer.Open(loginCookieSealKey, c.Value, &st); err != nil {
		return st, false
	}
	return st, true
}
