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

func TestSettingsValidateAcceptsValid(t *testing.T) {
	s := validSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("minimal settings: %v", err)
	}

	full := Settings{
		Issuer:             "http://127.0.0.1:9000",
		ClientID:           "ehr-gateway",
		ClientSecret:       "s3cret",
		Scopes:             []string{"openid", "groups"},
		CookieSecrets:      []string{testSecret, testOldSecret},
		Store:              StoreConfig{Kind: StoreRedis, URL: "rediss+cluster://a:6379?addr=b:6379"},
		IdleTimeout:        Duration(10 * time.Minute),
		AbsoluteTimeout:    Duration(10 * time.Minute),
		WarnBefore:         Duration(time.Minute),
		AbsoluteWarnBefore: Duration(5 * time.Minute),
		Activity:           ActivityAllRequests,
		IdentityHeaders:    map[string]string{"X-Forwarded-User": "sub", "X_Remote_Groups": "groups"},
		PathPrefix:         "/_sg",
	}
	full.SetDefaults()
	if err := full.Validate(); err != nil {
		t.Fatalf("full settings (idle == absolute allowed): %v", err)
	}

	for _, u := range []string{"redis://127.0.0.1:6379/0", "rediss://h:6380", "redis+cluster://h:1", "unix:///run/redis.sock"} {
		s := validSettings()
		s.Store = StoreConfig{Kind: StoreRedis, URL: u}
		if err := s.Validate(); err != nil {
			t.Errorf("redis URL %q: %v", u, err)
		}
	}
}

func TestSettingsValidateErrors(t *testing.T) {
	short := strings.Repeat("s", MinCookieSecretLength-1)
	tests := []struct {
		name   string
		mutate func(*Settings)
		option string // must appear in the error
		more   string // further text that must appear, optional
	}{
		{"missing issuer", func(s *Settings) { s.Issuer = "" }, "issuer", "required"},
		{"issuer not a URL", func(s *Settings) { s.Issuer = "not a url" }, "issuer", ""},
		{"issuer without scheme", func(s *Settings) { s.Issuer = "idp.example.org/realms/clinic" }, "issuer", ""},
		{"issuer relative path", func(s *Settings) { s.Issuer = "/realms/clinic" }, "issuer", ""},
		{"issuer ftp scheme", func(s *Settings) { s.Issuer = "ftp://idp.example.org" }, "issuer", ""},
		{"issuer with no host", func(s *Settings) { s.Issuer = "https://" }, "issuer", ""},
		{"missing client_id", func(s *Settings) { s.ClientID = "" }, "client_id", "required"},
		{"missing cookie secret", func(s *Settings) { s.CookieSecrets = nil }, "cookie_secret", "required"},
		{"short cookie secret", func(s *Settings) { s.CookieSecrets = []string{short} }, "cookie_secret", "current"},
		{"short old cookie secret", func(s *Settings) { s.CookieSecrets = []string{testSecret, short} }, "cookie_secret", "older secret #1"},
		{"warn_before equal to idle_timeout", func(s *Settings) {
			s.IdleTimeout, s.WarnBefore = Duration(10*time.Minute), Duration(10*time.Minute)
		}, "warn_before", "idle_timeout"},
		{"warn_before longer than idle_timeout", func(s *Settings) {
			s.IdleTimeout, s.WarnBefore = Duration(10*time.Minute), Duration(11*time.Minute)
		}, "warn_before", "idle_timeout"},
		{"negative warn_before", func(s *Settings) { s.WarnBefore = Duration(-time.Second) }, "warn_before", ""},
		{"absolute_warn_before equal to absolute_timeout", func(s *Settings) {
			s.AbsoluteTimeout, s.AbsoluteWarnBefore = Duration(time.Hour), Duration(time.Hour)
		}, "absolute_warn_before", "absolute_timeout"},
		{"absolute_warn_before longer than absolute_timeout", func(s *Settings) {
			s.AbsoluteTimeout, s.AbsoluteWarnBefore = Duration(time.Hour), Duration(2*time.Hour)
		}, "absolute_warn_before", "absolute_timeout"},
		{"idle_timeout longer than absolute_timeout", func(s *Settings) {
			s.IdleTimeout, s.AbsoluteTimeout = Duration(10*time.Hour), Duration(9*time.Hour)
		}, "idle_timeout", "absolute_timeout"},
		{"negative idle_timeout", func(s *Settings) { s.IdleTimeout = Duration(-time.Minute) }, "idle_timeout", "positive"},
		{"negative absolute_timeout", func(s *Settings) { s.AbsoluteTimeout = Duration(-time.Minute) }, "absolute_timeout", "positive"},
		{"bad activity", func(s *Settings) { s.Activity = "clicks" }, "activity", "clicks"},
		{"activity wrong case", func(s *Settings) { s.Activity = "Navigation" }, "activity", ""},
		{"bad store kind", func(s *Settings) { s.Store = StoreConfig{Kind: "etcd"} }, "store", "etcd"},
		{"memory store with URL", func(s *Settings) {
			s.Store = StoreConfig{Kind: StoreMemory, URL: "redis://h:6379"}
		}, "store", ""},
		{"redis without URL", func(s *Settings) { s.Store = StoreConfig{Kind: StoreRedis} }, "store", "URL"},
		{"redis with http scheme", func(s *Settings) {
			s.Store = StoreConfig{Kind: StoreRedis, URL: "http://127.0.0.1:6379"}
		}, "store", "http"},
		{"redis without scheme", func(s *Settings) {
			s.Store = StoreConfig{Kind: StoreRedis, URL: "127.0.0.1:6379"}
		}, "store", ""},
		{"header name with space", func(s *Settings) {
			s.IdentityHeaders = map[string]string{"X Forwarded User": "sub"}
		}, "identity_headers", "X Forwarded User"},
		{"header name with colon", func(s *Settings) {
			s.IdentityHeaders = map[string]string{"X-User:": "sub"}
		}, "identity_headers", ""},
		{"header name with CRLF", func(s *Settings) {
			s.IdentityHeaders = map[string]string{"X-User\r\nX-Admin": "sub"}
		}, "identity_headers", ""},
		{"header name non-ASCII", func(s *Settings) {
			s.IdentityHeaders = map[string]string{"X-Benützer": "sub"}
		}, "identity_headers", ""},
		{"empty header name", func(s *Settings) {
			s.IdentityHeaders = map[string]string{"": "sub"}
		}, "identity_headers", ""},
		{"header without claim", func(s *Settings) {
			s.IdentityHeaders = map[string]string{"X-Forwarded-User": ""}
		}, "identity_headers", "X-Forwarded-User"},
		{"path_prefix without leading slash", func(s *Settings) { s.PathPrefix = ".sessiongate" }, "path_prefix", ""},
		{"path_prefix with trailing slash", func(s *Settings) { s.PathPrefix = "/.sessiongate/" }, "path_prefix", ""},
		{"path_prefix root", func(s *Settings) { s.PathPrefix = "/" }, "path_prefix", ""},
		{"path_prefix with query", func(s *Settings) { s.PathPrefix = "/sg?x=1" }, "path_prefix", ""},
		{"path_prefix with backslash", func(s *Settings) { s.PathPrefix = `/sg\x` }, "path_prefix", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSettings()
			tc.mutate(&s)
			err := s.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %q", tc.option)
			}
			msg := err.Error()
			// The message starts with the option's Caddyfile name.
			if !strings.HasPrefix(msg, tc.option+":") {
				t.Errorf("error %q does not start with %q", msg, tc.option+":")
			}
			if tc.more != "" && !strings.Contains(msg, tc.more) {
				t.Errorf("error %q does not mention %q", msg, tc.more)
			}
		})
	}
}

func TestSettingsValidateDoesNotLeakSecrets(t *testing.T) {
	short := "tooshort-secret-value"
	s := validSettings()
	s.CookieSecrets = []string{short}
	err := s.Validate()
	if err == nil {
		t.Fatal("short secret accepted")
	}
	if strings.Contains(err.Error(), short) {
		t.Errorf("error message reveals the secret: %q", err)
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

func TestDurationUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{`"15m"`, 15 * time.Minute},
		{`"9h"`, 9 * time.Hour},
		{`"1h30m"`, 90 * time.Minute},
		{`"90s"`, 90 * time.Second},
		{`"7d"`, 7 * 24 * time.Hour},
		{`"1d"`, 24 * time.Hour},
		{`" 15m "`, 15 * time.Minute},
		{`900000000000`, 15 * time.Minute},
		{`0`, 0},
	}
	for _, tc := range tests {
		var d Duration
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Errorf("unmarshal %s: %v", tc.in, err)
			continue
		}
		if d.Std() != tc.want {
			t.Errorf("unmarshal %s = %s, want %s", tc.in, d, tc.want)
		}
	}
}

func TestDurationUnmarshalJSONErrors(t *testing.T) {
	for _, in := range []string{
		`"15 minutes"`, `"fifteen"`, `"-5m"`, `"-7d"`, `"-1.5d"`, `"d"`, `"7 d"`, `"1x2d"`,
		`""`, `1.5`, `true`, `null`, `"15m`, `{}`,
	} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("unmarshal %s = %s, want an error", in, d)
		}
	}
}

func TestDurationJSONRoundTrip(t *testing.T) {
	for _, v := range []time.Duration{
		15 * time.Minute, 9 * time.Hour, 2 * time.Minute, 90 * time.Second,
		7 * 24 * time.Hour, 1500 * time.Millisecond, time.Nanosecond, 0,
	} {
		b, err := json.Marshal(Duration(v))
		if err != nil {
			t.Fatalf("marshal %s: %v", v, err)
		}
		if len(b) == 0 || b[0] != '"' {
			t.Errorf("marshal %s = %s, want a JSON string", v, b)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s (from %s): %v", b, v, err)
		}
		if back.Std() != v {
			t.Errorf("round trip %s → %s → %s", v, b, back)
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

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"15m": 15 * time.Minute, "7d": 168 * time.Hour, "30d": 720 * time.Hour,
		"1h30m": 90 * time.Minute, "0": 0, "0d": 0,
		// Caddy's forms (caddy.ParseDuration): fractional days, days with other units
		"1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour, "1h2d": 49 * time.Hour, "0.5d30m": 12*time.Hour + 30*time.Minute,
		"+1d": 24 * time.Hour,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"15 minutes", "-1m", "-1d", "-1.5d", "1.5.5d", "d", "", "7days", strings.Repeat("1", 1025) + "s"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an error", in, got)
		}
	}
}

// A day count too large for a time.Duration must be an error, the way
// time.ParseDuration rejects "5124096h", not wrap around to a small value.
// That holds for negative counts too: "-213503d" must not wrap around to a
// positive 23h34m.
func TestParseDurationDaysOverflow(t *testing.T) {
	for _, in := range []string{"106752d", "213504d", "9999999999d", "-106752d", "-213503d", "-9999999999d"} {
		got, err := ParseDuration(in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an overflow error", in, got)
		}
	}
	// the largest representable whole number of days still works
	if got, err := ParseDuration("106751d"); err != nil || got != 106751*24*time.Hour {
		t.Errorf("ParseDuration(106751d) = %s, %v", got, err)
	}
}

func TestBannerTextsSet(t *testing.T) {
	var b BannerTexts
	if err := b.Set("idle_title", "Still there?"); err != nil || b.IdleTitle != "Still there?" {
		t.Fatalf("%v %q", err, b.IdleTitle)
	}
	if err := b.Set("title", "x"); err == nil || !strings.Contains(err.Error(), "idle_title") {
		t.Fatalf("unknown name must list the known ones: %v", err)
	}
	if err := b.Set("announce", strings.Repeat("x", 501)); err == nil {
		t.Fatal("overlong text accepted")
	}
	if got := b.ScriptTexts(); len(got) != 1 || got["idleTitle"] != "Still there?" {
		t.Fatalf("%v", got)
	}
}
