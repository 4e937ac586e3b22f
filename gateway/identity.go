package gateway

import (
	"net/http"
	"strings"

	"github.com/sessiongate/sessiongate/session"
)

// stripIdentityHeaders removes client-sent copies of the identity headers,
// in any letter case and with underscores or dots for dashes: CGI, WSGI and
// PHP servers fold X_Forwarded_User (PHP also X.Forwarded.User) into the
// same variable as X-Forwarded-User. (Caddy drops such spellings itself
// unless expected_underscore_headers or expected_dot_headers allow them.)
//
// It also removes the identity headers' names from the Connection header: a
// proxy drops the headers that Connection lists as hop-by-hop, after the
// gateway has set them, so `Connection: close, X-Forwarded-User` would let a
// client take its own identity headers away from the app.
func (g *Gateway) stripIdentityHeaders(r *http.Request) {
	if len(g.identityHeaders) == 0 {
		return
	}
	g.stripConnectionTokens(r)
	for key := range r.Header {
		for _, name := range g.identityHeaders {
			if sameHeaderName(key, name) {
				delete(r.Header, key)
				break
			}
		}
	}
}

// stripConnectionTokens keeps only the Connection tokens that do not name an
// identity header (in any spelling an upstream may fold together).
func (g *Gateway) stripConnectionTokens(r *http.Request) {
	values, ok := r.Header["Connection"]
	if !ok {
		return
	}
	var kept []string
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" || g.isIdentityHeader(tok) {
				continue
			}
			kept = append(kept, tok)
		}
	}
	if len(kept) == 0 {
		delete(r.Header, "Connection")
		return
	}
	r.Header["Connection"] = []string{strings.Join(kept, ", ")}
}

func (g *Gateway) isIdentityHeader(name string) bool {
	for _, id := range g.identityHeaders {
		if sameHeaderName(name, id) {
			return true
		}
	}
	return false
}

// sameHeaderName reports whether an upstream server may read a and b as the
// same header: letter case aside, '_' and '.' count as '-'.
func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if foldHeaderByte(a[i]) != foldHeaderByte(b[i]) {
			return false
		}
	}
	return true
}

func foldHeaderByte(c byte) byte {
	switch {
	case c == '_' || c == '.':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	}
	return c
}

// setIdentityHeaders sets the configured headers from the session's claims.
func (g *Gateway) setIdentityHeaders(r *http.Request, s *session.Session) {
	for name, claim := range g.cfg.IdentityHeaders {
		if v := claimValue(s, claim); v != "" {
			r.Header.Set(name, headerSafe(v))
		}
	}
}

func claimValue(s *session.Session, claim string) string {
	switch claim {
	case "sub":
		return s.Subject
	case "name":
		return s.Name
	case "email":
		return s.Email
	case "groups":
		return joinGroups(s.Groups)
	case "sid":
		return s.IdPSessionID
	}
	return s.Claims[claim]
}

// joinGroups joins group names with commas for a header, leaving out names
// that contain a comma: "a,b" would reach the app as the two groups a and b
// (membership the user does not have). Such groups cannot be used in the
// Caddyfile either (policy, admin_group).
func joinGroups(groups []string) string {
	var b strings.Builder
	for _, g := range groups {
		if g == "" || strings.Contains(g, ",") {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(g)
	}
	return b.String()
}

// headerSafe drops control characters so that a claim cannot split headers.
func headerSafe(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, v)
}
