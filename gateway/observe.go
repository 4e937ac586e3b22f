package gateway

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/session"
)

// Metrics receives the gateway's counters and timings. The Caddy module
// implements it with Prometheus collectors in Caddy's registry.
type Metrics interface {
	// SignIn counts a completed sign-in.
	SignIn()
	// SignOut counts an ended session by its audit reason (manual, idle, …).
	SignOut(reason string)
	// SessionCheck observes one store check; err is the store's failure.
	SessionCheck(d time.Duration, err error)
}

// nopMetrics is the Metrics of a gateway built without any.
type nopMetrics struct{}

func (nopMetrics) SignIn()                           {}
func (nopMetrics) SignOut(string)                    {}
func (nopMetrics) SessionCheck(time.Duration, error) {}

// check runs the store's session check, timing it, and records a sign-out
// in the audit log when this check is the one that found the session's end.
func (g *Gateway) check(r *http.Request, ref session.Ref, activity bool) (session.CheckResult, error) {
	return g.checkFor(r.Context(), r, ref, activity)
}

// checkFor checks a session for the request r (which the audit event of a
// session found ended describes), within ctx.
func (g *Gateway) checkFor(ctx context.Context, r *http.Request, ref session.Ref, activity bool) (session.CheckResult, error) {
	start := time.Now()
	res, err := g.sessions.Check(ctx, ref, g.currentLimits(ctx), activity)
	g.metrics.SessionCheck(time.Since(start), err)
	if err == nil && res.Ended {
		g.auditSignOut(r, res.Reason, res.Subject, ref.ID, "")
	}
	return res, err
}

// auditReason is the audit log's word for a reason.
func auditReason(r session.Reason) string {
	if r == session.ReasonLogout {
		return "manual"
	}
	return string(r)
}

// auditSignOut writes the one audit event of a session's end. by names the
// person who ended it when it was not the user (an administrator, or the
// user from another device).
func (g *Gateway) auditSignOut(r *http.Request, reason session.Reason, user, sessionID, by string) {
	g.metrics.SignOut(auditReason(reason))
	fields := []zap.Field{
		zap.String("reason", auditReason(reason)), zap.String("user", user),
		zap.String("session", session.LogID(sessionID)),
		zap.String("device", deviceSummary(r.UserAgent())), zap.String("ip", clientIP(r)), zap.String("site", r.Host),
	}
	if by != "" {
		fields = append(fields, zap.String("by", by))
	}
	g.audit.Info("sign-out", fields...)
}

// auditSignIn writes the audit event of a new session.
func (g *Gateway) auditSignIn(r *http.Request, s *session.Session) {
	g.metrics.SignIn()
	g.audit.Info("sign-in",
		zap.String("user", s.Subject), zap.String("session", session.LogID(s.ID)),
		zap.String("device", s.Device), zap.String("ip", s.IP), zap.String("site", r.Host),
		zap.String("policy", s.PolicyGroups))
}

// recheckStream checks the session of a long-lived response (not as
// activity) and reports whether it is still valid.
func (g *Gateway) recheckStream(ctx context.Context, s *stream) (bool, error) {
	res, err := g.checkFor(ctx, s.auditRequest(), s.ref, false)
	return res.Valid, err
}
