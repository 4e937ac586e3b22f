package gateway

import (
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/session"
)

// maxFormBytes bounds POST bodies of the gateway's endpoints.
const maxFormBytes = 16 << 10

// endpointHandler names the handler of an endpoint: each flow lives in its
// own file — sign-in (signin.go), renewal in place (renew.go), rescued input (rescue.go) and forms
// (rescue_sent.go), sign-out (signout.go, signedout.go), the
// banner's status and activity (status.go), the banner script (assets.go),
// My devices (devices.go), the admin page (admin.go) and back-channel logout
// (backchannel.go). A handler returns an *Error for the server's error
// handling (see refuse), or nil when it has answered. nil: no such endpoint.
func (g *Gateway) endpointHandler(name string, next Next) func(http.ResponseWriter, *http.Request) error {
	switch name {
	case "resend":
		return g.resendHandler(next)
	case "login":
		return g.handleLogin
	case "callback":
		return g.handleCallback
	case "signed-out":
		return g.handleSignedOut
	case "logout":
		return g.handleLogout
	case "status":
		return g.handleStatus
	case "activity":
		return g.handleActivity
	case "renew":
		return g.handleRenew
	case "rescue":
		return g.handleRescue
	case "restore":
		return g.handleRestore
	case "banner.js":
		return g.handleBannerJS
	case "sessions":
		return g.handleSessions
	case "admin":
		return g.handleAdmin
	case "backchannel-logout":
		return g.handleBackchannelLogout
	}
	return nil
}

// serveEndpoint routes a request under the path prefix. Only exact,
// canonical endpoint paths answer (not, for example, /.sessiongate%2Fstatus
// or /%2esessiongate/status); everything else under the prefix is 404 and
// is never passed to the app.
func (g *Gateway) serveEndpoint(w http.ResponseWriter, r *http.Request, next Next) error {
	name, ok := strings.CutPrefix(r.URL.Path, g.prefix+"/")
	handle := g.endpointHandler(name, next)
	if !ok || r.URL.RawPath != "" || handle == nil {
		return g.notFound(w, r)
	}
	return handle(w, r)
}

// allowMethods reports whether r uses one of methods; otherwise it answers
// 405 (ok false, with the refusal to return).
func (g *Gateway) allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) (ok bool, err error) {
	if slices.Contains(methods, r.Method) {
		return true, nil
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	return false, g.refuse(r, http.StatusMethodNotAllowed, errMethodNotAllowed, func() {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
}

// csrfOK is the CSRF check of state-changing endpoints: same origin and the
// session's token, compared in constant time.
func (g *Gateway) csrfOK(r *http.Request, s *session.Session, token string) bool {
	return sameOrigin(r) && g.sealer.VerifyToken(csrfPurpose, s.ID, token)
}

// authenticatedPage checks the session of a request for one of the
// gateway's own pages. Without a valid session it answers the request
// itself (sign-in, signed-out page, 503) and returns ok false, with the
// refusal to return, if any.
func (g *Gateway) authenticatedPage(w http.ResponseWriter, r *http.Request) (ref session.Ref, res session.CheckResult, ok bool, err error) {
	ref, ok = g.readSessionCookie(r)
	if !ok {
		return ref, res, false, g.unauthenticated(w, r)
	}
	// a POST counts as activity only once its CSRF check has passed (acceptPost)
	ok, res, err = g.validSession(w, r, ref, r.Method != http.MethodPost && g.isActivity(r))
	return ref, res, ok, err
}

// validSession checks ref's session (activity: as user activity). When it
// is not valid, it answers the request itself (503, or the session's end)
// and returns ok false, with the refusal to return, if any.
func (g *Gateway) validSession(w http.ResponseWriter, r *http.Request, ref session.Ref, activity bool) (ok bool, res session.CheckResult, err error) {
	res, err = g.check(r, ref, activity)
	if err != nil {
		return false, res, g.storeUnavailable(w, r)
	}
	if !res.Valid {
		g.ended(w, r, res.Reason)
		return false, res, nil
	}
	return true, res, nil
}

// pageSession is the preamble of the gateway's own signed-in pages (My
// devices, the admin page): GET or POST only; a valid session, of a user
// who may open the page (mayOpen; nil: everybody); for a POST, a bounded
// form whose CSRF check passed, then counted as activity. When any of it
// fails it answers the request itself and returns ok false, with the
// refusal to return, if any.
func (g *Gateway) pageSession(w http.ResponseWriter, r *http.Request, mayOpen func(*session.Session) bool) (ref session.Ref, me *session.Session, ok bool, err error) {
	if ok, err = g.allowMethods(w, r, http.MethodGet, http.MethodPost); !ok {
		return ref, nil, false, err
	}
	ref, res, ok, err := g.authenticatedPage(w, r)
	if !ok {
		return ref, nil, false, err
	}
	me = res.Session
	if mayOpen != nil && !mayOpen(me) {
		g.log.Warn("page refused", zap.String("path", r.URL.Path), zap.String("user", me.Subject), zap.String("ip", clientIP(r)))
		return ref, me, false, g.refuse(r, http.StatusForbidden, errNotAllowed, func() {
			g.pages.render(w, http.StatusForbidden, "error", errorPage{
				Title:   "Not allowed",
				Message: "Only practice managers can change the session time limit.",
				Retry:   "/",
			})
		})
	}
	if r.Method == http.MethodPost {
		if ok, err = g.acceptPost(w, r, ref, me); !ok {
			return ref, me, false, err
		}
	}
	return ref, me, true, nil
}

// acceptPost reads a page's form POST (bounded), checks its CSRF token and
// then counts it as activity. When the POST is refused it answers the
// request itself and returns ok false, with the refusal to return, if any.
func (g *Gateway) acceptPost(w http.ResponseWriter, r *http.Request, ref session.Ref, me *session.Session) (ok bool, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return false, g.badForm(w, r)
	}
	if !g.csrfOK(r, me, r.PostFormValue("csrf")) {
		return false, g.forbidden(w, r)
	}
	ok, _, err = g.validSession(w, r, ref, true)
	return ok, err
}
