package caddymodule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/sessiongate/sessiongate/config"
)

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var m Handler
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return &m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	session_gate {
//		issuer         <url>
//		client_id      <id>
//		client_secret  <secret>
//		scopes         <scope...>
//		cookie_secret  <current> [<older>...]
//		store          memory | redis <url>
//		idle_timeout   <duration>
//		absolute_timeout <duration>
//		warn_before    <duration>
//		absolute_warn_before <duration>
//		activity       navigation | all_requests
//		identity_headers {
//			<Header-Name> <claim>
//		}
//		banner {
//			idle_title | idle_message | absolute_title | absolute_message |
//			continue_button | logout_button | announce  <text>
//		}
//		path_prefix    <path>
//		max_sessions   <n>
//		groups_claim   <claim>
//		policy <group> {
//			idle_timeout     <duration>
//			absolute_timeout <duration>
//		}
//		admin_group    <group>
//		absolute_timeout_choices <duration...>
//		provider_logout on | off
//		account_menu   [on | off]
//		renew_in_place on | off
//		rescue         on | off
//		error_pages    gateway | caddy
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	lines := map[string]string{} // option → "file:line", to point validation errors at it
	for d.NextBlock(0) {
		opt := d.Val()
		lines[opt] = fmt.Sprintf("%s:%d", d.File(), d.Line())
		switch opt {
		case "issuer", "client_id", "client_secret", "activity", "path_prefix", "groups_claim", "admin_group", "error_pages":
			v, err := singleArg(d)
			if err != nil {
				return err
			}
			switch opt {
			case "issuer":
				h.Issuer = v
			case "client_id":
				h.ClientID = v
			case "client_secret":
				h.ClientSecret = v
			case "activity":
				h.Activity = v
			case "path_prefix":
				h.PathPrefix = v
			case "groups_claim":
				h.GroupsClaim = v
			case "admin_group":
				h.AdminGroup = v
			case "error_pages":
				h.ErrorPages = v
			}
		case "max_sessions":
			v, err := singleArg(d)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return d.Errf("max_sessions: %q is not a whole number (0 = unlimited)", v)
			}
			h.MaxSessions = n
		case "provider_logout", "account_menu", "renew_in_place", "rescue":
			on, err := onOff(d, true)
			if err != nil {
				return err
			}
			switch opt {
			case "provider_logout":
				h.ProviderLogout = &on
			case "renew_in_place":
				h.RenewInPlace = &on
			case "rescue":
				h.Rescue = &on
			default:
				h.AccountMenu = on
			}
		case "absolute_timeout_choices":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("absolute_timeout_choices: at least one duration is required")
			}
			h.AbsoluteTimeoutChoices = nil
			for _, a := range args {
				dur, err := config.ParseDuration(a)
				if err != nil {
					return d.Errf("absolute_timeout_choices: %v", err)
				}
				h.AbsoluteTimeoutChoices = append(h.AbsoluteTimeoutChoices, config.Duration(dur))
			}
		case "policy":
			if err := h.parsePolicy(d); err != nil {
				return err
			}
		case "scopes":
			h.Scopes = d.RemainingArgs()
			if len(h.Scopes) == 0 {
				return d.Errf("scopes: at least one scope is required")
			}
		case "cookie_secret":
			h.CookieSecrets = d.RemainingArgs()
			if len(h.CookieSecrets) == 0 {
				return d.Errf("cookie_secret: a secret is required (older secrets may follow for rotation)")
			}
		case "store":
			if err := h.parseStore(d); err != nil {
				return err
			}
		case "idle_timeout", "absolute_timeout", "warn_before", "absolute_warn_before":
			v, err := singleArg(d)
			if err != nil {
				return err
			}
			dur, err := config.ParseDuration(v)
			if err != nil {
				return d.Errf("%s: %v", opt, err)
			}
			switch opt {
			case "idle_timeout":
				h.IdleTimeout = config.Duration(dur)
			case "absolute_timeout":
				h.AbsoluteTimeout = config.Duration(dur)
			case "warn_before":
				h.WarnBefore = config.Duration(dur)
			case "absolute_warn_before":
				h.AbsoluteWarnBefore = config.Duration(dur)
			}
		case "identity_headers":
			if d.NextArg() {
				return d.ArgErr()
			}
			if h.IdentityHeaders == nil {
				h.IdentityHeaders = map[string]string{}
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				header := d.Val()
				if !config.ValidHeaderName(header) {
					return d.Errf("identity_headers: %q is not a valid header name", header)
				}
				claim, err := singleArg(d)
				if err != nil {
					return err
				}
				h.IdentityHeaders[header] = claim
			}
		case "banner":
			if d.NextArg() {
				return d.ArgErr()
			}
			for nesting := d.Nesting(); d.NextBlock(nesting); {
				name := d.Val()
				text, err := singleArg(d)
				if err != nil {
					return err
				}
				if err := h.Banner.Set(name, text); err != nil {
					return d.Errf("%v", err)
				}
			}
		default:
			return d.Errf("unknown session_gate option %q", opt)
		}
	}
	return h.validateParsed(d, lines)
}

// validateParsed checks the block as far as it can be checked before
// runtime placeholders ({env.X}) are known, so that `caddy validate` and
// `caddy adapt` report the file and line.
func (h *Handler) validateParsed(d *caddyfile.Dispenser, lines map[string]string) error {
	s := h.Settings
	s.Scopes = append([]string(nil), s.Scopes...)
	if isPlaceholder(s.Issuer) {
		s.Issuer = "https://placeholder.invalid"
	}
	if isPlaceholder(s.ClientID) {
		s.ClientID = "placeholder"
	}
	if isPlaceholder(s.Store.URL) {
		s.Store.URL = "redis://placeholder.invalid:6379"
	}
	secrets := make([]string, len(s.CookieSecrets))
	for i, sec := range s.CookieSecrets {
		if isPlaceholder(sec) {
			sec = strings.Repeat("x", config.MinCookieSecretLength)
		}
		secrets[i] = sec
	}
	s.CookieSecrets = secrets
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		// Point at the line of the option the error is about.
		var oe *config.OptionError
		if errors.As(err, &oe) {
			if at, ok := lines[oe.Option]; ok {
				return fmt.Errorf("session_gate: %w, at %s", err, at)
			}
		}
		return d.Errf("session_gate: %v", err)
	}
	return nil
}
