// Package caddymodule registers sessiongate as the Caddy HTTP handler
// http.handlers.session_gate with the Caddyfile directive session_gate. It is
// glue only: the gateway logic lives in the gateway, session, auth and config
// packages, which do not import Caddy.
package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/gateway"
	"github.com/sessiongate/sessiongate/session"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("session_gate", parseCaddyfile)
	// After encode (so the banner is injected before compression) and before
	// handle/route/reverse_proxy, so that every proxied route is gated.
	httpcaddyfile.RegisterDirectiveOrder("session_gate", httpcaddyfile.After, "encode")
}

// Handler puts the routes after it behind OpenID Connect sign-in with
// per-device idle and absolute session timers. Its JSON fields are those of
// config.Settings.
type Handler struct {
	config.Settings

	gw       *gateway.Gateway
	store    session.Store
	storeKey string
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.session_gate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves placeholders, applies defaults, validates, and sets up
// the store (shared across config reloads), the relying party and the gateway.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.resolvePlaceholders()
	h.SetDefaults()
	if err := h.Settings.Validate(); err != nil {
		return fmt.Errorf("session_gate: %w", err)
	}
	for _, w := range h.Warnings() {
		h.logger.Warn(w)
	}
	store, key, err := loadStore(h.Store, h.TombstoneTTL())
	if err != nil {
		return fmt.Errorf("session_gate: store: %w", err)
	}
	h.store, h.storeKey = store, key
	if c, ok := store.(interface{ LocalCache() (bool, string) }); ok {
		if on, why := c.LocalCache(); on {
			h.logger.Info("session checks are served from a local copy that Redis keeps exact")
		} else {
			h.logger.Info("no local copy of sessions: every check is a round trip to Redis", zap.String("why", why))
		}
	}
	// cookies are bound to this provider and client: see auth.NewBoundSealer
	sealer, err := auth.NewBoundSealer(h.CookieSecrets, h.Issuer+" "+h.ClientID)
	if err != nil {
		return fmt.Errorf("session_gate: %w", err)
	}
	rp := auth.New(auth.Config{
		Issuer: h.Issuer, ClientID: h.ClientID, ClientSecret: h.ClientSecret, Scopes: h.Scopes,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	})
	settings := h.Settings
	gw, err := gateway.New(gateway.Options{
		Settings: &settings, Store: store, RP: rp, Sealer: sealer,
		Logger: h.logger, Audit: ctx.Logger(auditLog{}),
		Metrics: newMetrics(ctx.GetMetricsRegistry(), store, func() session.LimitTable {
			if h.gw == nil {
				return session.LimitTable{}
			}
			return h.gw.Limits()
		}),
	})
	if err != nil {
		return fmt.Errorf("session_gate: %w", err)
	}
	h.gw = gw
	return nil
}

// AuditLoggerName is the logger of the audit trail: one event per sign-in,
// sign-out, policy change and administrative revocation. Route it with
// Caddy's `log` options (include session_gate.audit).
const AuditLoggerName = "session_gate.audit"

// auditLog names the audit trail's logger for Caddy's log routing; it is
// not a registered module.
type auditLog struct{}

// CaddyModule returns the logger's name as a module ID.
func (auditLog) CaddyModule() caddy.ModuleInfo { return caddy.ModuleInfo{ID: AuditLoggerName} }

// TombstoneTTL is how long the reason of an ended session is remembered: as
// long as the longest-lived session cookie.
func (h *Handler) TombstoneTTL() time.Duration {
	ttl := max(h.AbsoluteTimeout.Std(), 24*time.Hour)
	for _, c := range h.AbsoluteTimeoutChoices {
		ttl = max(ttl, c.Std())
	}
	for _, p := range h.GroupPolicies {
		ttl = max(ttl, p.AbsoluteTimeout.Std())
	}
	return ttl
}

func (h *Handler) resolvePlaceholders() {
	repl := caddy.NewReplacer()
	h.Issuer = repl.ReplaceKnown(h.Issuer, "")
	h.ClientID = repl.ReplaceKnown(h.ClientID, "")
	h.ClientSecret = repl.ReplaceKnown(h.ClientSecret, "")
	h.Store.URL = repl.ReplaceKnown(h.Store.URL, "")
	// An unset {env.X} becomes "" and fails validation (too short) rather
	// than silently promoting an older secret to seal new cookies.
	secrets := make([]string, len(h.CookieSecrets))
	for i, s := range h.CookieSecrets {
		secrets[i] = repl.ReplaceKnown(s, "")
	}
	h.CookieSecrets = secrets
}

// Validate checks the provisioned configuration with the same checks as
// the Caddyfile adapter, whichever way it was loaded (Caddyfile, JSON through
// the admin API or `caddy run --config x.json`). Provision has already
// refused an invalid one; this keeps the check where Caddy looks for it.
func (h *Handler) Validate() error {
	if h.gw == nil {
		return fmt.Errorf("session_gate: not provisioned")
	}
	if err := h.Settings.Validate(); err != nil {
		return fmt.Errorf("session_gate: %w", err)
	}
	return nil
}

// Cleanup stops the gateway's background work and releases this config's
// hold on the shared store.
func (h *Handler) Cleanup() error {
	if h.gw != nil {
		h.gw.Close()
	}
	if h.storeKey != "" {
		if _, err := stores.Delete(h.storeKey); err != nil {
			return fmt.Errorf("session_gate: releasing store: %w", err)
		}
	}
	return nil
}

// ServeHTTP gates the request. A request the gateway refuses with
// error_pages caddy comes back as a caddyhttp.Error, which the site's
// handle_errors routes answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	err := h.gw.ServeHTTP(w, r, next.ServeHTTP)
	if refusal, ok := errors.AsType[*gateway.Error](err); ok {
		return caddyhttp.Error(refusal.Status, refusal)
	}
	return err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
