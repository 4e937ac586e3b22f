package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

// returnTo is the original page to come back to after sign-in.
func (g *Gateway) returnTo(r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if ref := r.Header.Get("Referer"); ref != "" {
			if u, err := url.Parse(ref); err == nil && u.Host == r.Host {
				return safeReturnPath(u.RequestURI())
			}
		}
		return "/"
	}
	return safeReturnPath(r.URL.RequestURI())
}

func (g *Gateway) loginURL(rd string, force bool) string {
	q := url.Values{"rd": {rd}}
	if force {
		q.Set("prompt", "login")
	}
	return g.endpoint("login") + "?" + q.Encode()
}

func (g *Gateway) signedOutURL(reason session.Reason, rd string) string {
	q := url.Values{"reason": {string(reason)}}
	if rd != "" && rd != "/" {
		q.Set("rd", rd)
	}
	return g.endpoint("signed-out") + "?" + q.Encode()
}

// unauthenticated answers a request without a (readable) session cookie:
// navigations go straight to the provider, background requests get 401. A
// browser that had a session (seen marker) whose absolute limit has passed
// is told so; any browser that had one must enter the password again.
func (g *Gateway) unauthenticated(w http.ResponseWriter, r *http.Request) error {
	seen, limitReached := g.seenState(r)
	// a request that could not have carried the marker proves nothing by its
	// absence: every sign-in link it gets asks for the password
	seen = seen || !markerWouldBeSent(r)
	if limitReached {
		g.ended(w, r, session.ReasonAbsolute)
		return nil
	}
	// A navigation that raced the one taking the browser to the signed-out
	// page (a page reloading itself as the banner moves the window) must not
	// skip the explanation: until the page has been shown, show it.
	if reason := g.unshownReason(r); reason != "" && isNavigation(r) {
		g.ended(w, r, reason)
		return nil
	}
	rd := g.returnTo(r)
	if !isNavigation(r) {
		g.writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "unauthenticated", "login": g.loginURL(rd, seen),
		})
		return nil
	}
	if isFrameNavigation(r) {
		g.breakout(w, r, g.loginURL(rd, seen))
		return nil
	}
	return g.startLogin(w, r, rd, seen)
}

// seenState reads the seen marker of a request without a session cookie:
// whether this browser had a session, and whether that session's absolute
// limit has passed (recently enough to still say so).
func (g *Gateway) seenState(r *http.Request) (seen, limitReached bool) {
	marker, seen := g.readSeenMarker(r)
	return seen, seen && marker.AbsoluteDeadline > 0 && g.recent(marker.AbsoluteDeadline)
}

// endedReason is why this browser's last session ended, for the banner's
// requests that arrive after the session cookie is gone (another tab or a
// background poll met the end first): the recorded security reason, or the
// absolute limit; "" when unknown or long ago. Navigations do not use the
// recorded reason: the user has been shown the signed-out page already, and
// the next visit simply asks for the password again.
func (g *Gateway) endedReason(r *http.Request) session.Reason {
	marker, seen := g.readSeenMarker(r)
	if !seen {
		return ""
	}
	if reason := session.Reason(marker.EndedReason); reason.Valid() && g.recent(marker.EndedAt) {
		return reason
	}
	if marker.AbsoluteDeadline > 0 && g.recent(marker.AbsoluteDeadline) {
		return session.ReasonAbsolute
	}
	return ""
}

// unshownReason is the recorded security reason of this browser's last
// session end when the signed-out page has not shown it yet.
func (g *Gateway) unshownReason(r *http.Request) session.Reason {
	marker, seen := g.readSeenMarker(r)
	if !seen || marker.Shown {
		return ""
	}
	if reason := session.Reason(marker.EndedReason); reason.Valid() && g.recent(marker.EndedAt) {
		return reason
	}
	return ""
}

// recent tells whether a past moment (unix ms) lies within tombstoneWindow.
func (g *Gateway) recent(at int64) bool {
	now := g.now().UnixMilli()
	return now >= at && now-at < tombstoneWindow.Milliseconds()
}

// tombstoneWindow is how long after a session ended for a security reason a
// returning browser is still told why.
const tombstoneWindow = 24 * time.Hour

// ended answers a request whose session is over: the signed-out page for
// navigations, 401 JSON for background requests, never the provider.
func (g *Gateway) ended(w http.ResponseWriter, r *http.Request, reason session.Reason) {
	g.endSessionCookie(w, r, reason)
	rd := g.returnTo(r)
	target := g.signedOutURL(reason, rd)
	if !isNavigation(r) {
		g.writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "session_expired", "reason": string(reason),
			"login": g.loginURL(rd, true), "signed_out": target,
		})
		return
	}
	if isFrameNavigation(r) {
		g.breakout(w, r, target)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// errStoreUnavailable is why a request was refused while the store is down.
var errStoreUnavailable = errors.New("sessiongate: session store unavailable")

// storeUnavailable fails closed: nobody passes while the store is down.
func (g *Gateway) storeUnavailable(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Retry-After", "5")
	return g.refuse(r, http.StatusServiceUnavailable, errStoreUnavailable, func() {
		if !isNavigation(r) {
			g.storeUnavailableJSON(w)
			return
		}
		g.pages.render(w, http.StatusServiceUnavailable, "error", errorPage{
			Title:   "Sign-in service unavailable",
			Message: "The sign-in service is temporarily unavailable, so this page cannot be shown. It will try again by itself in a few seconds.",
			Retry:   g.returnTo(r),
			Refresh: 5,
		})
	})
}

// storeUnavailableJSON is storeUnavailable's answer to a script.
func (g *Gateway) storeUnavailableJSON(w http.ResponseWriter) {
	g.writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store_unavailable"})
}

// providerUnavailable is shown when the identity provider cannot be reached.
func (g *Gateway) providerUnavailable(w http.ResponseWriter, r *http.Request, rd string, err error) error {
	g.log.Error("identity provider unavailable", zap.Error(err))
	w.Header().Set("Retry-After", "10")
	return g.refuse(r, http.StatusServiceUnavailable, err, func() {
		g.pages.render(w, http.StatusServiceUnavailable, "error", errorPage{
			Title:   "Sign-in service unavailable",
			Message: "The identity provider cannot be reached right now. Please try again in a moment.",
			Retry:   g.loginURL(rd, false),
		})
	})
}

// signInFailed is shown when the provider's answer does not complete a
// sign-in; the reason is logged, and shown when it is the user's to know.
func (g *Gateway) signInFailed(w http.ResponseWriter, r *http.Request, rd string, err error) error {
	var ce *auth.CallbackError
	msg := "The sign-in could not be completed."
	if errors.As(err, &ce) {
		msg = ce.Message + "."
	}
	g.log.Warn("sign-in failed", zap.Error(err))
	return g.refuse(r, http.StatusBadRequest, err, func() {
		g.pages.render(w, http.StatusBadRequest, "error", errorPage{
			Title: "Sign-in failed", Message: msg, Retry: g.loginURL(rd, false),
		})
	})
}

// breakout moves the top window (frames cannot show the provider's pages).
func (g *Gateway) breakout(w http.ResponseWriter, r *http.Request, target string) {
	g.pages.render(w, http.StatusOK, "breakout", breakoutPage{Target: target})
}

func (g *Gateway) writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
