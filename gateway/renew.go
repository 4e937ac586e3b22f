package gateway

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

// handleRenew starts "Continue session" at the absolute warning (GET
// /renew?rd=/page[&popup=1]): a sign-in that asks the provider for fresh
// credentials (prompt=login, max_age=0, auth_time checked) and whose
// callback renews this browser's session. The banner opens it in a small
// window (popup=1), or, when the window is blocked or closed, in the page's
// own window.
func (g *Gateway) handleRenew(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodGet); !ok {
		return err
	}
	if !g.cfg.RenewInPlaceEnabled() {
		return g.notFound(w, r)
	}
	q := r.URL.Query()
	st := g.rp.NewLoginState(safeReturnPath(q.Get("rd")), true)
	st.Renew, st.Popup = true, q.Get("popup") == "1"
	return g.redirectToProvider(w, r, st)
}

// renewedPage answers a renewal in the small window: it tells the banner of
// every tab and frame of the site (BroadcastChannel, and the opener) how the
// renewal went and closes itself.
type renewedPage struct {
	// SameUser: the person who signed in is the one whose session it was;
	// otherwise every page of the site reloads into the new session.
	SameUser bool
	// Target is where the window goes when it cannot close itself.
	Target string
}

// finishRenewal answers the callback of a renewal whose new session is in
// place. previousSubject is the subject of the session the browser had ("":
// none, such as a sign-in after the session had already ended).
func (g *Gateway) finishRenewal(w http.ResponseWriter, r *http.Request, st auth.LoginState, previousSubject string, s *session.Session) error {
	same := previousSubject != "" && previousSubject == s.Subject
	if previousSubject != "" && !same {
		g.audit.Info("user-switch",
			zap.String("from", previousSubject), zap.String("to", s.Subject), zap.String("at", "renewal"),
			zap.String("session", session.LogID(s.ID)), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
	}
	target := safeReturnPath(st.ReturnTo)
	if !st.Popup {
		http.Redirect(w, r, target, http.StatusFound)
		return nil
	}
	g.pages.render(w, http.StatusOK, "renewed", renewedPage{SameUser: same, Target: target})
	return nil
}
