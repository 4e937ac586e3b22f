package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sessiongate/sessiongate/session"
)

// markup are user-controlled strings that must stay text wherever the
// gateway shows them.
var markup = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(2)>`,
	`'><svg/onload=alert(3)>`,
	`</script><script>alert(4)</script>`,
	`</title></style><script>alert(5)</script>`,
	"line\u2028separator\u2029paragraph",
	`{{.Nonce}}`,
	`javascript:alert(6)`,
	`&lt;b&gt;pre-escaped&amp;`,
	`" onmouseover="alert(7)`,
	`<!-- ]]> <![CDATA[`,
}

var hostileName = strings.Join(markup, " ")

// checkPage parses an HTML page and fails when user input became markup: a
// script without the page's nonce, an injected element, an event handler
// attribute, a javascript: link. It returns the page's text.
func checkPage(t *testing.T, what string, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	csp := w.Header().Get("Content-Security-Policy")
	doc, err := html.Parse(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "img", "iframe", "object", "embed", "base": // (an injected <svg> would need an on* attribute)
				t.Errorf("%s: injected <%s>", what, n.Data)
			case "script":
				nonce := ""
				for _, a := range n.Attr {
					if a.Key == "nonce" {
						nonce = a.Val
					}
				}
				if nonce == "" || !strings.Contains(csp, "'nonce-"+nonce+"'") {
					t.Errorf("%s: a script without the page's nonce", what)
				}
				if n.FirstChild != nil && strings.Contains(n.FirstChild.Data, "alert(") {
					t.Errorf("%s: user input inside a script: %.200s", what, n.FirstChild.Data)
				}
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("%s: injected attribute %s=%q on <%s>", what, a.Key, a.Val, n.Data)
				}
				if (a.Key == "href" || a.Key == "action" || a.Key == "src") && !strings.HasPrefix(a.Val, "/") {
					t.Errorf("%s: %s=%q on <%s> is not a path", what, a.Key, a.Val, n.Data)
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

// User names, emails, groups, subjects, devices and typed names are text on
// every gateway page, valid JSON in /status, and header-safe upstream.
func TestHostileMarkupInNamesAndClaims(t *testing.T) {
	e := newCSRFEnv(t)
	h := e.h
	h.g.cfg.AccountMenu = true
	// the attacker controls their profile at the provider (and so the store)
	evil := &session.Session{Subject: "u-" + markup[3], Name: hostileName, Email: markup[1] + "@evil.test",
		Groups: []string{"practice-managers", markup[0]}, Device: markup[2], IP: markup[1],
		Claims: map[string]string{"department": markup[0]}}
	c := h.signIn(t, evil)
	h.signIn(t, &session.Session{Subject: evil.Subject, Name: hostileName, Device: markup[4], IP: markup[5]})
	// another user the attacker registered under a name full of markup
	named := &session.Session{Subject: "u-named"}
	h.signIn(t, named)
	if err := h.store.Store.RememberUser(context.Background(), named.UserKey, named.Subject,
		[]session.UserName{{Kind: session.NameUsername, Value: markup[0]}}); err != nil {
		t.Fatal(err)
	}
	same := map[string]string{"Origin": "http://gw.test"}

	// My devices
	text := checkPage(t, "devices page", h.serve(hostileRequest("GET", "/.sessiongate/sessions", "", c, click)))
	for _, want := range []string{hostileName, markup[2], markup[4], markup[5]} {
		if !strings.Contains(text, want) {
			t.Errorf("devices page does not show %q as text", want)
		}
	}
	// the sign-out confirmation
	if text := checkPage(t, "logout page", h.serve(hostileRequest("GET", "/.sessiongate/logout", "", c, click))); !strings.Contains(text, hostileName) {
		t.Error("logout page does not show the name as text")
	}
	// the admin page: the manager who set the policy, and typed user names
	csrf := h.g.csrfToken(evil)
	w := h.serve(hostileRequest("POST", "/.sessiongate/admin", "action=policy&absolute=24h&csrf="+url.QueryEscape(csrf), c, same))
	if text := checkPage(t, "admin page after a policy change", w); !strings.Contains(text, "Set by "+evil.Subject) {
		t.Errorf("admin page does not show the subject as text: %.300s", text)
	}
	for _, typed := range []string{markup[1], markup[0], hostileName[:200]} {
		w := h.serve(hostileRequest("POST", "/.sessiongate/admin", "action=revoke&user="+url.QueryEscape(typed)+"&csrf="+url.QueryEscape(csrf), c, same))
		if text := checkPage(t, "admin page after revoking "+typed, w); !strings.Contains(text, strings.TrimSpace(typed)) {
			t.Errorf("admin page does not echo %q as text", typed)
		}
	}
	// /status: valid JSON, nothing that an HTML or JS parser could take for markup
	c = h.signIn(t, &session.Session{Subject: "u-2", Name: hostileName, Groups: []string{"practice-managers"}})
	w = h.serve(hostileRequest("GET", "/.sessiongate/status", "", c, poll))
	raw := w.Body.Bytes()
	if !json.Valid(raw) || bytes.ContainsAny(raw, "<>&") || bytes.Contains(raw, []byte("\u2028")) || bytes.Contains(raw, []byte("\u2029")) {
		t.Errorf("status JSON: %s", raw)
	}
	var st statusBody
	if err := json.Unmarshal(raw, &st); err != nil || st.Name != hostileName || st.Account == nil || st.Account.Name != hostileName {
		t.Errorf("status JSON does not carry the exact name: %+v %v", st, err)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("status headers: %v", w.Header())
	}
	// upstream identity headers: the value, without control characters
	r := hostileRequest("GET", "/chart", "", c, click)
	h.serve(r)
	if got, want := h.seen.Get("X-Forwarded-Name"), headerSafe(hostileName); got != want || strings.ContainsAny(got, "\r\n") {
		t.Errorf("X-Forwarded-Name = %q", got)
	}
	crlf := &session.Session{Subject: "u-3", Name: "Eve\r\nX-Admin: 1", Claims: map[string]string{"department": "a\nb"}}
	h.serve(hostileRequest("GET", "/chart", "", h.signIn(t, crlf), click))
	if h.seen.Get("X-Forwarded-Name") != "EveX-Admin: 1" || h.seen.Get("X-Admin") != "" || h.seen.Get("X-Forwarded-Department") != "ab" {
		t.Errorf("claims with CR/LF upstream: %v", h.seen)
	}

	// the signed-out page and the break-out page reflect the return path
	for _, rd := range []string{"/" + markup[0], "/x" + markup[1], "/" + markup[3], "/\u2028"} {
		w := h.serve(hostileRequest("GET", "/.sessiongate/signed-out?reason=idle&rd="+url.QueryEscape(rd), "", nil, click))
		checkPage(t, "signed-out page with rd "+rd, w)
		if strings.Contains(w.Body.String(), "alert(") && !strings.Contains(w.Body.String(), "alert%28") {
			t.Errorf("signed-out page reflects rd %q unencoded", rd)
		}
	}
	h.clock.Advance(time.Hour)
	for _, p := range []string{"/" + url.PathEscape(markup[3]), "/x%22%3E%3Cimg%20src=x%20onerror=alert(2)%3E", "/%E2%80%A8%3C/script%3E"} {
		r := httptest.NewRequest("GET", "http://gw.test"+p, nil)
		r.AddCookie(c)
		for k, v := range frameNav {
			r.Header.Set(k, v)
		}
		w := h.serve(r)
		checkPage(t, "break-out page for "+p, w)
		body := w.Body.String()
		if strings.Contains(body, "</script><script>") || strings.Contains(body, "\u2028") || strings.Contains(body, "<img") {
			t.Errorf("break-out page for %s: %s", p, body)
		}
	}
	if h.hits != 2 {
		t.Fatalf("app hits = %d, want 2 (the header checks)", h.hits)
	}
}
