package gateway

import (
	"net/http"

	"github.com/sessiongate/sessiongate/session"
)

// The ID token is needed only as id_token_hint when this device signs out
// at the provider. It travels in its own sealed cookie that the browser
// sends to the logout endpoint alone (so not with every request, and not in
// the session store, where it would be the largest field by far). It is
// bound to its session: a token cookie of another session is ignored.
const (
	idTokenCookieName    = "sessiongate_idt"
	idTokenCookieSealKey = "sessiongate-idt"
	securePrefix         = "__Secure-" // __Host- requires Path=/
)

type idTokenCookie struct {
	SessionID string `json:"s"`
	IDToken   string `json:"t"`
}

func (g *Gateway) idTokenCookie(r *http.Request) *http.Cookie {
	name := idTokenCookieName
	if isHTTPS(r) {
		name = securePrefix + name
	}
	return &http.Cookie{Name: name, Path: g.endpoint("logout"), HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteLaxMode}
}

// writeIDTokenCookie stores the ID token for a later provider logout; a
// token too large for a cookie is simply not kept (logout then sends
// client_id without id_token_hint).
func (g *Gateway) writeIDTokenCookie(w http.ResponseWriter, r *http.Request, s *session.Session, idToken string) {
	if idToken == "" || !g.cfg.ProviderLogoutEnabled() {
		return
	}
	v, err := g.sealer.Seal(idTokenCookieSealKey, idTokenCookie{SessionID: s.ID, IDToken: idToken})
	if err != nil || len(v) > maxIDTokenCookie {
		return
	}
	c := g.idTokenCookie(r)
	c.Value = v
	http.SetCookie(w, c)
}

func (g *Gateway) readIDTokenCookie(r *http.Request, ref session.Ref) string {
	c, err := r.Cookie(g.idTokenCookie(r).Name)
	if err != nil {
		return ""
	}
	var v idTokenCookie
	if err := g.sealer.Open(idTokenCookieSealKey, c.Value, &v); err != nil || v.SessionID != ref.ID {
		return ""
	}
	return v.IDToken
}

func (g *Gateway) clearIDTokenCookie(w http.ResponseWriter, r *http.Request) {
	c := g.idTokenCookie(r)
	c.MaxAge = -1
	http.SetCookie(w, c)
}
