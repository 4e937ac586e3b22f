package gateway

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/config"
)

// newReq builds a request with the given headers ("Name: value" pairs).
func newReq(method, target string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			panic("bad header " + h)
		}
		r.Header.Add(name, strings.TrimSpace(value))
	}
	return r
}

const htmlAccept = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestIsActivityNavigationMode(t *testing.T) {
	g := &Gateway{cfg: &config.Settings{Activity: config.ActivityNavigation}}
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		// measured in Chromium 156: see docs/activity.md
		{"address bar, bookmark or reload button", newReq("GET", "/patients",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: document", "Sec-Fetch-Site: none", htmlAccept), true},
		{"link click in the page (the banner reports the click)", newReq("GET", "/patients",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: document", "Sec-Fetch-Site: same-origin", htmlAccept), false},
		{"self-refresh within a click's user activation", newReq("GET", "/dashboard",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: document", "Sec-Fetch-Site: same-origin", htmlAccept), false},
		{"form submission by a click (the banner reports the click)", newReq("POST", "/patients",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: document", "Sec-Fetch-Site: same-origin"), false},
		{"frame refreshing itself after the click that opened it (Nagios)", newReq("GET", "/tac",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: frame", "Sec-Fetch-Site: same-origin"), false},
		{"iframe navigation", newReq("GET", "/frame",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: iframe", "Sec-Fetch-Site: same-origin"), false},
		{"browser-started but not a document", newReq("GET", "/frame",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: iframe", "Sec-Fetch-Site: none"), false},
		{"browser-started without user activation", newReq("GET", "/",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document", "Sec-Fetch-Site: none"), false},
		{"meta refresh / script reload", newReq("GET", "/dashboard",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document", "Sec-Fetch-Site: same-origin", htmlAccept), false},
		{"link from another site", newReq("GET", "/",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: document", "Sec-Fetch-Site: cross-site"), false},
		{"navigate with Sec-Fetch-User ?0", newReq("GET", "/",
			"Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?0", "Sec-Fetch-Site: none", htmlAccept), false},
		{"fetch() polling, mode cors", newReq("GET", "/api/queue",
			"Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: empty", "Sec-Fetch-Site: same-origin", "Accept: application/json"), false},
		{"XHR, mode same-origin", newReq("GET", "/api/queue",
			"Sec-Fetch-Mode: same-origin", "Sec-Fetch-Dest: empty", "X-Requested-With: XMLHttpRequest"), false},
		{"fetch() asking for HTML", newReq("GET", "/partial",
			"Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: empty", htmlAccept), false},
		{"POST fetch", newReq("POST", "/api/save",
			"Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: empty"), false},
		{"image subresource", newReq("GET", "/logo.png",
			"Sec-Fetch-Mode: no-cors", "Sec-Fetch-Dest: image", "Accept: image/avif,image/webp,*/*"), false},
		{"websocket", newReq("GET", "/ws", "Sec-Fetch-Mode: websocket"), false},
		// without Fetch Metadata a self-refresh looks like a person's navigation
		{"no Fetch Metadata: GET accepting HTML", newReq("GET", "/patients", htmlAccept), false},
		{"no Fetch Metadata: GET with X-Requested-With", newReq("GET", "/patients", htmlAccept, "X-Requested-With: XMLHttpRequest"), false},
		{"no Fetch Metadata: POST accepting HTML", newReq("POST", "/patients", htmlAccept), false},
		{"no headers at all", newReq("GET", "/"), false},
	}
	for _, tc := range tests {
		if got := g.isActivity(tc.r); got != tc.want {
			t.Errorf("%s: isActivity = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIsActivityAllRequests(t *testing.T) {
	g := &Gateway{cfg: &config.Settings{Activity: config.ActivityAllRequests}}
	for _, r := range []*http.Request{
		newReq("GET", "/api/queue", "Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: empty"),
		newReq("POST", "/api/save", "Sec-Fetch-Mode: same-origin", "X-Requested-With: XMLHttpRequest"),
		newReq("GET", "/dashboard", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"),
		newReq("GET", "/logo.png", "Sec-Fetch-Mode: no-cors", "Sec-Fetch-Dest: image"),
		newReq("POST", "/form"),
		newReq("GET", "/api", "Accept: application/json"),
		newReq("GET", "/"),
	} {
		if !g.isActivity(r) {
			t.Errorf("all_requests: %s %s %v not counted as activity", r.Method, r.URL, r.Header)
		}
	}
}

func TestIsNavigation(t *testing.T) {
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"navigate", newReq("GET", "/", "Sec-Fetch-Mode: navigate"), true},
		{"navigate POST (form)", newReq("POST", "/", "Sec-Fetch-Mode: navigate"), true},
		{"navigate without Accept", newReq("GET", "/", "Sec-Fetch-Mode: navigate", "Accept: */*"), true},
		{"cors", newReq("GET", "/", "Sec-Fetch-Mode: cors", htmlAccept), false},
		{"same-origin", newReq("GET", "/", "Sec-Fetch-Mode: same-origin", htmlAccept), false},
		{"no-cors", newReq("GET", "/", "Sec-Fetch-Mode: no-cors", htmlAccept), false},
		{"legacy GET html", newReq("GET", "/", htmlAccept), true},
		{"legacy GET xhtml", newReq("GET", "/", "Accept: application/xhtml+xml"), true},
		{"legacy GET html via XHR", newReq("GET", "/", htmlAccept, "X-Requested-With: XMLHttpRequest"), false},
		{"legacy POST html", newReq("POST", "/", htmlAccept), false},
		{"legacy GET json", newReq("GET", "/", "Accept: application/json"), false},
		{"legacy GET no Accept", newReq("GET", "/"), false},
	}
	for _, tc := range tests {
		if got := isNavigation(tc.r); got != tc.want {
			t.Errorf("%s: isNavigation = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIsFrameNavigation(t *testing.T) {
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"iframe navigation", newReq("GET", "/", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: iframe"), true},
		{"frame navigation", newReq("GET", "/", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: frame"), true},
		{"user-activated iframe navigation", newReq("GET", "/", "Sec-Fetch-Mode: navigate", "Sec-Fetch-User: ?1", "Sec-Fetch-Dest: iframe"), true},
		{"top-level document", newReq("GET", "/", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"), false},
		{"navigate without Dest", newReq("GET", "/", "Sec-Fetch-Mode: navigate"), false},
		{"fetch with Dest iframe (not a navigation)", newReq("GET", "/", "Sec-Fetch-Mode: cors", "Sec-Fetch-Dest: iframe"), false},
		{"embed", newReq("GET", "/", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: embed"), false},
		{"legacy HTML GET (no Dest)", newReq("GET", "/", htmlAccept), false},
	}
	for _, tc := range tests {
		if got := isFrameNavigation(tc.r); got != tc.want {
			t.Errorf("%s: isFrameNavigation = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	const https, http_ = "https://gw.example/.sessiongate/logout", "http://gw.example/.sessiongate/logout"
	tests := []struct {
		name   string
		target string
		hdrs   []string
		want   bool
	}{
		{"matching Origin (https)", https, []string{"Origin: https://gw.example"}, true},
		{"matching Origin (http)", http_, []string{"Origin: http://gw.example"}, true},
		{"foreign Origin", https, []string{"Origin: https://evil.example"}, false},
		{"Origin with other scheme", https, []string{"Origin: http://gw.example"}, false},
		{"Origin with other port", https, []string{"Origin: https://gw.example:8443"}, false},
		{"Origin of a subdomain", https, []string{"Origin: https://app.gw.example"}, false},
		{"Origin suffix trick", https, []string{"Origin: https://gw.example.evil.example"}, false},
		{"opaque Origin null", https, []string{"Origin: null"}, false},
		{"foreign Origin beats same-origin Referer", https, []string{"Origin: https://evil.example", "Referer: https://gw.example/page"}, false},
		{"Sec-Fetch-Site same-origin", https, []string{"Sec-Fetch-Site: same-origin"}, true},
		{"Sec-Fetch-Site cross-site", https, []string{"Sec-Fetch-Site: cross-site"}, false},
		{"Sec-Fetch-Site same-site", https, []string{"Sec-Fetch-Site: same-site"}, false},
		{"Sec-Fetch-Site none", https, []string{"Sec-Fetch-Site: none"}, false},
		{"cross-site beats same-origin Referer", https, []string{"Sec-Fetch-Site: cross-site", "Referer: https://gw.example/page"}, false},
		{"Referer from same origin", https, []string{"Referer: https://gw.example/patients?id=7"}, true},
		{"Referer equal to origin", https, []string{"Referer: https://gw.example"}, true},
		{"Referer from another host", https, []string{"Referer: https://evil.example/page"}, false},
		{"Referer host suffix trick", https, []string{"Referer: https://gw.example.evil.example/page"}, false},
		{"Referer userinfo trick", https, []string{"Referer: https://gw.example@evil.example/page"}, false},
		{"Referer with other scheme", https, []string{"Referer: http://gw.example/page"}, false},
		{"no browser signal", https, nil, true},
	}
	for _, tc := range tests {
		r := newReq("POST", tc.target, tc.hdrs...)
		if got := sameOrigin(r); got != tc.want {
			t.Errorf("%s: sameOrigin = %v, want %v", tc.name, got, tc.want)
		}
	}

	// a non-default port is part of the origin
	r := newReq("POST", "https://gw.example:8443/x", "Origin: https://gw.example:8443")
	if !sameOrigin(r) {
		t.Errorf("Origin with matching port rejected")
	}
	r = newReq("POST", "https://gw.example:8443/x", "Origin: https://gw.example")
	if sameOrigin(r) {
		t.Errorf("Origin without the port accepted for a request on :8443")
	}
}

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

func TestDeviceSummary(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			"Chrome on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
			"Edge on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
			"Firefox on Windows"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
			"Firefox on Linux"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			"Chrome on Linux"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			"Safari on macOS"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0",
			"Firefox on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			"Safari on iOS"},
		{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			"Safari on iOS"},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
			"Chrome on Android"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0",
			"Firefox on Android"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			"Chrome on ChromeOS"},
		{"curl/8.5.0", "Unknown browser on unknown OS"},
		{"", "Unknown browser on unknown OS"},
	}
	for _, tc := range tests {
		if got := deviceSummary(tc.ua); got != tc.want {
			t.Errorf("deviceSummary(%q) = %q, want %q", tc.ua, got, tc.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:51234":      "192.0.2.7",
		"[2001:db8::1]:443":    "2001:db8::1",
		"[::1]:8080":           "::1",
		"198.51.100.1":         "198.51.100.1",
		"unix-socket-peer:0":   "unix-socket-peer",
		"[2001:db8::abcd]:1":   "2001:db8::abcd",
		"203.0.113.250:65535":  "203.0.113.250",
		"[fe80::1%eth0]:12345": "fe80::1%eth0",
	} {
		r := newReq("GET", "/")
		r.RemoteAddr = addr
		if got := clientIP(r); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestDeviceSummaryIOSBrowsers(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari/604.1": "Chrome on iOS",
		"Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15":       "Firefox on iOS",
	} {
		if got := deviceSummary(ua); got != want {
			t.Errorf("%s: got %q want %q", ua, got, want)
		}
	}
}
