package caddymodule

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/sessiongate/sessiongate/config"
)

// Tests in this file use the internal package so that their helper names
// cannot collide with the end-to-end tests in package caddymodule_test.

const cfLiteralSecret = "0123456789abcdef0123456789abcdef-literal"

func cfAdapt(t *testing.T, text string) ([]byte, error) {
	t.Helper()
	adapter := caddyconfig.GetAdapter("caddyfile")
	if adapter == nil {
		t.Fatal("caddyfile adapter not registered")
	}
	out, _, err := adapter.Adapt([]byte(text), nil)
	return out, err
}

// cfHandlers lists every handler object of an adapted config in document
// order (depth first, arrays in order).
func cfHandlers(t *testing.T, cfg []byte) []map[string]any {
	t.Helper()
	var root any
	if err := json.Unmarshal(cfg, &root); err != nil {
		t.Fatalf("adapted config is not JSON: %v\n%s", err, cfg)
	}
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["handler"].(string); ok {
				out = append(out, v)
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(v[k])
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(root)
	return out
}

func cfHandlerNames(hs []map[string]any) []string {
	var names []string
	for _, h := range hs {
		names = append(names, h["handler"].(string))
	}
	return names
}

func TestCaddyfileModuleRegistered(t *testing.T) {
	info, err := caddy.GetModule("http.handlers.session_gate")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.New().(*Handler); !ok {
		t.Errorf("module New() returns %T, want *Handler", info.New())
	}
}

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
		store redis redis://10.0.0.5:6379/2
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
		"absolute_timeout_choices", "provider_logout", "account_menu"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("session_gate JSON has no %q: %s", f, raw)
		}
	}
}

func TestCaddyfileMinimalBlockLeavesDefaultsToProvision(t *testing.T) {
	text := `example.com {
	session_gate {
		issuer https://idp.example.org/realms/clinic
		client_id ehr
		cookie_secret ` + cfLiteralSecret + `
	}
	reverse_proxy 127.0.0.1:8080
}
`
	cfg, err := cfAdapt(t, text)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	hs := cfHandlers(t, cfg)
	i := slices.Index(cfHandlerNames(hs), "session_gate")
	if i < 0 {
		t.Fatalf("no session_gate handler in %s", cfg)
	}
	for _, f := range []string{"idle_timeout", "absolute_timeout", "warn_before", "activity", "path_prefix"} {
		if _, ok := hs[i][f]; ok {
			t.Errorf("unset option %s written into the JSON: %v", f, hs[i])
		}
	}
	if got := hs[i]["cookie_secrets"]; fmt.Sprint(got) != "["+cfLiteralSecret+"]" {
		t.Errorf("cookie_secrets = %v", got)
	}
}

func TestCaddyfileOrdersBeforeHandleBlocks(t *testing.T) {
	text := `example.com {
	handle /api/* {
		reverse_proxy 127.0.0.1:8081
	}
	handle {
		reverse_proxy 127.0.0.1:8080
	}
	header X-Frame-Options DENY
	session_gate {
		issuer https://idp.example.org
		client_id ehr
		cookie_secret ` + cfLiteralSecret + `
	}
}
`
	cfg, err := cfAdapt(t, text)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	names := cfHandlerNames(cfHandlers(t, cfg))
	gate := slices.Index(names, "session_gate")
	if gate < 0 {
		t.Fatalf("no session_gate in %q", names)
	}
	for i, n := range names {
		if n == "reverse_proxy" && i < gate {
			t.Errorf("reverse_proxy #%d comes before session_gate: %q", i, names)
		}
	}
	if hdr := slices.Index(names, "headers"); hdr < 0 || hdr > gate {
		t.Errorf("header should run before session_gate: %q", names)
	}
}

// cfBadCase is a session_gate block with one mistake. The line holding the
// mistake is marked with a "# <-" comment; "" for a missing option.
type cfBadCase struct {
	name   string
	option string   // must appear in the error
	body   []string // lines inside session_gate { }
}

var cfBadCases = []cfBadCase{
	{"negative max_sessions", "max_sessions", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"max_sessions -1 # <-",
	}},
	{"max_sessions not a number", "max_sessions", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"max_sessions one # <-",
	}},
	{"policy idle not above warn_before", "policy", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"warn_before 2m", "policy front-desk { # <-", "idle_timeout 1m", "}",
	}},
	{"policy without timers", "policy", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"policy front-desk { # <-", "}",
	}},
	{"policy unknown option", "policy", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"policy front-desk {", "warn_before 1m # <-", "}",
	}},
	{"policy without group", "policy", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"policy { # <-", "idle_timeout 1m", "}",
	}},
	{"choices without admin_group", "absolute_timeout_choices", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"absolute_timeout_choices 9h 24h # <-",
	}},
	{"choice shorter than idle", "absolute_timeout_choices", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"admin_group managers", "absolute_timeout_choices 5m 24h # <-",
	}},
	{"provider_logout bad value", "provider_logout", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"provider_logout maybe # <-",
	}},
	{"unknown option", "bogus_option", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"bogus_option 1 # <-",
	}},
	{"warn_before equal to idle_timeout", "warn_before", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"idle_timeout 10m", "warn_before 10m # <-", "activity navigation",
	}},
	{"warn_before longer than idle_timeout", "warn_before", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"warn_before 20m # <-", "idle_timeout 15m",
	}},
	{"idle_timeout longer than absolute_timeout", "idle_timeout", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"idle_timeout 10h # <-", "absolute_timeout 9h", "path_prefix /_gate",
	}},
	{"absolute_warn_before not shorter than absolute_timeout", "absolute_warn_before", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"absolute_timeout 1h", "absolute_warn_before 1h # <-", "idle_timeout 10m",
	}},
	{"short literal cookie secret", "cookie_secret", []string{
		"issuer https://idp.example.org", "client_id ehr",
		"cookie_secret short-secret # <-", "idle_timeout 10m",
	}},
	{"short literal older cookie secret", "cookie_secret", []string{
		"issuer https://idp.example.org", "client_id ehr",
		"cookie_secret {env.SG_SECRET} short-old # <-", "idle_timeout 10m",
	}},
	{"bad activity", "activity", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"activity clicks # <-", "idle_timeout 10m",
	}},
	{"store redis without URL", "store", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"store redis # <-", "idle_timeout 10m",
	}},
	{"store bogus", "store", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"store bogus # <-", "idle_timeout 10m",
	}},
	{"store redis with bad URL scheme", "store", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"store redis http://10.0.0.5:6379 # <-", "idle_timeout 10m",
	}},
	{"duration with a space", "idle_timeout", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"idle_timeout 15 minutes # <-", "activity navigation",
	}},
	{"quoted duration with a space", "idle_timeout", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		`idle_timeout "15 minutes" # <-`, "activity navigation",
	}},
	{"duration without unit", "warn_before", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"warn_before 2 # <-", "activity navigation",
	}},
	{"negative duration", "absolute_timeout", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"absolute_timeout -9h # <-", "activity navigation",
	}},
	{"option without value", "client_id", []string{
		"issuer https://idp.example.org", "client_id # <-", "cookie_secret {env.SG_SECRET}",
	}},
	{"option with two values", "issuer", []string{
		"issuer https://a.example https://b.example # <-", "client_id ehr", "cookie_secret {env.SG_SECRET}",
	}},
	{"issuer not a URL", "issuer", []string{
		"issuer idp.example.org # <-", "client_id ehr", "cookie_secret {env.SG_SECRET}", "activity navigation",
	}},
	{"bad identity header name", "identity_headers", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"identity_headers {", "\tX-User: sub # <-", "}", "activity navigation",
	}},
	{"bad path_prefix", "path_prefix", []string{
		"issuer https://idp.example.org", "client_id ehr", "cookie_secret {env.SG_SECRET}",
		"path_prefix /_gate/ # <-", "activity navigation",
	}},
	{"missing issuer", "issuer", []string{
		"client_id ehr", "cookie_secret {env.SG_SECRET}", "idle_timeout 10m",
	}},
	{"missing client_id", "client_id", []string{
		"issuer https://idp.example.org", "cookie_secret {env.SG_SECRET}", "idle_timeout 10m",
	}},
	{"missing cookie_secret", "cookie_secret", []string{
		"issuer https://idp.example.org", "client_id ehr", "idle_timeout 10m",
	}},
}

// cfBadText builds the Caddyfile for c and returns it with the line of the
// marked mistake (0 if none) and the first and last line of the
// session_gate block.
func cfBadText(c cfBadCase) (text string, markLine, first, last int) {
	var b strings.Builder
	b.WriteString("example.com {\n")    // line 1
	b.WriteString("\tsession_gate {\n") // line 2
	line := 2
	for _, l := range c.body {
		line++
		if strings.Contains(l, "# <-") {
			markLine = line
		}
		b.WriteString("\t\t" + l + "\n")
	}
	line++
	b.WriteString("\t}\n")
	last = line
	b.WriteString("\treverse_proxy 127.0.0.1:8080\n}\n")
	return b.String(), markLine, 2, last
}

var cfLineRE = regexp.MustCompile(`Caddyfile:(\d+)`)

func TestCaddyfileInvalidOptions(t *testing.T) {
	for _, c := range cfBadCases {
		t.Run(c.name, func(t *testing.T) {
			text, _, first, last := cfBadText(c)
			cfg, err := cfAdapt(t, text)
			if err == nil {
				t.Fatalf("adapted without error:\n%s\n%s", text, cfg)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.option) {
				t.Errorf("error %q does not name %s", msg, c.option)
			}
			m := cfLineRE.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("error %q does not give the Caddyfile line", msg)
			}
			n, _ := strconv.Atoi(m[1])
			if n < first || n > last {
				t.Errorf("error %q points at line %d, outside the session_gate block (lines %d-%d)", msg, n, first, last)
			}
		})
	}
}

// An error about one option should point at that option's line, not at the
// end of the block: `caddy adapt` output is how operators find the mistake.
func TestCaddyfileErrorLinePointsAtOption(t *testing.T) {
	for _, c := range cfBadCases {
		text, mark, _, _ := cfBadText(c)
		if mark == 0 {
			continue // a missing option has no line of its own
		}
		t.Run(c.name, func(t *testing.T) {
			_, err := cfAdapt(t, text)
			if err == nil {
				t.Fatal("adapted without error")
			}
			want := fmt.Sprintf("Caddyfile:%d", mark)
			if m := cfLineRE.FindString(err.Error()); m != want {
				t.Errorf("error %q points at %s, want %s (the marked line, about %s)", err, m, want, c.option)
			}
		})
	}
}

func TestCaddyfileDirectiveTakesNoArguments(t *testing.T) {
	text := `example.com {
	session_gate extra {
		issuer https://idp.example.org
		client_id ehr
		cookie_secret ` + cfLiteralSecret + `
	}
	reverse_proxy 127.0.0.1:8080
}
`
	_, err := cfAdapt(t, text)
	if err == nil || !strings.Contains(err.Error(), "Caddyfile:2") {
		t.Errorf("session_gate with an argument: %v, want an error at Caddyfile:2", err)
	}
}

func TestCaddyfilePlaceholdersAreNotValidatedAsLiterals(t *testing.T) {
	// A placeholder secret is checked at provision time, when its value is
	// known; at adapt time it must not fail the length check, and neither
	// must placeholder issuer, client_id or redis URL.
	text := `example.com {
	session_gate {
		issuer {env.SG_ISSUER}
		client_id {env.SG_CLIENT_ID}
		cookie_secret {env.SG_SECRET}
		store redis {env.SG_REDIS_URL}
	}
	reverse_proxy 127.0.0.1:8080
}
`
	if _, err := cfAdapt(t, text); err != nil {
		t.Errorf("placeholders rejected at adapt time: %v", err)
	}
	// but a literal value next to a placeholder is still checked
	bad := strings.Replace(text, "cookie_secret {env.SG_SECRET}", "cookie_secret {env.SG_SECRET} too-short", 1)
	if _, err := cfAdapt(t, bad); err == nil || !strings.Contains(err.Error(), "cookie_secret") {
		t.Errorf("short literal older secret next to a placeholder: %v", err)
	}
}
