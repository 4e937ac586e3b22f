package caddymodule_test

// Hostile input end to end (issue #7, point 5): real Caddy, a real Redis,
// the development provider, and an HTTP client for a browser. The
// gateway-level counterparts, which also count store calls, are in
// gateway/hostile_*_test.go.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

const (
	// the name the gateway seals its login state cookies under (gateway/cookies.go)
	hostileLoginSealName = "sessiongate-login"
	// another site's cookie secret, and the next one of this site
	hostileOtherSiteSecret = "another-site-secret-0123456789abcdef-0123456"
	hostileRotatedSecret   = "rotated-secret-fedcba9876543210fedcba987654"
)

// hostileSetCookie puts a cookie for the browser's site into its jar (MaxAge < 0
// removes it).
func hostileSetCookie(b *browser, name, value string, maxAge int) {
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", MaxAge: maxAge}})
}

// hostileExpectNoSession checks that the browser's current cookies are no session:
// a background request gets 401 with the given error, a navigation goes to
// the provider or the signed-out page, and the app is not reached.
func hostileExpectNoSession(t *testing.T, st *stack, b *browser, wantError string) {
	t.Helper()
	hits := st.app.hits.Load()
	resp := b.background(http.MethodGet, "/api/queue", nil)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"`+wantError+`"`) {
		t.Fatalf("background request: %s %s, want 401 %s", resp.Status, body, wantError)
	}
	resp, err := b.noRedirects().Do(mustReq(t, b, "/chart", navHeaders()))
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !(strings.HasPrefix(loc, st.idp.Issuer()) || strings.Contains(loc, "/.sessiongate/signed-out")) {
		t.Fatalf("navigation: %s to %q", resp.Status, loc)
	}
	if got := st.app.hits.Load(); got != hits {
		t.Fatalf("no session, yet the app was reached %d times", got-hits)
	}
}

// hostileFlip flips one bit in the middle of part i (0 date, 1 value, 2 mac)
// of a sealed value.
func hostileFlip(t *testing.T, v string, i int) string {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.SplitN(raw, []byte("|"), 3)
	if len(parts) != 3 {
		t.Fatalf("sealed value has %d parts", len(parts))
	}
	p := bytes.Clone(parts[i])
	p[len(p)/2] ^= 0x01
	parts[i] = p
	return base64.URLEncoding.EncodeToString(bytes.Join(parts, []byte("|")))
}

// hostileStatus is the browser's /status (which never counts as activity).
func hostileStatus(t *testing.T, b *browser) (code int, s struct {
	LastActivity      int64  `json:"last_activity"`
	AbsoluteExpiresAt int64  `json:"absolute_expires_at"`
	CSRF              string `json:"csrf"`
	Name              string `json:"name"`
}) {
	t.Helper()
	resp := b.background(http.MethodGet, "/.sessiongate/status", nil)
	body := readBody(t, resp)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("status: %v %s", err, body)
		}
	}
	return resp.StatusCode, s
}

// hostileLoginLocation runs a sign-in from path (a gateway URL that redirects to
// the provider) without following the gateway's final redirect, and
// returns that redirect's Location: where the browser goes after sign-in.
func hostileLoginLocation(t *testing.T, b *browser, path, user, password string) string {
	t.Helper()
	nr := b.noRedirects()
	next := b.base + path
	for range 12 {
		resp, err := nr.Do(mustReq(t, b, next, navHeaders()))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Request.URL.Path, devidp.LoginPath) {
			if resp, err = devidp.SubmitLogin(nr, resp, user, password); err != nil {
				t.Fatal(err)
			}
		}
		readBody(t, resp)
		loc := resp.Header.Get("Location")
		if strings.HasSuffix(resp.Request.URL.Path, "/.sessiongate/callback") {
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: %s", resp.Status)
			}
			return loc
		}
		if loc == "" {
			t.Fatalf("sign-in from %.80q stopped at %.120s: %s", path, resp.Request.URL, resp.Status)
		}
		u, err := resp.Request.URL.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		next = u.String()
	}
	t.Fatalf("sign-in from %.80q: too many redirects", path)
	return ""
}

// hostileHref returns the href of the element with the given id.
func hostileHref(t *testing.T, page, id string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var href string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			var isIt bool
			var h string
			for _, a := range n.Attr {
				if a.Key == "id" && a.Val == id {
					isIt = true
				}
				if a.Key == "href" {
					h = a.Val
				}
			}
			if isIt {
				href = h
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if href == "" {
		t.Fatalf("no #%s link in %.400s", id, page)
	}
	return href
}
