package gateway

import (
	"net/http"
	"net/url"

	"github.com/sessiongate/sessiongate/session"
)

// handleLogout: GET shows a confirmation form, POST ends the session.
func (g *Gateway) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodGet, http.MethodPost); !ok {
		return err
	}
	if r.Method == http.MethodGet {
		return g.logoutForm(w, r)
	}
	return g.logout(w, r)
}

// logoutForm asks "Log out?" with a CSRF-protected form; without a session
// there is nothing to ask.
func (g *Gateway) logoutForm(w http.ResponseWriter, r *http.Request) error {
	ref, ok := g.readSessionCookie(r)
	if !ok {
		http.Redirect(w, r, g.signedOutURL(session.ReasonLogout, ""), http.StatusFound)
		return nil
	}
	ok, res, err := g.validSession(w, r, ref, false)
	if !ok {
		return err
	}
	g.pages.renderWithFormAction(w, http.StatusOK, "logout", logoutPage{
		Name: res.Session.Name, CSRF: g.csrfToken(res.Session), Action: g.endpoint("logout"), Cancel: "/",
	}, g.providerLogoutOrigin(r))
	return nil
}

// logout ends this device's session (a CSRF-checked POST from the logout
// form or the banner), clears its cookies and continues at the provider's
// logout when provider_logout is on.
func (g *Gateway) logout(w http.ResponseWriter, r *http.Request) error {
	ref, hasCookie := g.readSessionCookie(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return g.badForm(w, r)
	}
	// The banner posts with its token in a header and wants JSON back.
	token, fromBanner := r.PostFormValue("csrf"), false
	if h := r.Header.Get("X-Sessiongate-CSRF"); h != "" {
		token, fromBanner = h, true
	}
	target := g.signedOutURL(session.ReasonLogout, "")
	state := string(session.ReasonLogout)
	if r.PostFormValue("switch") == "1" {
		// Switch user: sign out, then straight to a fresh sign-in (password asked)
		target, state = g.loginURL("/", true), switchUserState
	}
	if !hasCookie && !fromBanner {
		// A form without the session cookie: a form on another site (SameSite
		// keeps the cookie home) or a session already gone. Clear nothing — a
		// cleared cookie would leave the session alive on the server, unaudited
		// — and ask again on this site, where the browser sends its cookie.
		http.Redirect(w, r, g.endpoint("logout"), http.StatusSeeOther)
		return nil
	}
	if hasCookie {
		res, err := g.check(r, ref, false)
		if err != nil {
			return g.storeUnavailable(w, r)
		}
		if res.Valid {
			if !g.csrfOK(r, res.Session, token) {
				return g.forbidden(w, r)
			}
			if err := g.sessions.End(r.Context(), ref, session.ReasonLogout); err != nil {
				return g.storeUnavailable(w, r)
			}
			g.auditSignOut(r, session.ReasonLogout, res.Session.Subject, ref.ID, "")
			target = g.providerLogoutURL(r, g.readIDTokenCookie(r, ref), state, target)
		}
	}
	g.clearSessionCookie(w, r)
	g.clearIDTokenCookie(w, r)
	if fromBanner {
		// the banner moves the top window itself: a page's CSP form-action
		// would block a form whose redirect leaves for the provider
		g.writeJSON(w, http.StatusOK, map[string]string{"location": target})
		return nil
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// providerLogoutOrigin is " <origin>" of the provider's end_session_endpoint
// when sign-out continues there, for the logout form's CSP; "" otherwise.
func (g *Gateway) providerLogoutOrigin(r *http.Request) string {
	if !g.cfg.ProviderLogoutEnabled() {
		return ""
	}
	u, err := url.Parse(g.rp.EndSessionEndpoint(r.Context()))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return " " + u.Scheme + "://" + u.Host
}

// switchUserState marks a provider logout started by "Switch user".
const switchUserState = "switch"

// providerLogoutURL is where sign-out continues: the provider's
// end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0), which ends
// the user's single sign-on session and returns to the signed-out page; or
// local, when provider_logout is off or the provider advertises none.
func (g *Gateway) providerLogoutURL(r *http.Request, idToken, state, local string) string {
	if !g.cfg.ProviderLogoutEnabled() {
		return local
	}
	endpoint := g.rp.EndSessionEndpoint(r.Context())
	if endpoint == "" {
		return local
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return local
	}
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("client_id", g.cfg.ClientID)
	q.Set("post_logout_redirect_uri", origin(r)+g.endpoint("signed-out"))
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}
