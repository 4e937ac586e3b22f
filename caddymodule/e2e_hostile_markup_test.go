package caddymodule_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/net/html"

	"github.com/sessiongate/sessiongate/internal/devidp"
	"github.com/sessiongate/sessiongate/internal/testredis"
)

// hostileUser is a provider account whose every claim is markup.
var hostileUser = devidp.User{
	Subject:  `u-</script><img src=x onerror=alert(1)>`,
	Username: "mallory", Password: "pw-mallory",
	Name:   `<script>alert(2)</script> "><img src=x onerror=alert(3)> '><svg/onload=alert(4)> </title><script>alert(5)</script>` + " line\u2028sep\u2029para \r\nX-Injected: 1",
	Email:  `"><svg/onload=alert(6)>@evil.test`,
	Groups: []string{"practice-managers", `<script>alert(7)</script>`},
}

// startHostileStack is startStack with a provider that also has hostileUser.
func startHostileStack(t *testing.T, sites ...site) *stack {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := devidp.New(devidp.Options{Issuer: "http://" + l.Addr().String(), AllowLoopbackRedirects: true,
		Users:   append(devidp.DemoUsers(), hostileUser),
		Clients: []devidp.Client{{ID: testClientID, Secret: testClientSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: idp, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	st := &stack{t: t, idp: idp, app: newUpstream(t), redis: testredis.Start(t), sites: map[string]string{}}
	st.load(sites...)
	t.Cleanup(func() { _ = caddy.Stop() })
	return st
}

// checkHostilePage fails when user input became markup in a gateway page: a
// script without the page's CSP nonce, an injected element, an event
// handler attribute, a link off the site. It returns the page's text.
func checkHostilePage(t *testing.T, what string, resp *http.Response) string {
	t.Helper()
	body := readBody(t, resp)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(csp, "script-src 'nonce-") {
		t.Fatalf("%s: %s %q %q", what, resp.Status, resp.Header.Get("Content-Type"), csp)
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "img", "iframe", "object", "embed", "base":
				t.Errorf("%s: injected <%s>", what, n.Data)
			case "script":
				nonce := ""
				for _, a := range n.Attr {
					if a.Key == "nonce" {
						nonce = a.Val
					}
				}
				if nonce == "" || !strings.Contains(csp, "'nonce-"+nonce+"'") || (n.FirstChild != nil && strings.Contains(n.FirstChild.Data, "alert(")) {
					t.Errorf("%s: a script that is not the page's own", what)
				}
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("%s: injected %s=%q", what, a.Key, a.Val)
				}
				if (a.Key == "href" || a.Key == "action") && !strings.HasPrefix(a.Val, "/") {
					t.Errorf("%s: %s=%q", what, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return text.String()
}

// A user whose name, email, groups and subject are markup, signed in
// through the real provider: text on My devices, the admin page, the
// sign-out confirmation and the signed-out page; valid JSON in /status;
// header-safe upstream.
func TestHostileMarkupInClaimsEndToEnd(t *testing.T) {
	st := startHostileStack(t, site{name: "main", extra: "admin_group practice-managers\n\t\taccount_menu"})
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "mallory", "pw-mallory"), "/")
	// upstream headers: the claims, without the line break
	h := st.app.lastHeader()
	if got := h.Get("X-Forwarded-Name"); strings.ContainsAny(got, "\r\n") || !strings.Contains(got, "<script>alert(2)</script>") ||
		h.Get("X-Injected") != "" {
		t.Errorf("X-Forwarded-Name %q, X-Injected %q", got, h.Get("X-Injected"))
	}
	if got := h.Get("X-Forwarded-User"); got != hostileUser.Subject {
		t.Errorf("X-Forwarded-User %q", got)
	}
	// /status: valid JSON that an HTML parser cannot misread, with the exact name
	resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
	raw := readBody(t, resp)
	var s struct {
		Name    string `json:"name"`
		CSRF    string `json:"csrf"`
		Account struct {
			Name string `json:"name"`
		} `json:"account"`
	}
	if !json.Valid([]byte(raw)) || strings.ContainsAny(raw, "<>&\u2028\u2029") || json.Unmarshal([]byte(raw), &s) != nil ||
		s.Name != hostileUser.Name || s.Account.Name != hostileUser.Name {
		t.Errorf("status: %s", raw)
	}
	// the pages
	name := strings.ReplaceAll(hostileUser.Name, "\r\n", "\n") // HTML parsers normalize CR LF
	if text := checkHostilePage(t, "devices page", b.navigate("/.sessiongate/sessions")); !strings.Contains(text, name) {
		t.Errorf("devices page does not show the name as text: %.500q", text)
	}
	if text := checkHostilePage(t, "logout page", b.navigate("/.sessiongate/logout")); !strings.Contains(text, name) {
		t.Errorf("logout page does not show the name as text")
	}
	resp = b.post("/.sessiongate/admin", url.Values{"csrf": {s.CSRF}, "action": {"policy"}, "absolute": {"9h"}})
	if text := checkHostilePage(t, "admin page", resp); !strings.Contains(text, "Set by "+hostileUser.Subject) {
		t.Errorf("admin page does not show the subject as text: %.500q", text)
	}
	for _, typed := range []string{`"><svg/onload=alert(8)>@nobody.test`, `<script>alert(9)</script>`} {
		resp = b.post("/.sessiongate/admin", url.Values{"csrf": {s.CSRF}, "action": {"revoke"}, "user": {typed}})
		if text := checkHostilePage(t, "admin page, revoking "+typed, resp); !strings.Contains(text, typed) {
			t.Errorf("admin page does not echo %q as text", typed)
		}
	}
	resp = b.post("/.sessiongate/logout", url.Values{"csrf": {s.CSRF}})
	if text := checkHostilePage(t, "signed-out page", resp); !strings.Contains(text, "You have signed out") {
		t.Errorf("signed-out page: %.300q", text)
	}
}
