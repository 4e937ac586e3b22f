package config

import (
	"strings"
	"testing"
	"time"
)

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
