package config

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Validate reports the first invalid option or combination of options, with
// the option's Caddyfile name in the message. Call SetDefaults first.
func (s *Settings) Validate() error {
	if s.Issuer == "" {
		return optionErrorf("issuer", "required (the OpenID Connect provider's issuer URL)")
	}
	u, err := url.Parse(s.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return optionErrorf("issuer", "%q is not an absolute http(s) URL", s.Issuer)
	}
	if s.ClientID == "" {
		return optionErrorf("client_id", "required (the client ID registered at the provider)")
	}
	if len(s.CookieSecrets) == 0 {
		return optionErrorf("cookie_secret", "required (at least %d random bytes, e.g. from `openssl rand -base64 48`)", MinCookieSecretLength)
	}
	for i, sec := range s.CookieSecrets {
		if len(sec) < MinCookieSecretLength {
			which := "the current secret"
			if i > 0 {
				which = fmt.Sprintf("older secret #%d", i)
			}
			hint := ""
			if sec == "" {
				hint = " (is its environment variable set?)"
			}
			return optionErrorf("cookie_secret", "%s is %d bytes; at least %d are required%s", which, len(sec), MinCookieSecretLength, hint)
		}
	}
	for _, sc := range s.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\") || len(sc) > 256 {
			return optionErrorf("scopes", "%q is not a scope (no spaces or quotes, at most 256 bytes)", sc)
		}
	}
	if err := s.Store.validate(); err != nil {
		return err
	}
	if s.IdleTimeout <= 0 {
		return optionErrorf("idle_timeout", "must be positive")
	}
	if s.AbsoluteTimeout <= 0 {
		return optionErrorf("absolute_timeout", "must be positive")
	}
	if s.IdleTimeout > s.AbsoluteTimeout {
		return optionErrorf("idle_timeout", "%s is longer than absolute_timeout %s", s.IdleTimeout, s.AbsoluteTimeout)
	}
	if s.WarnBefore <= 0 || s.WarnBefore >= s.IdleTimeout {
		return optionErrorf("warn_before", "%s must be positive and shorter than idle_timeout %s", s.WarnBefore, s.IdleTimeout)
	}
	if s.AbsoluteWarnBefore <= 0 || s.AbsoluteWarnBefore >= s.AbsoluteTimeout {
		return optionErrorf("absolute_warn_before", "%s must be positive and shorter than absolute_timeout %s", s.AbsoluteWarnBefore, s.AbsoluteTimeout)
	}
	if s.Activity != ActivityNavigation && s.Activity != ActivityAllRequests {
		return optionErrorf("activity", "%q is not one of navigation, all_requests", s.Activity)
	}
	for name, claim := range s.IdentityHeaders {
		if !ValidHeaderName(name) {
			return optionErrorf("identity_headers", "%q is not a valid header name", name)
		}
		if claim == "" {
			return optionErrorf("identity_headers", "header %s has no claim name", name)
		}
	}
	if s.ErrorPages != ErrorPagesGateway && s.ErrorPages != ErrorPagesCaddy {
		return optionErrorf("error_pages", "%q is not one of gateway, caddy", s.ErrorPages)
	}
	if err := s.Banner.validate(); err != nil {
		return err
	}
	if !strings.HasPrefix(s.PathPrefix, "/") || strings.HasSuffix(s.PathPrefix, "/") || len(s.PathPrefix) < 2 ||
		strings.ContainsAny(s.PathPrefix, "?#%\\ ") {
		return optionErrorf("path_prefix", "%q must start with / and not end with / (e.g. /.sessiongate)", s.PathPrefix)
	}
	return s.validatePolicies()
}

// Warnings lists settings that are valid but unwise, for the operator's log.
func (s *Settings) Warnings() []string {
	var w []string
	if s.WarnBefore.Std() < WCAGMinimumWarning {
		w = append(w, fmt.Sprintf("warn_before %s is shorter than the 20s WCAG 2.2.1 asks for", s.WarnBefore))
	}
	if u, err := url.Parse(s.Issuer); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		w = append(w, "issuer uses plain http: tokens and codes travel unencrypted")
	}
	return w
}

func (sc StoreConfig) validate() error {
	switch sc.Kind {
	case StoreMemory:
		if sc.URL != "" {
			return optionErrorf("store", "memory takes no URL")
		}
		if sc.MinReplicas != nil {
			return optionErrorf("store", "memory takes no min_replicas")
		}
		if sc.LocalCache != nil {
			return optionErrorf("store", "memory takes no local_cache (its sessions are local already)")
		}
	case StoreRedis:
		if sc.URL == "" {
			return optionErrorf("store", "redis needs a URL, e.g. redis://127.0.0.1:6379/0")
		}
		u, err := url.Parse(sc.URL)
		if err != nil {
			return optionErrorf("store", "invalid redis URL: %w", err)
		}
		switch u.Scheme {
		case "redis", "rediss", "redis+cluster", "rediss+cluster", "unix":
		default:
			return optionErrorf("store", "redis URL scheme %q is not one of redis, rediss, redis+cluster, rediss+cluster, unix", u.Scheme)
		}
		if sc.MinReplicas != nil && *sc.MinReplicas < 0 {
			return optionErrorf("store", "min_replicas must not be negative (0 turns the guard off)")
		}
	default:
		return optionErrorf("store", "%q is not one of memory, redis", sc.Kind)
	}
	return nil
}

// ValidHeaderName reports whether name is a valid HTTP header field name.
func ValidHeaderName(name string) bool {
	if name == "" || http.CanonicalHeaderKey(name) == "" {
		return false
	}
	for _, c := range name {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
