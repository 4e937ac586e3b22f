package gateway

import (
	"io"
	"net/http"

	"github.com/sessiongate/sessiongate/session"
)

// statusBody is the JSON of /status and /activity.
type statusBody struct {
	Authenticated      bool   `json:"authenticated"`
	Now                int64  `json:"now"`
	IdleExpiresAt      int64  `json:"idle_expires_at"`
	AbsoluteExpiresAt  int64  `json:"absolute_expires_at,omitempty"`
	IdleTimeout        int64  `json:"idle_timeout"`
	WarnBefore         int64  `json:"warn_before"`
	AbsoluteWarnBefore int64  `json:"absolute_warn_before"`
	LastActivity       int64  `json:"last_activity"`
	Name               string `json:"name"`
	CSRF               string `json:"csrf"`
	SignedOutURL       string `json:"signed_out_url"`
	LogoutURL          string `json:"logout_url"`
	// RenewURL is set when the absolute warning offers "Continue session"
	// (renew_in_place): the banner opens it with rd and popup=1.
	RenewURL string `json:"renew_url,omitempty"`
	// RescueToken lets this browser's pages hand over typed input as the
	// session ends (rescue on).
	RescueToken string            `json:"rescue_token,omitempty"`
	Texts       map[string]string `json:"texts,omitempty"`
	// Account is present when account_menu is on: what the account button shows.
	Account *accountBody `json:"account,omitempty"`
}

// accountBody is the account button's menu.
type accountBody struct {
	Name       string `json:"name"`
	DevicesURL string `json:"devices_url"`
	AdminURL   string `json:"admin_url,omitempty"`
}

// status is the /status and /activity answer for a valid session of r.
func (g *Gateway) status(r *http.Request, res session.CheckResult) statusBody {
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
		RescueToken:        g.rescueToken(r),
	}
	if !res.AbsoluteDeadline.IsZero() {
		b.AbsoluteExpiresAt = res.AbsoluteDeadline.UnixMilli()
		if g.cfg.RenewInPlaceEnabled() {
			b.RenewURL = g.endpoint("renew")
		}
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

// bannerSession checks the session of one of the banner's requests and,
// when there is no valid one, answers it in JSON (401 with the reason and
// where to go, or 503) and returns ok false.
func (g *Gateway) bannerSession(w http.ResponseWriter, r *http.Request) (ref session.Ref, res session.CheckResult, ok bool) {
	if ref, ok = g.readSessionCookie(r); !ok {
		g.noSessionJSON(w, r)
		return ref, res, false
	}
	res, ok = g.bannerCheck(w, r, ref, false)
	return ref, res, ok
}

// bannerCheck checks ref's session (activity: as user activity) for one of
// the banner's requests and, when it is not valid, answers in JSON as
// bannerSession does.
func (g *Gateway) bannerCheck(w http.ResponseWriter, r *http.Request, ref session.Ref, activity bool) (res session.CheckResult, ok bool) {
	res, err := g.check(r, ref, activity)
	if err != nil {
		g.storeUnavailableJSON(w)
		return res, false
	}
	if !res.Valid {
		g.endSessionCookie(w, r, res.Reason)
		g.writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "session_expired", "reason": string(res.Reason),
			"signed_out": g.signedOutURL(res.Reason, ""), "login": g.loginURL("/", true),
		})
		return res, false
	}
	return res, true
}

// handleStatus reports the deadlines; it never counts as activity.
func (g *Gateway) handleStatus(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodGet); !ok {
		return err
	}
	if _, res, ok := g.bannerSession(w, r); ok {
		g.writeJSON(w, http.StatusOK, g.status(r, res))
	}
	return nil
}

// handleActivity records real user activity or "Continue session".
func (g *Gateway) handleActivity(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodPost); !ok {
		return err
	}
	// the banner sends no body; a large one is refused, like on every POST endpoint
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		g.writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request_too_large"})
		return nil
	}
	ref, res, ok := g.bannerSession(w, r)
	if !ok {
		return nil
	}
	if !g.csrfOK(r, res.Session, r.Header.Get("X-Sessiongate-CSRF")) {
		return g.forbidden(w, r)
	}
	// only now, with the token checked, does the request count as activity
	if res, ok = g.bannerCheck(w, r, ref, true); ok {
		g.writeJSON(w, http.StatusOK, g.status(r, res))
	}
	return nil
}
