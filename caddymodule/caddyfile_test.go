package caddymodule

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
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
