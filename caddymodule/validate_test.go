package caddymodule_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// badOptions is one table of invalid values, each written both as Caddyfile
// lines and as the handler's JSON fields: both ways of loading a config must
// refuse it and name the option.
var badOptions = []struct {
	option    string
	caddyfile string         // lines inside session_gate { }
	json      map[string]any // fields of the handler's JSON
}{
	{"banner", `banner {
			idle_title "` + strings.Repeat("x", 501) + `"
		}`, map[string]any{"banner": map[string]string{"idle_title": strings.Repeat("x", 501)}}},
	{"banner", "banner {\n\t\t\tlogout_button \"Log\u0007out\"\n\t\t}", map[string]any{"banner": map[string]string{"logout_button": "Log\u0007out"}}},
	{"warn_before", "idle_timeout 5m\n\t\twarn_before 5m", map[string]any{"idle_timeout": "5m", "warn_before": "5m"}},
	{"idle_timeout", "idle_timeout 10h", map[string]any{"idle_timeout": "10h"}},
	{"absolute_warn_before", "absolute_warn_before 10h", map[string]any{"absolute_warn_before": "10h"}},
	{"activity", "activity sometimes", map[string]any{"activity": "sometimes"}},
	{"error_pages", "error_pages nginx", map[string]any{"error_pages": "nginx"}},
	{"max_sessions", "max_sessions -1", map[string]any{"max_sessions": -1}},
	{"store", "store redis ftp://127.0.0.1:6379", map[string]any{"store": map[string]string{"kind": "redis", "url": "ftp://127.0.0.1:6379"}}},
	{"store", "store redis redis://127.0.0.1:6379 {\n\t\t\tmin_replicas -1\n\t\t}", map[string]any{"store": map[string]any{"kind": "redis", "url": "redis://127.0.0.1:6379", "min_replicas": -1}}},
	{"store", "store memory {\n\t\t\tmin_replicas 1\n\t\t}", map[string]any{"store": map[string]any{"kind": "memory", "min_replicas": 1}}},
	{"store", "store memory {\n\t\t\tlocal_cache off\n\t\t}", map[string]any{"store": map[string]any{"kind": "memory", "local_cache": false}}},
	{"path_prefix", "path_prefix gate", map[string]any{"path_prefix": "gate"}},
	{"scopes", `scopes openid "two words"`, map[string]any{"scopes": []string{"openid", "two words"}}},
	{"identity_headers", "identity_headers {\n\t\t\tX-User \"\"\n\t\t}", map[string]any{"identity_headers": map[string]string{"X-User": ""}}},
	{"policy", "policy \"a,b\" {\n\t\t\tidle_timeout 1m\n\t\t}", map[string]any{"policies": map[string]any{"a,b": map[string]string{"idle_timeout": "1m"}}}},
	{"absolute_timeout_choices", "absolute_timeout_choices 24h", map[string]any{"absolute_timeout_choices": []string{"24h"}}},
	{"admin_group", `admin_group "two words"`, map[string]any{"admin_group": "two words"}},
	{"groups_claim", `groups_claim " "`, map[string]any{"groups_claim": " "}},
}

const validSecret = "0123456789abcdef0123456789abcdef-valid"

func TestInvalidOptionsRefusedInCaddyfileAndJSON(t *testing.T) {
	for _, tc := range badOptions {
		t.Run(tc.option, func(t *testing.T) {
			// Caddyfile: adapting (as `caddy validate` and `adapt` do) fails
			// with the option's name, file and line
			cf := "http://127.0.0.1:0 {\n\tsession_gate {\n\t\tissuer http://127.0.0.1:1\n\t\tclient_id gate\n\t\tcookie_secret " +
				validSecret + "\n\t\t" + tc.caddyfile + "\n\t}\n\trespond ok\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
			if err == nil {
				t.Fatalf("Caddyfile accepted:\n%s", cf)
			}
			if !strings.Contains(err.Error(), tc.option) || !regexp.MustCompile(`Caddyfile:\d+`).MatchString(err.Error()) {
				t.Errorf("Caddyfile error does not name %s and its line: %v", tc.option, err)
			}
			// JSON: the same value loaded as JSON fails validation, naming the option
			h := map[string]any{"handler": "session_gate", "issuer": "http://127.0.0.1:1", "client_id": "gate",
				"cookie_secrets": []string{validSecret}}
			for k, v := range tc.json {
				h[k] = v
			}
			raw, err := json.Marshal(map[string]any{"admin": map[string]any{"disabled": true}, "apps": map[string]any{"http": map[string]any{
				"servers": map[string]any{"s": map[string]any{"listen": []string{"127.0.0.1:0"},
					"routes": []any{map[string]any{"handle": []any{h}}}}}}}})
			if err != nil {
				t.Fatal(err)
			}
			var cfg caddy.Config
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatal(err)
			}
			err = caddy.Validate(&cfg)
			if err == nil {
				t.Fatalf("JSON accepted: %s", raw)
			}
			if !strings.Contains(err.Error(), tc.option+":") {
				t.Errorf("JSON error does not name %s: %v", tc.option, err)
			}
		})
	}
}

// TestValidOptionsAcceptedInCaddyfileAndJSON guards the table above: the
// same base config without the bad value loads both ways.
func TestValidOptionsAcceptedInCaddyfileAndJSON(t *testing.T) {
	cf := "http://127.0.0.1:0 {\n\tsession_gate {\n\t\tissuer http://127.0.0.1:1\n\t\tclient_id gate\n\t\tcookie_secret " + validSecret +
		"\n\t\tbanner {\n\t\t\tidle_title \"" + strings.Repeat("x", 500) + "\"\n\t\t}\n\t}\n\trespond ok\n}\n"
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	var cfg caddy.Config
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Admin = &caddy.AdminConfig{Disabled: true}
	if err := caddy.Validate(&cfg); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}

// The README's High availability examples adapt as printed, once the
// options they leave out (issuer, client ID, secret) are added.
func TestReadmeHighAvailabilityExamplesAdapt(t *testing.T) {
	blocks := regexp.MustCompile("(?s)```\n(.*?)```").FindAllStringSubmatch(readmeHighAvailability(t), -1)
	if len(blocks) < 3 {
		t.Fatalf("want the Sentinel, Cluster and min_replicas examples, found %d blocks", len(blocks))
	}
	const required = "\tissuer http://127.0.0.1:1\n\tclient_id gate\n\tcookie_secret " + validSecret + "\n"
	for _, b := range blocks {
		body := b[1]
		if !strings.HasPrefix(body, "session_gate {") {
			body = "session_gate {\n" + body + "}\n"
		}
		body = strings.Replace(body, "session_gate {\n", "session_gate {\n"+required, 1)
		cf := "http://127.0.0.1:0 {\n" + body + "\trespond ok\n}\n"
		if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil); err != nil {
			t.Errorf("the README's example does not adapt: %v\n%s", err, cf)
		}
	}
}
