// Package config holds sessiongate's settings (among them the group
// policies), their defaults and their validation. It does not import Caddy: the Caddy module
// embeds Settings and calls SetDefaults and Validate.
package config

import (
	"time"
)

// Activity values: what counts as user activity that resets the idle timer.
const (
	// ActivityNavigation counts only user-activated page navigations and the
	// banner's activity reports (the default).
	ActivityNavigation = "navigation"
	// ActivityAllRequests counts every authenticated request, including an
	// application's background polling.
	ActivityAllRequests = "all_requests"
)

// ErrorPages values: who answers a refused page load.
const (
	// ErrorPagesGateway: the gateway's own pages (the default).
	ErrorPagesGateway = "gateway"
	// ErrorPagesCaddy: the server's error handling (Caddy's handle_errors).
	ErrorPagesCaddy = "caddy"
)

// Store kinds.
const (
	// StoreMemory keeps sessions in this process; for a single gateway node.
	StoreMemory = "memory"
	// StoreRedis keeps sessions in Redis, shared by every gateway node.
	StoreRedis = "redis"
)

// Default values for unset options.
const (
	DefaultIdleTimeout        = 15 * time.Minute
	DefaultAbsoluteTimeout    = 9 * time.Hour
	DefaultWarnBefore         = 2 * time.Minute
	DefaultAbsoluteWarnBefore = 15 * time.Minute
	DefaultPathPrefix         = "/.sessiongate"
	// MinCookieSecretLength is the shortest accepted cookie secret, in bytes.
	MinCookieSecretLength = 32
	// WCAGMinimumWarning is the shortest warning lead that WCAG 2.2.1 (Timing
	// Adjustable) accepts: the user must get at least 20 seconds to extend.
	WCAGMinimumWarning = 20 * time.Second
)

// DefaultScopes are requested from the provider when scopes is not set.
var defaultScopes = []string{"openid", "profile", "email"}

// StoreConfig selects where sessions are kept.
type StoreConfig struct {
	// Kind is "memory" (default; one gateway node, sessions survive config
	// reloads but not a restart) or "redis" (shared by all gateway nodes).
	Kind string `json:"kind,omitempty"`

	// URL is the Redis address, for kind "redis":
	//   redis://[user:password@]host:port/db        a single server (rediss:// for TLS)
	//   redis://host:26379?master_name=mymaster&addr=host2:26379   Sentinel
	//   redis+cluster://host1:6379?addr=host2:6379  Cluster (rediss+cluster:// for TLS)
	URL string `json:"url,omitempty"`

	// MinReplicas, for kind "redis": how many replicas must confirm (Redis
	// WAIT) every write that starts or ends a session, or that a revocation
	// relies on, before the gateway answers; and, outside a Cluster, how many
	// replicas in sync (confirmed within 5 s) a master needs for the gateway
	// to trust its answers. Behind Sentinel the gateway also waits for every
	// replica the master has had in sync, and accepts fewer (even fewer than
	// MinReplicas) only when the sentinels agree that the missing ones are
	// down. So a sign-out is never undone by a
	// failover, and a gateway still talking to a master that a failover has
	// replaced refuses (503) rather than letting an ended session in. When
	// replicas do not confirm within about 3 s, the request fails closed
	// (503). 0 turns this off. Default: 1 with a Sentinel URL, 1 in a
	// Cluster that has replicas, 0 otherwise.
	MinReplicas *int `json:"min_replicas,omitempty"`

	// LocalCache, for kind "redis": whether each gateway node keeps a copy
	// of the sessions it has checked, which Redis keeps exact (server-assisted
	// client-side caching, broadcasting mode): a request whose session is in
	// the copy is decided without a round trip to Redis, and anything that
	// ends or changes a session on any node reaches every node within one
	// network latency. If the connection to Redis is lost, the copy empties
	// at once and checks fail closed as without it. Works with a single
	// server, Sentinel and Cluster (Redis 6.2 or later). Default: on.
	LocalCache *bool `json:"local_cache,omitempty"`
}

// Settings is the whole configuration of one session_gate handler. Its JSON
// form is the handler's JSON config in Caddy; every field has a default.
type Settings struct {
	// Issuer is the OpenID Connect provider's issuer URL, for example
	// https://idp.example.org/realms/clinic. Required. Discovery document
	// and signing keys are fetched from it.
	Issuer string `json:"issuer,omitempty"`

	// ClientID is the client (application) ID registered at the provider. Required.
	ClientID string `json:"client_id,omitempty"`

	// ClientSecret is the client secret registered at the provider. Use a
	// placeholder such as {env.SESSIONGATE_CLIENT_SECRET} rather than a literal.
	ClientSecret string `json:"client_secret,omitempty"`

	// Scopes requested at sign-in. Default: openid profile email. "openid"
	// is always added if missing.
	Scopes []string `json:"scopes,omitempty"`

	// CookieSecrets seal the session cookie (HMAC-SHA256 and AES-256 keys are
	// derived from them). The first seals new cookies; later ones are still
	// accepted, so a secret can be rotated without signing everybody out.
	// Each must be at least 32 bytes. Required.
	CookieSecrets []string `json:"cookie_secrets,omitempty"`

	// Store selects the session store. Default: memory.
	Store StoreConfig `json:"store,omitempty"`

	// IdleTimeout ends a device's session after this long without user
	// activity. Default 15m.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`

	// AbsoluteTimeout ends a device's session this long after sign-in,
	// whatever the activity. Default 9h.
	AbsoluteTimeout Duration `json:"absolute_timeout,omitempty"`

	// WarnBefore is how long before the idle deadline the banner warns.
	// Default 2m; WCAG 2.2.1 asks for at least 20s. Must be shorter than
	// idle_timeout.
	WarnBefore Duration `json:"warn_before,omitempty"`

	// AbsoluteWarnBefore is how long before the absolute deadline the banner
	// warns. Default 15m. Must be shorter than absolute_timeout.
	AbsoluteWarnBefore Duration `json:"absolute_warn_before,omitempty"`

	// Activity is what resets the idle timer: "navigation" (default: only
	// user-activated navigations and the banner's reports of real input) or
	// "all_requests" (any authenticated request, including background polling).
	Activity string `json:"activity,omitempty"`

	// IdentityHeaders maps request header names sent to the upstream to
	// claim names, for example {"X-Forwarded-User": "sub"}. Copies of these
	// headers sent by the client are always removed.
	IdentityHeaders map[string]string `json:"identity_headers,omitempty"`

	// Banner overrides the warning banner's texts (English defaults).
	Banner BannerTexts `json:"banner,omitempty"`

	// PathPrefix is where the gateway's own endpoints live. Default
	// /.sessiongate. Must start with "/" and not end with "/".
	PathPrefix string `json:"path_prefix,omitempty"`

	// MaxSessions is how many sessions (devices) one user may have at once.
	// When a new sign-in would exceed it, the user's oldest sessions end and
	// their devices are told "your account signed in on another device".
	// 0 (default) is unlimited; 1 allows a single active session.
	MaxSessions int `json:"max_sessions,omitempty"`

	// GroupsClaim is the ID-token/userinfo claim that lists a user's groups,
	// used by group policies and admin_group. Default "groups".
	GroupsClaim string `json:"groups_claim,omitempty"`

	// GroupPolicies are per-group timers, keyed by group name (Caddyfile:
	// `policy <group> { idle_timeout … absolute_timeout … }`). Members of a
	// group get that group's timers instead of the site's; a user in several
	// groups gets the strictest value of each timer. A timer a policy does
	// not set is the site's.
	GroupPolicies map[string]GroupPolicy `json:"policies,omitempty"`

	// AdminGroup is the group whose members may open the admin page
	// ({path_prefix}/admin) to set the organization's absolute timer and to
	// sign a user out everywhere. Empty (default): no admin page.
	AdminGroup string `json:"admin_group,omitempty"`

	// AbsoluteTimeoutChoices are the absolute timeouts managers may choose
	// on the admin page, e.g. 9h 24h 168h. absolute_timeout is always one of
	// them (it is added if missing) and is in force until a manager chooses.
	AbsoluteTimeoutChoices []Duration `json:"absolute_timeout_choices,omitempty"`

	// ProviderLogout makes sign-out (Log out now, {path_prefix}/logout) also
	// end the user's session at the provider through its end_session_endpoint
	// (OpenID Connect RP-Initiated Logout), when the provider advertises one.
	// Default true. Register {origin}{path_prefix}/signed-out as a post-logout
	// redirect URI at the provider.
	ProviderLogout *bool `json:"provider_logout,omitempty"`

	// AccountMenu makes the banner script draw a small account button in a
	// corner of every page, with the user's name, My devices, Switch user and
	// Log out. Default false: the app's pages stay untouched until a warning.
	AccountMenu bool `json:"account_menu,omitempty"`

	// RenewInPlace puts "Continue session" on the absolute warning: the
	// person signs in again in a small window (the provider is asked for the
	// password, prompt=login and max_age=0) and, when it is the same person,
	// a new session with a new absolute window replaces the old one without
	// the page being left: its scroll position and unsaved input stay.
	// Another person's sign-in there reloads the page into their session.
	// Register {origin}{path_prefix}/callback as the redirect URI, as for
	// sign-in. Default true.
	RenewInPlace *bool `json:"renew_in_place,omitempty"`

	// Rescue keeps work a sign-out would lose: when a session ends (idle,
	// absolute, revoked) on a page with input the person typed but did not
	// send, the banner hands it to the gateway, which keeps it sealed in the
	// session store for 15 minutes (at most 64 KiB a page; never password,
	// hidden or file fields). When the same person signs in again and is
	// back on that page, the fields are refilled with a notice and an Undo.
	// Anyone else signing in on that browser discards it. Default true.
	Rescue *bool `json:"rescue,omitempty"`

	// ErrorPages says who answers a page load the gateway refuses: the
	// session store unreachable (503), the identity provider unreachable
	// (503), a failed sign-in (400), a failed CSRF check or a page the user
	// may not open (403), an unknown gateway endpoint (404), a wrong method
	// (405) or a malformed form (400). "gateway" (default): the gateway's own
	// pages. "caddy": the request is handed to the site's error handling, so
	// that a handle_errors block can restyle it ({err.status_code},
	// {err.message}); without one Caddy answers with the bare status. A
	// script's request (the banner, an app's background call) always gets
	// the gateway's JSON.
	ErrorPages string `json:"error_pages,omitempty"`
}

// GroupPolicy is the timers of one group policy; zero values inherit the site's.
type GroupPolicy struct {
	// IdleTimeout for members of the group.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// AbsoluteTimeout for members of the group.
	AbsoluteTimeout Duration `json:"absolute_timeout,omitempty"`
}

// DefaultGroupsClaim is the claim read for group membership when
// groups_claim is not set.
const DefaultGroupsClaim = "groups"

// MaxSessionsLimit bounds max_sessions (a larger value is a typo).
const MaxSessionsLimit = 1000

// RenewInPlaceEnabled reports whether the absolute warning offers
// "Continue session" (renew_in_place).
func (s *Settings) RenewInPlaceEnabled() bool {
	return s.RenewInPlace == nil || *s.RenewInPlace
}

// RescueEnabled reports whether typed input is rescued (rescue).
func (s *Settings) RescueEnabled() bool { return s.Rescue == nil || *s.Rescue }

// ProviderLogoutEnabled reports whether sign-out also ends the provider session.
func (s *Settings) ProviderLogoutEnabled() bool {
	return s.ProviderLogout == nil || *s.ProviderLogout
}

// SetDefaults fills every unset option with its default value.
func (s *Settings) SetDefaults() {
	if len(s.Scopes) == 0 {
		s.Scopes = append([]string(nil), defaultScopes...)
	}
	if !contains(s.Scopes, "openid") {
		s.Scopes = append([]string{"openid"}, s.Scopes...)
	}
	if s.Store.Kind == "" {
		s.Store.Kind = StoreMemory
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	if s.AbsoluteTimeout == 0 {
		s.AbsoluteTimeout = Duration(DefaultAbsoluteTimeout)
	}
	if s.WarnBefore == 0 {
		s.WarnBefore = Duration(min(DefaultWarnBefore, s.IdleTimeout.Std()/2))
	}
	if s.AbsoluteWarnBefore == 0 {
		s.AbsoluteWarnBefore = Duration(min(DefaultAbsoluteWarnBefore, s.AbsoluteTimeout.Std()/2))
	}
	if s.Activity == "" {
		s.Activity = ActivityNavigation
	}
	if s.PathPrefix == "" {
		s.PathPrefix = DefaultPathPrefix
	}
	if s.GroupsClaim == "" {
		s.GroupsClaim = DefaultGroupsClaim
	}
	if s.ErrorPages == "" {
		s.ErrorPages = ErrorPagesGateway
	}
	if s.AdminGroup != "" && !containsDuration(s.AbsoluteTimeoutChoices, s.AbsoluteTimeout) {
		s.AbsoluteTimeoutChoices = append([]Duration{s.AbsoluteTimeout}, s.AbsoluteTimeoutChoices...)
	}
}
