package gateway

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

// maxLogoutRequestBytes bounds a back-channel logout request body.
const maxLogoutRequestBytes = 64 << 10

// minReplayWindow is the shortest time a logout token's jti is remembered.
const minReplayWindow = 5 * time.Minute

// handleBackchannelLogout implements OpenID Connect Back-Channel Logout 1.0:
// the provider POSTs a signed logout token; the sessions it names (by sid,
// by sub, or both) end with reason "backchannel". A token is accepted once.
func (g *Gateway) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodPost); !ok {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutRequestBytes)
	if err := r.ParseForm(); err != nil {
		g.backchannelError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return nil
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		g.backchannelError(w, http.StatusBadRequest, "invalid_request", "logout_token is missing")
		return nil
	}
	claims, err := g.rp.VerifyLogoutToken(r.Context(), raw)
	switch {
	case errors.Is(err, auth.ErrProviderUnavailable):
		g.log.Error("back-channel logout: provider keys unavailable", zap.Error(err))
		g.backchannelError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the provider's keys cannot be fetched")
		return nil
	case err != nil:
		g.log.Warn("back-channel logout: token rejected", zap.Error(err), zap.String("ip", clientIP(r)))
		g.backchannelError(w, http.StatusBadRequest, "invalid_request", "the logout token is not valid")
		return nil
	}
	ttl := max(time.Until(claims.Expiry)+time.Minute, minReplayWindow)
	jti := "logout-jti:" + g.cfg.Issuer + "|" + claims.JTI
	first, err := g.shared.Once(r.Context(), jti, ttl)
	if err != nil {
		g.backchannelError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the session store is unavailable")
		return nil
	}
	if !first {
		g.log.Warn("back-channel logout: replayed token", zap.String("ip", clientIP(r)))
		g.backchannelError(w, http.StatusBadRequest, "invalid_request", "the logout token was used already")
		return nil
	}
	n, err := g.endForLogoutToken(r, claims)
	if err != nil {
		// the provider sends it again: it must not then count as replayed
		if ferr := g.shared.Forget(r.Context(), jti); ferr != nil {
			g.log.Error("back-channel logout: the token's replay marker could not be removed", zap.Error(ferr))
		}
		g.backchannelError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the session store is unavailable")
		return nil
	}
	g.log.Info("back-channel logout", zap.Int("sessions", n))
	w.WriteHeader(http.StatusOK)
	return nil
}

// endForLogoutToken ends the sessions a verified logout token names: those
// of its sid (of its sub, when both are given), or all of its sub's.
func (g *Gateway) endForLogoutToken(r *http.Request, c auth.LogoutClaims) (int, error) {
	var userKey string
	if c.Subject != "" {
		userKey = session.UserKey(g.cfg.Issuer, c.Subject)
	}
	var refs []session.Ref
	if c.SessionID != "" {
		found, err := g.directory.SessionsForIdPSession(r.Context(), c.SessionID)
		if err != nil {
			return 0, err
		}
		for _, ref := range found {
			if userKey == "" || ref.UserKey == userKey {
				refs = append(refs, ref)
			}
		}
	} else {
		list, err := g.sessions.List(r.Context(), userKey, g.limits())
		if err != nil {
			return 0, err
		}
		for _, s := range list {
			refs = append(refs, s.Ref())
		}
	}
	n := 0
	for _, ref := range refs {
		s, err := g.sessions.Get(r.Context(), ref)
		if err != nil {
			return n, err
		}
		if s == nil {
			continue // ended already
		}
		if err := g.sessions.End(r.Context(), ref, session.ReasonBackchannel); err != nil {
			return n, err
		}
		g.auditSignOut(r, session.ReasonBackchannel, s.Subject, ref.ID, "provider")
		n++
	}
	return n, nil
}

func (g *Gateway) backchannelError(w http.ResponseWriter, status int, code, description string) {
	g.writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
