package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/sessiongate/sessiongate/session"
)

const (
	sessionCookieName    = "sessiongate"
	seenCookieName       = "sessiongate_seen"
	seenCookieSealKey    = "sessiongate-seen"
	seenCookieLifetime   = 30 * 24 * time.Hour
	loginCookiePrefix    = "sessiongate_login_"
	hostPrefix           = "__Host-"
	sessionCookieSealKey = "sessiongate-session"
	loginCookieSealKey   = "sessiongate-login"
)

// cookieName adds the __Host- prefix on HTTPS (Secure, Path=/, no Domain).
func cookieName(r *http.Request, base string) string {
	if isHTTPS(r) {
		return hostPrefix + base
	}
	return base
}

func (g *Gateway) setCookie(w http.ResponseWriter, r *http.Request, base, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     cookieName(r, base),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   isHTTPS(r),
		SameSite: http.SameSiteLaxMode,
	}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
		if c.MaxAge == 0 {
			c.MaxAge = 1
		}
	}
	http.SetCookie(w, c)
}

// expireCookieNamed removes the cookie with this exact name (prefix included).
func (g *Gateway) expireCookieNamed(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Path: "/", MaxAge: -1, HttpOnly: true, Secure: isHTTPS(r),
		SameSite: http.SameSiteLaxMode})
}

// readSessionCookie opens the session cookie; a missing, tampered or
// foreign cookie is simply no session (no store call is made for it).
// With several cookies of that name (`sessiongate=junk; sessiongate=<valid>`,
// a stale path-scoped copy, a planted one) the first of the first
// maxSessionCookieCopies that opens is used; more copies are not tried, so a
// header full of forged copies costs a few HMAC checks, not hundreds.
func (g *Gateway) readSessionCookie(r *http.Request) (session.Ref, bool) {
	copies := r.CookiesNamed(cookieName(r, sessionCookieName))
	if len(copies) > maxSessionCookieCopies {
		copies = copies[:maxSessionCookieCopies]
	}
	for _, c := range copies {
		if ref, ok := g.refs.get(c.Value); ok {
			return ref, true
		}
		var ref session.Ref
		if err := g.sealer.Open(sessionCookieSealKey, c.Value, &ref); err != nil || ref.ID == "" || ref.UserKey == "" {
			continue
		}
		g.refs.put(c.Value, ref)
		return ref, true
	}
	return session.Ref{}, false
}

// maxSessionCookieCopies bounds the session cookies of one request that are
// tried.
const maxSessionCookieCopies = 4

// sessionCookieBudget is the longest session cookie value the gateway
// writes: browsers keep cookies up to 4,096 bytes of name, value and
// attributes.
const sessionCookieBudget = 3600

// identityFitsCookie reports whether the session's display claims fit in its
// sealed cookie; when they do not (hundreds of groups, say), the store keeps
// them instead.
func (g *Gateway) identityFitsCookie(s *session.Session) bool {
	trial := *s
	trial.CreatedAt = g.now() // same length as the sign-in time the store sets
	v, err := g.sealer.Seal(sessionCookieSealKey, trial.Ref())
	return err == nil && len(v) <= sessionCookieBudget
}

func (g *Gateway) writeSessionCookie(w http.ResponseWriter, r *http.Request, s *session.Session, l session.Limits) error {
	v, err := g.sealer.Seal(sessionCookieSealKey, s.Ref())
	if err != nil {
		return err
	}
	// never longer-lived than the absolute limit; a browser-session cookie
	// when there is none, or when managers may lengthen it at runtime (the
	// server enforces the limit either way)
	lifetime := l.Absolute
	if g.cfg.AdminGroup != "" {
		lifetime = 0
	}
	g.setCookie(w, r, sessionCookieName, v, lifetime)
	return nil
}

func (g *Gateway) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	g.setCookie(w, r, sessionCookieName, "", -1)
}

// endSessionCookie clears the session cookie of a session that ended for a
// security reason and records that reason in the seen marker, so that every
// later request of this browser (another tab's banner, a background poll, the
// next visit) can still say why, although the cookie is gone.
func (g *Gateway) endSessionCookie(w http.ResponseWriter, r *http.Request, reason session.Reason) {
	g.clearSessionCookie(w, r)
	if reason == session.ReasonLogout {
		return
	}
	m, _ := g.readSeenMarker(r)
	if m.EndedReason == string(reason) {
		return // already recorded: keep the first time it was seen
	}
	m.EndedReason, m.EndedAt, m.Shown = string(reason), g.now().UnixMilli(), false
	if v, err := g.sealer.Seal(seenCookieSealKey, m); err == nil {
		g.setCookie(w, r, seenCookieName, v, seenCookieLifetime)
	}
}

// maxLoginStates is how many sign-ins a browser may have under way at once
// (one per tab that started one); the oldest are dropped.
const maxLoginStates = 4

// stripGatewayCookies removes the gateway's cookies from the Cookie header
// sent upstream, leaving the app's cookies byte for byte as they were.
func (g *Gateway) stripGatewayCookies(r *http.Request) {
	lines := r.Header.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			// trimmed as net/http trims the names it reads (`sessiongate =v`
			// is read as the session cookie, so it must not reach the app)
			name, _, _ := strings.Cut(part, "=")
			if isGatewayCookie(strings.TrimSpace(name)) {
				continue
			}
			if p := strings.TrimSpace(part); p != "" {
				kept = append(kept, p)
			}
		}
	}
	r.Header.Del("Cookie")
	if len(kept) > 0 {
		r.Header.Set("Cookie", strings.Join(kept, "; "))
	}
}

func isGatewayCookie(name string) bool {
	name = strings.TrimPrefix(strings.TrimPrefix(name, hostPrefix), securePrefix)
	return name == sessionCookieName || name == seenCookieName || name == idTokenCookieName ||
		strings.HasPrefix(name, loginCookiePrefix)
}

// csrfPurpose names the derived CSRF token of a session.
const csrfPurpose = "csrf"

// csrfToken is a session's CSRF token: derived from its ID with a key from
// the cookie secrets, so the store keeps nothing for it.
func (g *Gateway) csrfToken(s *session.Session) string { return g.sealer.Token(csrfPurpose, s.ID) }

// maxIDTokenCookie keeps the ID token cookie within what browsers accept.
const maxIDTokenCookie = 3800
