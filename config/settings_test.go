package config

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	testSecret    = "0123456789abcdef0123456789abcdef-current"
	testOldSecret = "fedcba9876543210fedcba9876543210-older"
)

// validSettings returns a minimal valid configuration with defaults applied.
func validSettings() Settings {
	s := Settings{
		Issuer:        "https://idp.example.org/realms/clinic",
		ClientID:      "ehr-gateway",
		CookieSecrets: []string{testSecret},
	}
	s.SetDefaults()
	return s
}

func TestSettingsDefaults(t *testing.T) {
	var s Settings
	s.SetDefaults()

	if got, want := s.IdleTimeout.Std(), 15*time.Minute; got != want {
		t.Errorf("idle_timeout default = %s, want %s", got, want)
	}
	if got, want := s.AbsoluteTimeout.Std(), 9*time.Hour; got != want {
		t.Errorf("absolute_timeout default = %s, want %s", got, want)
	}
	if got, want := s.WarnBefore.Std(), 2*time.Minute; got != want {
		t.Errorf("warn_before default = %s, want %s", got, want)
	}
	if got, want := s.AbsoluteWarnBefore.Std(), 15*time.Minute; got != want {
		t.Errorf("absolute_warn_before default = %s, want %s", got, want)
	}
	if s.Activity != "navigation" {
		t.Errorf("activity default = %q, want navigation", s.Activity)
	}
	if s.Store.Kind != "memory" {
		t.Errorf("store default = %q, want memory", s.Store.Kind)
	}
	if s.Store.URL != "" {
		t.Errorf("store URL default = %q, want empty", s.Store.URL)
	}
	if s.PathPrefix != "/.sessiongate" {
		t.Errorf("path_prefix default = %q, want /.sessiongate", s.PathPrefix)
	}
	if want := []string{"openid", "profile", "email"}; !slices.Equal(s.Scopes, want) {
		t.Errorf("scopes default = %q, want %q", s.Scopes, want)
	}

	if s.IdleTimeout.Std() != 15*time.Minute || s.AbsoluteTimeout.Std() != 9*time.Hour ||
		s.WarnBefore.Std() != 2*time.Minute || s.AbsoluteWarnBefore.Std() != 15*time.Minute {
		t.Errorf("timer defaults = %s %s %s %s", s.IdleTimeout, s.AbsoluteTimeout, s.WarnBefore, s.AbsoluteWarnBefore)
	}
}

func TestSettingsDefaultsKeepExplicitValues(t *testing.T) {
	s := Settings{
		IdleTimeout:        Duration(30 * time.Minute),
		AbsoluteTimeout:    Duration(12 * time.Hour),
		WarnBefore:         Duration(5 * time.Minute),
		AbsoluteWarnBefore: Duration(time.Hour),
		Activity:           ActivityAllRequests,
		Store:              StoreConfig{Kind: StoreRedis, URL: "redis://127.0.0.1:6379/0"},
		PathPrefix:         "/_gate",
	}
	s.SetDefaults()
	if s.IdleTimeout.Std() != 30*time.Minute || s.AbsoluteTimeout.Std() != 12*time.Hour ||
		s.WarnBefore.Std() != 5*time.Minute || s.AbsoluteWarnBefore.Std() != time.Hour {
		t.Errorf("SetDefaults overwrote explicit timers: %+v", s)
	}
	if s.Activity != ActivityAllRequests || s.Store.Kind != StoreRedis || s.PathPrefix != "/_gate" {
		t.Errorf("SetDefaults overwrote explicit options: %+v", s)
	}
}

func TestSettingsDefaultWarningsFitShortTimeouts(t *testing.T) {
	// A 1m idle timeout cannot have the 2m default warning: the default
	// shrinks so that the defaults are always valid.
	s := Settings{
		Issuer: "https://idp.example.org", ClientID: "c", CookieSecrets: []string{testSecret},
		IdleTimeout: Duration(time.Minute), AbsoluteTimeout: Duration(10 * time.Minute),
	}
	s.SetDefaults()
	if s.WarnBefore.Std() >= s.IdleTimeout.Std() || s.WarnBefore <= 0 {
		t.Errorf("warn_before default %s does not fit idle_timeout %s", s.WarnBefore, s.IdleTimeout)
	}
	if s.AbsoluteWarnBefore.Std() >= s.AbsoluteTimeout.Std() || s.AbsoluteWarnBefore <= 0 {
		t.Errorf("absolute_warn_before default %s does not fit absolute_timeout %s", s.AbsoluteWarnBefore, s.AbsoluteTimeout)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("defaults for short timeouts are invalid: %v", err)
	}
}

func TestSettingsScopesAlwaysIncludeOpenID(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{in: []string{"profile", "email"}, want: []string{"openid", "profile", "email"}},
		{in: []string{"groups"}, want: []string{"openid", "groups"}},
		{in: []string{"email", "openid"}, want: []string{"email", "openid"}},
		{in: []string{"openid"}, want: []string{"openid"}},
	} {
		s := Settings{Scopes: append([]string(nil), tc.in...)}
		s.SetDefaults()
		if !slices.Equal(s.Scopes, tc.want) {
			t.Errorf("scopes %q → %q, want %q", tc.in, s.Scopes, tc.want)
		}
	}
}

func TestSettingsDefaultScopesNotShared(t *testing.T) {
	var a, b Settings
	a.SetDefaults()
	a.Scopes[0] = "changed"
	b.SetDefaults()
	if b.Scopes[0] != "openid" {
		t.Errorf("default scopes are shared between Settings values: %q", b.Scopes)
	}
}

func TestSettingsWarnings(t *testing.T) {
	s := validSettings()
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("defaults give warnings: %q", w)
	}

	s = validSettings()
	s.WarnBefore = Duration(10 * time.Second)
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "warn_before") {
		t.Errorf("10s warn_before: warnings %q, want one about warn_before", w)
	}

	s = validSettings()
	s.Issuer = "http://idp.example.org"
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "http") {
		t.Errorf("plain http issuer: warnings %q, want one about http", w)
	}
	for _, loop := range []string{"http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000"} {
		s = validSettings()
		s.Issuer = loop
		if w := s.Warnings(); len(w) != 0 {
			t.Errorf("loopback issuer %s: warnings %q", loop, w)
		}
	}
}

func TestSettingsJSONRoundTrip(t *testing.T) {
	in := `{
		"issuer": "https://idp.example.org",
		"client_id": "ehr",
		"cookie_secrets": ["` + testSecret + `", "` + testOldSecret + `"],
		"store": {"kind": "redis", "url": "redis://127.0.0.1:6379/0"},
		"idle_timeout": "15m",
		"absolute_timeout": 32400000000000,
		"warn_before": "2m",
		"absolute_warn_before": "1d",
		"activity": "all_requests",
		"identity_headers": {"X-Forwarded-User": "sub"},
		"path_prefix": "/_sg"
	}`
	var s Settings
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.IdleTimeout.Std() != 15*time.Minute || s.AbsoluteTimeout.Std() != 9*time.Hour ||
		s.WarnBefore.Std() != 2*time.Minute || s.AbsoluteWarnBefore.Std() != 24*time.Hour {
		t.Errorf("timers not read: %+v", s)
	}
	if s.Store.Kind != StoreRedis || s.Store.URL != "redis://127.0.0.1:6379/0" || s.IdentityHeaders["X-Forwarded-User"] != "sub" {
		t.Errorf("options not read: %+v", s)
	}
	// absolute_warn_before 1d >= absolute_timeout 9h is invalid
	if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "absolute_warn_before:") {
		t.Errorf("Validate() = %v, want an absolute_warn_before error", err)
	}

	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("re-reading %s: %v", b, err)
	}
	if back.IdleTimeout != s.IdleTimeout || back.AbsoluteTimeout != s.AbsoluteTimeout ||
		back.WarnBefore != s.WarnBefore || back.AbsoluteWarnBefore != s.AbsoluteWarnBefore ||
		!slices.Equal(back.CookieSecrets, s.CookieSecrets) || back.Store != s.Store ||
		back.Activity != s.Activity || back.PathPrefix != s.PathPrefix {
		t.Errorf("round trip changed settings:\n%+v\n%+v", s, back)
	}
	// unset options are left out
	var empty Settings
	b, _ = json.Marshal(empty)
	if strings.Contains(string(b), "idle_timeout") {
		t.Errorf("zero settings marshal to %s; unset durations should be omitted", b)
	}
}
