package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// maxFormBytes bounds POST bodies of the gateway's endpoints.
const maxFormBytes = 16 << 10

// serveEndpoint routes a request under the path prefix. Only exact,
// canonical endpoint paths answer (not, for example, /.sessiongate%2Fstatus
// or /%2esessiongate/status); everything else under the prefix is 404 and
// is never passed to the app.
func (g *Gateway) serveEndpoint(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, g.prefix+"/")
	if !ok || r.URL.RawPath != "" {
		http.NotFound(w, r)
		return
	}
	switch name {
	case "login":
		g.handleLogin(w, r)
	case "callback":
		g.handleCallback(w, r)
	case "signed-out":
		g.handleSignedOut(w, r)
	case "logout":
		g.handleLogout(w, r)
	case "status":
		g.handleStatus(w, r)
	case "activity":
		g.handleActivity(w, r)
	case "banner.js":
		g.handleBannerJS(w, r)
	case "sessions":
		g.handleSessions(w, r)
	case "admin":
		g.handleAdmin(w, r)
	case "backchannel-logout":
		g.handleBackchannelLogout(w, r)
	default:
		http.NotFound(w, r)
	}
}

func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// handleLogin starts a sign-in: GET /login?rd=/path[&prompt=login].
func (g *Gateway) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	_, seen := g.readSeenMarker(r)
	g.startLogin(w, r, safeReturnPath(q.Get("rd")), q.Get("prompt") == "login" || seen)
}

// startLogin sends the browser to the provider. force asks for the password
// again (prompt=login, auth_time checked at the callback); it is also forced
// whenever this request could not have carried the seen marker, so that a
// browser that had a session is never signed back in silently.
func (g *Gateway) startLogin(w http.ResponseWriter, r *http.Request, rd string, force bool) {
	force = force || !markerWouldBeSent(r)
	st := g.rp.NewLoginState(rd, force)
	target, err := g.rp.AuthCodeURL(r.Context(), g.callbackURL(r), st)
	if err != nil {
		g.providerUnavailable(w, rd, err)
		return
	}
	if err := g.writeLoginState(w, r, st); err != nil {
		g.providerUnavailable(w, rd, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

func (g *Gateway) callbackURL(r *http.Request) string {
	return origin(r) + g.endpoint("callback")
}

// handleCallback completes a sign-in and creates a new session.
func (g *Gateway) handleCallback(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	st, ok := g.readLoginState(r, q.Get("state"))
	if !ok {
		g.signInFailed(w, "/", &auth.CallbackError{
			Message: "The sign-in could not be matched to this browser (it may have been used already or have expired)",
			Err:     errors.New("no login state cookie for state"),
		})
		return
	}
	// The state cookie is single-use whatever happens next.
	g.setCookie(w, r, loginCookieBase(st.State), "", -1)
	id, err := g.rp.Exchange(r.Context(), g.callbackURL(r), q, st)
	if err != nil {
		if errors.Is(err, auth.ErrProviderUnavailable) {
			g.providerUnavailable(w, st.ReturnTo, err)
			return
		}
		g.signInFailed(w, st.ReturnTo, err)
		return
	}
	// A sign-in always starts a new session (fixation-safe); a session this
	// browser still had is ended, and the audit trail says so.
	if old, ok := g.readSessionCookie(r); ok {
		res, err := g.check(r, old, false)
		if err == nil && res.Valid {
			err = g.sessions.End(r.Context(), old, session.ReasonLogout)
			if err == nil {
				g.auditSignOut(r, session.ReasonLogout, res.Session.Subject, old.ID, "new sign-in")
			}
		}
		if err != nil {
			g.storeUnavailable(w, r)
			return
		}
	}
	s := g.newSession(r, id)
	s.IdentityInStore = !g.identityFitsCookie(s)
	limits := g.limits()
	ended, err := g.sessions.Create(r.Context(), s, limits, session.CreateOptions{MaxSessions: g.cfg.MaxSessions})
	if err != nil {
		g.log.Error("session store unavailable at sign-in", zap.Error(err))
		g.storeUnavailable(w, r)
		return
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
		g.signInFailed(w, st.ReturnTo, err)
		return
	}
	if err := g.writeSeenMarker(w, r, s, limits.For(s.PolicyGroups)); err != nil {
		g.signInFailed(w, st.ReturnTo, err)
		return
	}
	g.writeIDTokenCookie(w, r, s, id.IDToken)
	g.auditSignIn(r, s)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, safeReturnPath(st.ReturnTo), http.StatusFound)
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

// handleSignedOut shows "You were signed out for security reasons".
func (g *Gateway) handleSignedOut(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	q := r.URL.Query()
	reason := session.Reason(q.Get("reason"))
	switch {
	case reason == "" && q.Get("state") == switchUserState:
		// back from the provider's logout on "Switch user": sign in afresh
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, g.loginURL("/", true), http.StatusFound)
		return
	case reason == "" && q.Get("state") == string(session.ReasonLogout):
		reason = session.ReasonLogout // back from the provider's logout
	}
	rd := safeReturnPath(q.Get("rd"))
	if reason.Valid() {
		g.markSignedOutShown(w, r, reason)
	}
	g.pages.render(w, http.StatusOK, "signed_out", g.signedOutText(reason, rd))
}

func (g *Gateway) signedOutText(reason session.Reason, rd string) signedOutPage {
	p := signedOutPage{Title: "You were signed out for security reasons", SignIn: g.loginURL(rd, true),
		SwitchUser: g.loginURL("/", true)}
	limits := g.limits().Default
	switch reason {
	case session.ReasonIdle:
		// with group policies the limit depends on the user, whom this page does not know
		if len(g.cfg.GroupPolicies) > 0 {
			p.Message = "You were signed out after a period of inactivity."
		} else {
			p.Message = "You were signed out after " + humanDuration(limits.Idle) + " of inactivity."
		}
	case session.ReasonAbsolute:
		if len(g.cfg.GroupPolicies) > 0 || limits.Absolute == 0 {
			p.Message = "Your session limit was reached."
		} else {
			p.Message = "Your " + humanLimit(limits.Absolute) + " session limit was reached."
		}
	case session.ReasonLogout:
		p.Title, p.Message, p.Manual = "You have signed out", "Your session on this device has ended.", true
	case session.ReasonRevoked:
		p.Message = "Your session on this device was ended from another device."
	case session.ReasonElsewhere:
		p.Message = "You were signed out because your account signed in on another device."
	case session.ReasonBackchannel:
		p.Message = "You were signed out at your organization's sign-in service."
	case session.ReasonAdmin:
		p.Message = "An administrator ended your sessions."
	default:
		p.Message = "Your session has ended."
	}
	return p
}

// handleLogout: GET shows a confirmation form, POST ends the session.
func (g *Gateway) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	ref, hasCookie := g.readSessionCookie(r)
	if r.Method == http.MethodGet {
		if !hasCookie {
			http.Redirect(w, r, g.signedOutURL(session.ReasonLogout, ""), http.StatusFound)
			return
		}
		res, err := g.check(r, ref, false)
		if err != nil {
			g.storeUnavailable(w, r)
			return
		}
		if !res.Valid {
			g.ended(w, r, res.Reason)
			return
		}
		g.pages.renderWithFormAction(w, http.StatusOK, "logout", logoutPage{
			Name: res.Session.Name, CSRF: g.csrfToken(res.Session), Action: g.endpoint("logout"), Cancel: "/",
		}, g.providerLogoutOrigin(r))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
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
		return
	}
	if hasCookie {
		res, err := g.check(r, ref, false)
		if err != nil {
			g.storeUnavailable(w, r)
			return
		}
		if res.Valid {
			if !g.csrfOK(r, res.Session, token) {
				g.forbidden(w, r)
				return
			}
			if err := g.sessions.End(r.Context(), ref, session.ReasonLogout); err != nil {
				g.storeUnavailable(w, r)
				return
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
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
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

// csrfOK is the CSRF check of state-changing endpoints: same origin and the
// session's token, compared in constant time.
func (g *Gateway) csrfOK(r *http.Request, s *session.Session, token string) bool {
	return sameOrigin(r) && g.sealer.VerifyToken(csrfPurpose, s.ID, token)
}

func (g *Gateway) forbidden(w http.ResponseWriter, r *http.Request) {
	g.log.Warn("CSRF check failed", zap.String("path", r.URL.Path), zap.String("ip", clientIP(r)))
	g.writeJSON(w, http.StatusForbidden, map[string]string{"error": "csrf_check_failed"})
}

// statusBody is the JSON of /status and /activity.
type statusBody struct {
	Authenticated      bool              `json:"authenticated"`
	Now                int64             `json:"now"`
	IdleExpiresAt      int64             `json:"idle_expires_at"`
	AbsoluteExpiresAt  int64             `json:"absolute_expires_at,omitempty"`
	IdleTimeout        int64             `json:"idle_timeout"`
	WarnBefore         int64             `json:"warn_before"`
	AbsoluteWarnBefore int64             `json:"absolute_warn_before"`
	LastActivity       int64             `json:"last_activity"`
	Name               string            `json:"name"`
	CSRF               string            `json:"csrf"`
	SignedOutURL       string            `json:"signed_out_url"`
	LogoutURL          string            `json:"logout_url"`
	Texts              map[string]string `json:"texts,omitempty"`
	// Account is present when account_menu is on: what the account button shows.
	Account *accountBody `json:"account,omitempty"`
}

// accountBody is the account button's menu.
type accountBody struct {
	Name       string `json:"name"`
	DevicesURL string `json:"devices_url"`
	AdminURL   string `json:"admin_url,omitempty"`
}

func (g *Gateway) status(res session.CheckResult) statusBody {
	l := g.limits().For(res.Session.PolicyGroups)
	b := statusBody{
		Authenticated:      true,
		Now:                res.Now.UnixMilli(),
		IdleExpiresAt:      res.IdleDeadline.UnixMilli(),
		IdleTimeout:        l.Idle.Milliseconds(),
		WarnBefore:         g.cfg.WarnBefore.Std().Milliseconds(),
		AbsoluteWarnBefore: g.cfg.AbsoluteWarnBefore.Std().Milliseconds(),
		LastActivity:       res.Session.LastActivity.UnixMilli(),
		Name:               res.Session.Name,
		CSRF:               g.csrfToken(res.Session),
		SignedOutURL:       g.endpoint("signed-out"),
		LogoutURL:          g.endpoint("logout"),
		Texts:              g.texts,
	}
	if !res.AbsoluteDeadline.IsZero() {
		b.AbsoluteExpiresAt = res.AbsoluteDeadline.UnixMilli()
	}
	if g.cfg.AccountMenu {
		b.Account = &accountBody{Name: res.Session.Name, DevicesURL: g.endpoint("sessions")}
		if b.Account.Name == "" {
			b.Account.Name = res.Session.Email
		}
		if g.cfg.IsAdmin(res.Session.Groups) {
			b.Account.AdminURL = g.endpoint("admin")
		}
	}
	return b
}

// noSessionJSON answers /status and /activity without a session cookie. The
// browser drops the cookie at the absolute deadline; the seen marker still
// tells that the session limit was reached.
func (g *Gateway) noSessionJSON(w http.ResponseWriter, r *http.Request) {
	if endedReason := g.endedReason(r); endedReason != "" {
		g.writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "session_expired", "reason": string(endedReason),
			"signed_out": g.signedOutURL(endedReason, ""), "login": g.loginURL("/", true),
		})
		return
	}
	_, seen := g.readSeenMarker(r)
	g.writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthenticated", "login": g.loginURL("/", seen)})
}

// handleStatus reports the deadlines; it never counts as activity.
func (g *Gateway) handleStatus(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	ref, ok := g.readSessionCookie(r)
	if !ok {
		g.noSessionJSON(w, r)
		return
	}
	res, err := g.check(r, ref, false)
	if err != nil {
		g.writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store_unavailable"})
		return
	}
	if !res.Valid {
		g.endSessionCookie(w, r, res.Reason)
		g.writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "session_expired", "reason": string(res.Reason),
			"signed_out": g.signedOutURL(res.Reason, ""), "login": g.loginURL("/", true),
		})
		return
	}
	g.writeJSON(w, http.StatusOK, g.status(res))
}

// handleActivity records real user activity or "Continue session".
func (g *Gateway) handleActivity(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	// the banner sends no body; a large one is refused, like on every POST endpoint
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		g.writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request_too_large"})
		return
	}
	ref, ok := g.readSessionCookie(r)
	if !ok {
		g.noSessionJSON(w, r)
		return
	}
	res, err := g.check(r, ref, false)
	if err != nil {
		g.writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store_unavailable"})
		return
	}
	if !res.Valid {
		g.endSessionCookie(w, r, res.Reason)
		g.writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "session_expired", "reason": string(res.Reason), "signed_out": g.signedOutURL(res.Reason, ""),
		})
		return
	}
	if !g.csrfOK(r, res.Session, r.Header.Get("X-Sessiongate-CSRF")) {
		g.forbidden(w, r)
		return
	}
	res, err = g.check(r, ref, true)
	if err != nil {
		g.writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store_unavailable"})
		return
	}
	if !res.Valid {
		g.writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "session_expired", "reason": string(res.Reason)})
		return
	}
	g.writeJSON(w, http.StatusOK, g.status(res))
}

// humanDuration writes 15m as "15 minutes", 90m as "1 hour 30 minutes".
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return plural(int(d/time.Second), "second")
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return plural(m, "minute")
	case m == 0:
		return plural(h, "hour")
	default:
		return plural(h, "hour") + " " + plural(m, "minute")
	}
}

// humanLimit writes 9h as "9-hour", 90m as "90-minute".
func humanLimit(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "-hour"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "-minute"
	default:
		return strconv.Itoa(int(d/time.Second)) + "-second"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// handleBannerJS serves the banner script; a request naming the current
// version (?v=) may be cached for a year.
func (g *Gateway) handleBannerJS(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+g.banner.Version+`"`)
	if r.URL.Query().Get("v") == g.banner.Version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+g.banner.Version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(g.banner.JS)
}

// BannerSrc is the injected script's src, with its content hash.
func (g *Gateway) BannerSrc() string {
	return g.endpoint("banner.js") + "?v=" + g.banner.Version
}
