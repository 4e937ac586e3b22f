package caddymodule_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// hostileLoadWithServerOptions (re)loads Caddy like stack.load, with
// options added to the global servers block.
func hostileLoadWithServerOptions(t *testing.T, st *stack, serverOptions string, sites ...site) {
	t.Helper()
	const anchor = "\tpersist_config off\n"
	cf := st.caddyfile(sites...)
	if !strings.Contains(cf, anchor) {
		t.Fatalf("the harness's global options changed; cannot add servers options to:\n%s", cf)
	}
	cf = strings.Replace(cf, anchor, anchor+"\tservers {\n"+serverOptions+"\t}\n", 1)
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapt: %v (%v)", err, warn)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("load: %v", err)
	}
}

// Identity headers sent by the client never reach the app through Caddy:
// every configured header, in other letter cases, repeated, and spelled
// with underscores or dots, both with Caddy's defaults (which drop
// underscore and dot spellings themselves) and with Caddy told to let
// those spellings through (so that the gateway's own stripping is what
// stops them).
func TestHostileIdentityHeadersEndToEnd(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	configured := map[string]string{"X-Forwarded-User": "u-alice", "X-Forwarded-Email": "alice@clinic.test",
		"X-Forwarded-Groups": "clinicians,front-desk", "X-Forwarded-Name": "Alice Adams"}
	check := func(t *testing.T, single bool) {
		t.Helper()
		req := mustReq(t, b, "/chart", navHeaders())
		for name := range configured {
			under, dot := strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "-", ".")
			// raw keys, sent as written; Caddy drops any allowed underscore or
			// dot header that is repeated, so those are sent once
			for _, key := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
				req.Header[key] = append(req.Header[key], "mallory", "practice-managers")
			}
			for _, key := range []string{under, strings.ToLower(dot)} {
				req.Header[key] = []string{"mallory"}
				if !single {
					req.Header[key] = append(req.Header[key], "practice-managers")
				}
			}
		}
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		expectApp(t, resp, "/chart")
		got := st.app.lastHeader()
		for key, vals := range got {
			fold := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(key))
			for name, want := range configured {
				if fold == strings.ToLower(name) && (key != name || len(vals) != 1 || vals[0] != want) {
					t.Errorf("upstream %s: %q, want only %s: [%q]", key, vals, name, want)
				}
			}
			for _, v := range vals {
				if strings.Contains(v, "mallory") || v == "practice-managers" {
					t.Errorf("spoofed value upstream: %s: %q", key, vals)
				}
			}
		}
		for name := range configured {
			if got.Get(name) == "" {
				t.Errorf("%s missing upstream", name)
			}
		}
	}
	t.Run("Caddy defaults", func(t *testing.T) { check(t, false) })
	var under, dot strings.Builder
	for name := range configured {
		fmt.Fprintf(&under, " %s", strings.ReplaceAll(name, "-", "_"))
		fmt.Fprintf(&dot, " %s", strings.ToLower(strings.ReplaceAll(name, "-", ".")))
	}
	hostileLoadWithServerOptions(t, st, "\t\texpected_underscore_headers"+under.String()+"\n\t\texpected_dot_headers"+dot.String()+"\n",
		site{name: "main"})
	t.Run("underscore and dot spellings let through by Caddy", func(t *testing.T) { check(t, true) })
	// the probe: with that configuration, an unrelated underscore header does reach the app
	req := mustReq(t, b, "/chart", navHeaders())
	req.Header["X_Forwarded_User"] = []string{"mallory"} // allowed by Caddy, stripped by the gateway
	req.Header["X_Sessiongate_Probe"] = []string{"1"}    // not allowed: dropped by Caddy
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	expectApp(t, resp, "/chart")
	if got := st.app.lastHeader(); got.Get("X-Forwarded-User") != "u-alice" || got.Get("X_forwarded_user") != "" || got.Get("X_sessiongate_probe") != "" {
		t.Errorf("upstream: %v", got)
	}
}

// Oversized input through Caddy: a huge rd, a huge Origin, bodies over the
// limit on every POST endpoint: a 4xx (or the harmless default), and the
// session keeps working.
func TestHostileOversizedInputEndToEnd(t *testing.T) {
	st := startStack(t, site{name: "main", extra: "admin_group practice-managers"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "manager", "demo"), "/")
	_, s := hostileStatus(t, b)
	hits := st.app.hits.Load()
	// a 100 KiB rd: Caddy's 16 KiB limit on the request head refuses it before the gateway
	for _, p := range []string{"/.sessiongate/signed-out?reason=idle&rd=", "/.sessiongate/login?rd="} {
		resp := b.navigate(p + url.QueryEscape("/"+strings.Repeat("x", 100<<10)))
		if readBody(t, resp); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with a 100 KiB rd: %s", p, resp.Status)
		}
	}
	// a 12 KiB rd reaches the gateway, which falls back to "/"
	big := "/" + strings.Repeat("x", 12<<10)
	resp := b.navigate("/.sessiongate/signed-out?reason=idle&rd=" + url.QueryEscape(big))
	page := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, "xxxxxxxxxx") {
		t.Errorf("signed-out page with a 12 KiB rd: %s", resp.Status)
	} else if href := hostileHref(t, page, "signin"); !strings.Contains(href, "rd=%2F") || len(href) > 200 {
		t.Errorf("signed-out page with a 12 KiB rd links to %.200q", href)
	}
	if loc := hostileLoginLocation(t, b, "/.sessiongate/login?rd="+url.QueryEscape(big), "manager", "demo"); loc != "/" {
		t.Errorf("login with a 12 KiB rd returns to %.100q", loc)
	}
	_, s = hostileStatus(t, b) // a new session after that sign-in
	over := strings.Repeat("a", 16<<10+1)
	nav := map[string]string{"Origin": b.base, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
	for _, tc := range []struct {
		path string
		hdr  map[string]string
		body string
	}{
		{"/.sessiongate/activity", map[string]string{"Origin": b.base, "X-Sessiongate-CSRF": s.CSRF, "Sec-Fetch-Mode": "cors"}, over},
		{"/.sessiongate/logout", nav, "csrf=" + url.QueryEscape(s.CSRF) + "&pad=" + over},
		{"/.sessiongate/sessions", nav, "action=end_others&csrf=" + url.QueryEscape(s.CSRF) + "&pad=" + over},
		{"/.sessiongate/admin", nav, "action=policy&absolute=off&csrf=" + url.QueryEscape(s.CSRF) + "&pad=" + over},
		{"/.sessiongate/backchannel-logout", nil, "logout_token=" + strings.Repeat("a", 64<<10)},
		{"/.sessiongate/activity", map[string]string{"Origin": b.base + strings.Repeat("a", 64<<10), "X-Sessiongate-CSRF": s.CSRF,
			"Sec-Fetch-Mode": "cors"}, ""},
		{"/.sessiongate/activity", map[string]string{"Origin": b.base, "X-Sessiongate-CSRF": strings.Repeat("a", 64<<10),
			"Sec-Fetch-Mode": "cors"}, ""},
	} {
		hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		resp := b.do(http.MethodPost, tc.path, hdr, strings.NewReader(tc.body))
		body := readBody(t, resp)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s (%d-byte body, %d-byte Origin): %s %.200s", tc.path, len(tc.body), len(tc.hdr["Origin"]), resp.Status, body)
		}
		if code, now := hostileStatus(t, b); code != http.StatusOK || now.LastActivity != s.LastActivity || now.AbsoluteExpiresAt != s.AbsoluteExpiresAt {
			t.Errorf("%s: the refused request changed the session: %d %+v → %+v", tc.path, code, s, now)
		}
	}
	if got := st.app.hits.Load(); got != hits {
		t.Errorf("oversized input reached the app %d times", got-hits)
	}
	expectApp(t, b.navigate("/still-fine"), "/still-fine")
}

// hostileRawGET sends a GET with the request target exactly as given (no client
// normalization) and returns the status and body.
func hostileRawGET(t *testing.T, base, target, cookie string) (int, string) {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nAccept: application/json\r\nSec-Fetch-Mode: cors\r\nConnection: close\r\n\r\n",
		target, u.Host, cookie)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body)
}

// Path tricks on the prefix through Caddy, signed in: none reaches the app,
// none serves a gateway endpoint; only the canonical path does.
func TestHostilePathTricksEndToEnd(t *testing.T) {
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	cookie := "sessiongate=" + b.cookie("sessiongate").Value
	if code, body := hostileRawGET(t, b.base, "/.sessiongate/status", cookie); code != http.StatusOK || !strings.Contains(body, `"authenticated":true`) {
		t.Fatalf("canonical status: %d %s", code, body)
	}
	hits := st.app.hits.Load()
	for _, p := range []string{
		"/%2esessiongate/status", "/%2Esessiongate/status", "/.sessiongate%2Fstatus", "/.sessiongate%2fstatus",
		"/.sessiongate/sta%74us", "//.sessiongate/status", "/.sessiongate//status", "/.SessionGate/status",
		"/.SESSIONGATE/STATUS", "/x/../.sessiongate/status", "/x/%2e%2e/.sessiongate/status", "/.sessiongate/./status",
		"/.sessiongate/status.", "/.sessiongate/status;", "/.sessiongate/status;jsessionid=1", "/.sessiongate;/status",
		"/.sessiongate;jsessionid=1/status", "/.sessiongate./status", "/.sessiongate../status", "/.sessiongate%20/status",
		"/.sessiongate%00/status", "/.sessiongate%5Cstatus", `/.sessiongate\status`, "/.sessiongate", "/.sessiongate.",
		"/.sessiongate;", "/app/.sessiongate/status", "/.sessiongate/status/", "/.sessiongate/status%2F..%2F..%2Fchart",
	} {
		code, body := hostileRawGET(t, b.base, p, cookie)
		if strings.Contains(body, `"authenticated"`) {
			t.Errorf("%s served the status endpoint: %d %.100s", p, code, body)
		}
		if code != http.StatusNotFound && code != http.StatusBadRequest {
			t.Errorf("%s: %d %.100s, want 404 (or 400)", p, code, body)
		}
		if got := st.app.hits.Load(); got != hits {
			t.Fatalf("%s reached the app", p)
		}
	}
}
