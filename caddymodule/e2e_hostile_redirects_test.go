package caddymodule_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostileReturnPaths are 24 known open-redirect forms.
var hostileReturnPaths = []string{
	"//evil.example", "///evil.example", "////evil.example", `/\evil.example`, `\/evil.example`, `\\evil.example`,
	"/%2F%2Fevil.example", "/%5Cevil.example", "/%2F%5Cevil.example", "https://evil.example/x", "HTTPS://evil.example",
	"http:evil.example", "http:/evil.example", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
	"/\t/evil.example", "/\r\n/evil.example", " //evil.example", "//user:pass@evil.example", "//evil.example@127.0.0.1",
	"evil.example", "/%09/evil.example", "/%0d%0aSet-Cookie:x=1", "/" + strings.Repeat("a", 3000),
}

// hostileSameOrigin reports whether a Location stays on the gateway's
// origin as a browser resolves it.
func hostileSameOrigin(b *browser, loc string) bool {
	base, _ := url.Parse(b.base + "/.sessiongate/callback")
	u, err := base.Parse(loc)
	return err == nil && u.Scheme == base.Scheme && u.Host == base.Host && u.User == nil &&
		strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.ContainsAny(loc, "\\\t\r\n")
}

// Open redirects: 24 known forms through /login?rd= (the redirect after
// sign-in), /signed-out?rd= (its "Sign in again" and "Switch user" links),
// and the original URL kept when an unauthenticated request starts a
// sign-in: all end on this origin.
func TestHostileOpenRedirectsEndToEnd(t *testing.T) {
	if len(hostileReturnPaths) < 15 {
		t.Fatalf("only %d forms", len(hostileReturnPaths))
	}
	st := startStack(t, site{name: "main"})
	b := st.newBrowser("main")
	for _, rd := range hostileReturnPaths {
		// the signed-out page's links
		resp := b.navigate("/.sessiongate/signed-out?reason=idle&rd=" + url.QueryEscape(rd))
		page := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("signed-out page with rd %q: %s", rd, resp.Status)
		}
		for _, id := range []string{"signin", "switch-user"} {
			href := hostileHref(t, page, id)
			u, err := url.Parse(href)
			if err != nil || u.Path != "/.sessiongate/login" || u.Host != "" || u.Query().Get("rd") != "/" {
				t.Errorf("signed-out page with rd %q: %s link %q", rd, id, href)
			}
		}
		// the redirect after sign-in
		if loc := hostileLoginLocation(t, b, "/.sessiongate/login?rd="+url.QueryEscape(rd), "alice", "pw-alice"); loc != "/" {
			t.Errorf("login with rd %q: the callback redirects to %q, want /", rd, loc)
		}
	}
	// the original URL of a request that starts a sign-in (paths only)
	for _, p := range []string{"//evil.example/x", "///evil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "/%09/evil.example",
		"/%0d%0aLocation:%20https://evil.example"} {
		fresh := st.newBrowser("main")
		if loc := hostileLoginLocation(t, fresh, p, "alice", "pw-alice"); !hostileSameOrigin(fresh, loc) {
			t.Errorf("sign-in started at %q returns to %q", p, loc)
		}
	}
}
