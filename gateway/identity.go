package gateway

import (
	"net/http"
	"strings"

	"github.com/sessiongate/sessiongate/session"
)

// stripIdentityHeaders removes client-sent copies of the identity headers.
func (g *Gateway) stripIdentityHeaders(r *http.Request) {
	for name := range g.cfg.IdentityHeaders {
		r.Header.Del(name)
	}
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
		return strings.Join(s.Groups, ",")
	case "sid":
		return s.IdPSessionID
	}
	return s.Claims[claim]
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
