package gateway

import (
	"net/http"
	"net/http/httptest"
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
