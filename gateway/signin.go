package gateway

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// handleLogin starts a sign-in: GET /login?rd=/path[&prompt=login].
func (g *Gateway) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodGet); !ok {
		return err
	}
	q := r.URL.Query()
	_, seen := g.readSeenMarker(r)
	return g.startLogin(w, r, safeReturnPath(q.Get("rd")), q.Get("prompt") == "login" || seen)
}

// startLogin sends the browser to the provider. force asks for the password
// again (prompt=login, auth_time checked at the callback); it is also forced
// whenever this request could not have carried the seen marker, so that a
// browser that had a session is never signed back in silently.
func (g *Gateway) startLogin(w http.ResponseWriter, r *http.Request, rd string, force bool) error {
	force = force || !markerWouldBeSent(r)
	return g.redirectToProvider(w, r, g.rp.NewLoginState(rd, force))
}

// redirectToProvider keeps st in the browser (sealed) and sends it to the
// provider's authorization endpoint.
func (g *Gateway) redirectToProvider(w http.ResponseWriter, r *http.Request, st auth.LoginState) error {
	target, err := g.rp.AuthCodeURL(r.Context(), g.callbackURL(r), st)
	if err != nil {
		return g.providerUnavailable(w, r, st.ReturnTo, err)
	}
	if err := g.writeLoginState(w, r, st); err != nil {
		return g.providerUnavailable(w, r, st.ReturnTo, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

func (g *Gateway) callbackURL(r *http.Request) string {
	return origin(r) + g.endpoint("callback")
}

// handleCallback completes a sign-in and creates a new session.
func (g *Gateway) handleCallback(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodGet); !ok {
		return err
	}
	q := r.URL.Query()
	st, ok := g.readLoginState(r, q.Get("state"))
	if !ok {
		return g.signInFailed(w, r, "/", &auth.CallbackError{
			Message: "The sign-in could not be matched to this browser (it may have been used already or have expired)",
			Err:     errors.New("no login state cookie for state"),
		})
	}
	// The state cookie is single-use whatever happens next.
	g.setCookie(w, r, loginCookieBase(st.State), "", -1)
	id, err := g.rp.Exchange(r.Context(), g.callbackURL(r), q, st)
	if err != nil {
		if errors.Is(err, auth.ErrProviderUnavailable) {
			return g.providerUnavailable(w, r, st.ReturnTo, err)
		}
		return g.signInFailed(w, r, st.ReturnTo, err)
	}
	previous, err := g.endPreviousSession(r, st, id)
	if err != nil {
		return g.storeUnavailable(w, r)
	}
	s := g.newSession(r, id)
	s.IdentityInStore = !g.identityFitsCookie(s)
	limits := g.limits()
	ended, err := g.sessions.Create(r.Context(), s, limits, session.CreateOptions{MaxSessions: g.cfg.MaxSessions})
	if err != nil {
		g.log.Error("session store unavailable at sign-in", zap.Error(err))
		return g.storeUnavailable(w, r)
	}
	for _, oldID := range ended {
		g.auditSignOut(r, session.ReasonElsewhere, s.Subject, oldID, "max_sessions")
	}
	names := []session.UserName{{Kind: session.NameSubject, Value: s.Subject},
		{Kind: session.NameUsername, Value: auth.ClaimString(id.Claims["preferred_username"])}}
	if verified, _ := id.Claims["email_verified"].(bool); verified {
		// an unverified email is whatever the user typed at the provider
		names = append(names, session.UserName{Kind: session.NameEmail, Value: s.Email})
	}
	if err := g.directory.RememberUser(r.Context(), s.UserKey, s.Subject, names); err != nil {
		g.log.Warn("cannot record the user's names for the admin page", zap.Error(err))
	}
	if err := g.writeSessionCookie(w, r, s, limits.For(s.PolicyGroups)); err != nil {
		return g.signInFailed(w, r, st.ReturnTo, err)
	}
	g.dropOthersRescues(r, s)
	if err := g.writeSeenMarker(w, r, s, limits.For(s.PolicyGroups)); err != nil {
		return g.signInFailed(w, r, st.ReturnTo, err)
	}
	g.writeIDTokenCookie(w, r, s, id.IDToken)
	g.auditSignIn(r, s)
	w.Header().Set("Cache-Control", "no-store")
	if st.Renew {
		return g.finishRenewal(w, r, st, previous, s)
	}
	if resend := g.resendFor(r, s.UserKey); resend != "" {
		http.Redirect(w, r, resend, http.StatusFound)
		return nil
	}
	http.Redirect(w, r, safeReturnPath(st.ReturnTo), http.StatusFound)
	return nil
}

// endPreviousSession ends the session this browser still has when a
// sign-in completes: a sign-in always starts a new session (fixation-safe),
// and the audit trail says why the old one ended — renewed, when the same
// person re-authenticated through "Continue session"; otherwise replaced by
// a new sign-in. It returns the previous session's subject as its cookie
// names it ("" without one), live or not.
func (g *Gateway) endPreviousSession(r *http.Request, st auth.LoginState, id *auth.Identity) (previousSubject string, err error) {
	old, ok := g.readSessionCookie(r)
	if !ok {
		return "", nil
	}
	res, err := g.check(r, old, false)
	if err != nil || !res.Valid {
		return old.Subject, err
	}
	reason, by := session.ReasonLogout, "new sign-in"
	switch {
	case st.Renew && old.Subject == id.Subject:
		reason, by = session.ReasonRenewed, "renewal"
	case st.Renew:
		by = "another user signed in at renewal"
	}
	if err := g.sessions.End(r.Context(), old, reason); err != nil {
		return old.Subject, err
	}
	g.auditSignOut(r, reason, res.Session.Subject, old.ID, by)
	return old.Subject, nil
}

// groupsOf reads the user's groups from the configured claim.
func (g *Gateway) groupsOf(id *auth.Identity) []string {
	if v, ok := id.Claims[g.cfg.GroupsClaim]; ok {
		return auth.ClaimList(v)
	}
	if g.cfg.GroupsClaim == config.DefaultGroupsClaim {
		return id.Groups
	}
	return nil
}

func (g *Gateway) newSession(r *http.Request, id *auth.Identity) *session.Session {
	s := &session.Session{
		ID:           session.NewID(),
		UserKey:      session.UserKey(g.cfg.Issuer, id.Subject),
		Subject:      id.Subject,
		Name:         id.Name,
		Email:        id.Email,
		Groups:       g.groupsOf(id),
		IdPSessionID: id.SID,
		Device:       deviceSummary(r.UserAgent()),
		IP:           clientIP(r),
	}
	s.PolicyGroups = g.policyGroupsOf(s.Groups)
	for _, claim := range g.cfg.IdentityHeaders {
		switch claim {
		case "sub", "name", "email", "groups", "sid":
		default:
			if v := auth.ClaimString(id.Claims[claim]); v != "" {
				if s.Claims == nil {
					s.Claims = map[string]string{}
				}
				s.Claims[claim] = v
			}
		}
	}
	return s
}
