package gateway

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// parseCookieHeader returns the cookies of a request's Cookie header(s) as
// name=value strings, in order.
func parseCookieHeader(h http.Header) []string {
	r := &http.Request{Header: h}
	var out []string
	for _, c := range r.Cookies() {
		out = append(out, c.Name+"="+c.Value)
	}
	return out
}

func TestStripGatewayCookies(t *testing.T) {
	g := &Gateway{}
	appCookies := []string{
		"JSESSIONID=0A1B2C3D4E5F",
		"theme=dark%3Bcontrast",
		"token=YWJjZGVm==",
		`quoted="a b c"`,
		"empty=",
		"sessiongate_other=app-owned",
		"mysessiongate=app-owned",
		"__Secure-app=1",
	}
	gatewayCookies := []string{
		"sessiongate=SEALED.session.value",
		"__Host-sessiongate=SEALED.session.value",
		"sessiongate_login_abcdef012345=SEALED.login",
		"__Host-sessiongate_login_0123456789ab=SEALED.login",
		"sessiongate_seen=SEALED.seen",
		"__Host-sessiongate_seen=SEALED.seen",
	}
	// interleave app and gateway cookies
	var mixed []string
	for i := 0; i < max(len(appCookies), len(gatewayCookies)); i++ {
		if i < len(gatewayCookies) {
			mixed = append(mixed, gatewayCookies[i])
		}
		if i < len(appCookies) {
			mixed = append(mixed, appCookies[i])
		}
	}

	r := newReq("GET", "/")
	r.Header.Set("Cookie", strings.Join(mixed, "; "))
	g.stripGatewayCookies(r)
	got := r.Header.Values("Cookie")
	if len(got) != 1 {
		t.Fatalf("Cookie header lines after stripping: %q, want one", got)
	}
	// each app cookie survives byte for byte, in order
	if want := strings.Join(appCookies, "; "); got[0] != want {
		t.Errorf("Cookie after stripping:\n got %q\nwant %q", got[0], want)
	}
	for _, gc := range gatewayCookies {
		name, _, _ := strings.Cut(gc, "=")
		if _, err := r.Cookie(name); err == nil {
			t.Errorf("gateway cookie %s still sent upstream", name)
		}
	}
}

func TestStripGatewayCookiesSeveralHeaderLines(t *testing.T) {
	// HTTP/2 and HTTP/3 clients may send one cookie per Cookie field.
	g := &Gateway{}
	r := newReq("GET", "/")
	r.Header.Add("Cookie", "a=1")
	r.Header.Add("Cookie", "__Host-sessiongate=x")
	r.Header.Add("Cookie", "b=2;c=3")
	r.Header.Add("Cookie", "sessiongate_login_abc=y; d=4")
	before := parseCookieHeader(r.Header)
	g.stripGatewayCookies(r)
	after := parseCookieHeader(r.Header)
	want := slices.DeleteFunc(before, func(c string) bool {
		return strings.HasPrefix(c, "__Host-sessiongate=") || strings.HasPrefix(c, "sessiongate_login_")
	})
	if !slices.Equal(after, want) || len(after) != 4 {
		t.Errorf("cookies after stripping = %q, want %q", after, want)
	}
}

func TestStripGatewayCookiesOnlyGatewayCookies(t *testing.T) {
	g := &Gateway{}
	r := newReq("GET", "/")
	r.Header.Set("Cookie", "__Host-sessiongate=x; __Host-sessiongate_login_abc=y")
	g.stripGatewayCookies(r)
	if v, ok := r.Header["Cookie"]; ok {
		t.Errorf("Cookie header still present: %q", v)
	}

	// no Cookie header: nothing is added
	r = newReq("GET", "/")
	g.stripGatewayCookies(r)
	if v, ok := r.Header["Cookie"]; ok {
		t.Errorf("Cookie header added: %q", v)
	}

	// only app cookies: the same cookies
	r = newReq("GET", "/")
	r.Header.Set("Cookie", "a=1; b=two; c=%20")
	g.stripGatewayCookies(r)
	if got := r.Header.Get("Cookie"); got != "a=1; b=two; c=%20" {
		t.Errorf("app-only Cookie header changed to %q", got)
	}
}
