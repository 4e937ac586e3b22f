package caddymodule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

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
