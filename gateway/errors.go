package gateway

import (
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/config"
)

// Error is a request the gateway refused — the session store unreachable
// (503), the identity provider unreachable (503), a sign-in that failed
// (400), a failed CSRF check or a page a user may not open (403), an
// unknown endpoint (404), a wrong method (405), a malformed form (400) —
// handed to the server's own error handling instead of the gateway's page
// when error_pages is "caddy": in Caddy, the site's handle_errors routes
// answer it ({err.status_code}, {err.message}). Headers the gateway set for
// the refusal (Retry-After, Allow) stay on the response.
type Error struct {
	// Status is the HTTP status of the refusal.
	Status int
	// Err says why, for the server's log; the gateway never shows it to the
	// user.
	Err error
}

// Error reads "<status>: why".
func (e *Error) Error() string { return strconv.Itoa(e.Status) + ": " + e.Err.Error() }

// Unwrap returns why.
func (e *Error) Unwrap() error { return e.Err }

// refuse answers a refused request. Page loads (navigations, form posts)
// are handed to the server's error handling as an *Error when error_pages
// is "caddy"; otherwise, and always for scripts' requests (the banner reads
// the gateway's JSON), page writes the gateway's own answer and refuse
// returns nil.
func (g *Gateway) refuse(r *http.Request, status int, why error, page func()) error {
	if g.cfg.ErrorPages == config.ErrorPagesCaddy && isNavigation(r) {
		return &Error{Status: status, Err: why}
	}
	page()
	return nil
}

// Reasons of refusals, for the server's log.
var (
	errUnknownEndpoint  = errors.New("sessiongate: no such gateway endpoint")
	errMethodNotAllowed = errors.New("sessiongate: method not allowed on this endpoint")
	errBadForm          = errors.New("sessiongate: malformed or oversized form")
	errCSRF             = errors.New("sessiongate: CSRF check failed")
	errNotAllowed       = errors.New("sessiongate: the page is for admin_group members only")
)

// notFound answers a path under the prefix that is no endpoint.
func (g *Gateway) notFound(w http.ResponseWriter, r *http.Request) error {
	return g.refuse(r, http.StatusNotFound, errUnknownEndpoint, func() { http.NotFound(w, r) })
}

// badForm answers a POST whose form cannot be read (or is too large).
func (g *Gateway) badForm(w http.ResponseWriter, r *http.Request) error {
	return g.refuse(r, http.StatusBadRequest, errBadForm, func() {
		http.Error(w, "bad form", http.StatusBadRequest)
	})
}

// forbidden answers a state-changing request that failed its CSRF check.
func (g *Gateway) forbidden(w http.ResponseWriter, r *http.Request) error {
	g.log.Warn("CSRF check failed", zap.String("path", r.URL.Path), zap.String("ip", clientIP(r)))
	return g.refuse(r, http.StatusForbidden, errCSRF, func() {
		g.writeJSON(w, http.StatusForbidden, map[string]string{"error": "csrf_check_failed"})
	})
}
