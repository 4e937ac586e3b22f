package caddymodule

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/config"
)

func TestCaddyfileCompleteBlock(t *testing.T) {
	// reverse_proxy and encode are written before session_gate and there is
	// no `order` line: the directive must order itself after encode and
	// before reverse_proxy.
	text := `{
	admin off
}

clinic.example {
	reverse_proxy 127.0.0.1:8080
	encode gzip
	session_gate {
		issuer {env.SG_ISSUER}
		client_id ehr-gateway
		client_secret {env.SG_CLIENT_SECRET}
		scopes profile email groups
		cookie_secret {env.SG_COOKIE_SECRET} {env.SG_COOKIE_SECRET_OLD}
		store redis redis://10.0.0.5:6379/2 {
			min_replicas 2
			local_cache off
		}
		idle_timeout 20m
		absolute_timeout 10h
		warn_before 90s
		absolute_warn_before 30m
		activity all_requests
		identity_headers {
			X-Forwarded-User sub
			X-Forwarded-Email email
			X-Forwarded-Groups groups
		}
		path_prefix /_gate
		max_sessions 2
		groups_claim roles
		policy front-desk {
			idle_timeout 5m
		}
		policy locums {
			idle_timeout 10m
			absolute_timeout 4h
		}
		admin_group practice-managers
		absolute_timeout_choices 10h 24h 7d
		provider_logout off
		account_menu
		renew_in_place off
		rescue off
		error_pages caddy
	}
}
`
	cfg, err := cfAdapt(t, text)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	hs := cfHandlers(t, cfg)
	names := cfHandlerNames(hs)
	gate := slices.Index(names, "session_gate")
	proxy := slices.Index(names, "reverse_proxy")
	enc := slices.Index(names, "encode")
	if gate < 0 || proxy < 0 || enc < 0 {
		t.Fatalf("handlers %q: want encode, session_gate and reverse_proxy\n%s", names, cfg)
	}
	if !(enc < gate && gate < proxy) {
		t.Errorf("handler order %q: want encode < session_gate < reverse_proxy", names)
	}
	if n := strings.Count(string(cfg), `"handler":"session_gate"`); n != 1 {
		t.Errorf("session_gate appears %d times", n)
	}

	raw, err := json.Marshal(hs[gate])
	if err != nil {
		t.Fatal(err)
	}
	var h Handler
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("session_gate JSON does not decode into Handler: %v\n%s", err, raw)
	}
	s := h.Settings
	checks := []struct {
		field     string
		got, want any
	}{
		{"issuer", s.Issuer, "{env.SG_ISSUER}"},
		{"client_id", s.ClientID, "ehr-gateway"},
		{"client_secret", s.ClientSecret, "{env.SG_CLIENT_SECRET}"},
		{"scopes", strings.Join(s.Scopes, " "), "profile email groups"},
		{"cookie_secrets", strings.Join(s.CookieSecrets, " "), "{env.SG_COOKIE_SECRET} {env.SG_COOKIE_SECRET_OLD}"},
		{"store.kind", s.Store.Kind, config.StoreRedis},
		{"store.url", s.Store.URL, "redis://10.0.0.5:6379/2"},
		{"store.min_replicas", fmt.Sprint(s.Store.MinReplicas != nil && *s.Store.MinReplicas == 2), "true"},
		{"store.local_cache", fmt.Sprint(s.Store.LocalCache != nil && !*s.Store.LocalCache), "true"},
		{"idle_timeout", s.IdleTimeout.Std(), 20 * time.Minute},
		{"absolute_timeout", s.AbsoluteTimeout.Std(), 10 * time.Hour},
		{"warn_before", s.WarnBefore.Std(), 90 * time.Second},
		{"absolute_warn_before", s.AbsoluteWarnBefore.Std(), 30 * time.Minute},
		{"activity", s.Activity, config.ActivityAllRequests},
		{"identity_headers", fmt.Sprint(s.IdentityHeaders), fmt.Sprint(map[string]string{
			"X-Forwarded-User": "sub", "X-Forwarded-Email": "email", "X-Forwarded-Groups": "groups",
		})},
		{"path_prefix", s.PathPrefix, "/_gate"},
		{"max_sessions", s.MaxSessions, 2},
		{"groups_claim", s.GroupsClaim, "roles"},
		{"policies", fmt.Sprint(s.GroupPolicies), fmt.Sprint(map[string]config.GroupPolicy{
			"front-desk": {IdleTimeout: config.Duration(5 * time.Minute)},
			"locums":     {IdleTimeout: config.Duration(10 * time.Minute), AbsoluteTimeout: config.Duration(4 * time.Hour)},
		})},
		{"admin_group", s.AdminGroup, "practice-managers"},
		{"absolute_timeout_choices", fmt.Sprint(s.AbsoluteTimeoutChoices), "[10h0m0s 24h0m0s 168h0m0s]"},
		{"provider_logout", s.ProviderLogoutEnabled(), false},
		{"account_menu", s.AccountMenu, true},
		{"renew_in_place", s.RenewInPlaceEnabled(), false},
		{"rescue", s.RescueEnabled(), false},
		{"error_pages", s.ErrorPages, config.ErrorPagesCaddy},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	// the JSON uses the documented field names
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"issuer", "client_id", "client_secret", "scopes", "cookie_secrets", "store",
		"idle_timeout", "absolute_timeout", "warn_before", "absolute_warn_before", "activity",
		"identity_headers", "path_prefix", "max_sessions", "groups_claim", "policies", "admin_group",
		"absolute_timeout_choices", "provider_logout", "account_menu", "renew_in_place", "rescue", "error_pages"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("session_gate JSON has no %q: %s", f, raw)
		}
	}
}
