package gateway

import (
	"net/http"
	"strings"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/inject"
)

// isNavigation reports whether r loads a page, frame or iframe (as opposed
// to a script's fetch/XHR or a subresource): inject.IsNavigation, the one
// test that the banner injection uses too.
func isNavigation(r *http.Request) bool { return inject.IsNavigation(r) }

// isFrameNavigation reports a navigation inside a frame or iframe.
func isFrameNavigation(r *http.Request) bool {
	d := r.Header.Get("Sec-Fetch-Dest")
	return isNavigation(r) && (d == "frame" || d == "iframe")
}

// isActivity applies the activity rules: only what a person did resets the
// idle timer (see docs/activity.md, measured in Chromium).
//
// Every page and frame navigation a page can start by itself — a Refresh
// header, a meta refresh, location.reload(), location.href, form.submit(),
// history.go(0) — is same-origin, and when it follows a click in the page
// (within the click's user activation, about 5 s) Chromium marks it
// Sec-Fetch-User: ?1 too. So neither the navigation nor ?1 is a witness of a
// person. What a person does in a page is reported by the banner (real
// input events, POST /activity). What a person does in the browser's own UI
// — the address bar, a bookmark, the reload button — never passes through a
// page: Chromium marks those navigations Sec-Fetch-Site: none with
// Sec-Fetch-User: ?1, which no page can cause, and only those count here.
// Browsers without Fetch Metadata: nothing here counts (the banner still
// reports input), since a self-refresh cannot be told apart.
func (g *Gateway) isActivity(r *http.Request) bool {
	if g.cfg.Activity == config.ActivityAllRequests {
		return true
	}
	return isBrowserUINavigation(r)
}

// isBrowserUINavigation reports a top-level navigation the person started in
// the browser's own interface (address bar, bookmark, reload button).
func isBrowserUINavigation(r *http.Request) bool {
	h := r.Header
	return h.Get("Sec-Fetch-Site") == "none" && h.Get("Sec-Fetch-User") == "?1" &&
		h.Get("Sec-Fetch-Mode") == "navigate" && h.Get("Sec-Fetch-Dest") == "document"
}

// markerWouldBeSent reports whether the browser sends this site's SameSite=Lax
// cookies — among them the seen marker — with r: same-origin requests and
// requests the browser's UI started, and top-level GET navigations from
// other sites. A cross-site POST, a cross-site frame or a script's request
// from another site carries none, so the absence of the marker there proves
// nothing (an attacker's auto-submitted form must not use the provider's
// single sign-on session to sign the last user back in).
func markerWouldBeSent(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return sameOrigin(r) && r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "same-site", "cross-site":
		return r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document"
	}
	// no Fetch Metadata: a GET whose Referer is another site may be a frame
	ref := r.Header.Get("Referer")
	return ref == "" || ref == origin(r) || strings.HasPrefix(ref, origin(r)+"/")
}

func isHTTPS(r *http.Request) bool { return r.TLS != nil }

// origin returns scheme://host of the request as the browser sees it.
func origin(r *http.Request) string {
	scheme := "http"
	if isHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// sameOrigin is the Origin/Referer half of the CSRF check.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return o == origin(r)
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return ref == origin(r) || strings.HasPrefix(ref, origin(r)+"/")
	}
	return true // no browser signal at all: the CSRF token alone decides
}

// clientIP is the address of the immediate peer.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// deviceSummary turns a user agent into "Browser on OS".
func deviceSummary(ua string) string {
	browser := "Unknown browser"
	switch {
	case strings.Contains(ua, "Edg/") || strings.Contains(ua, "EdgiOS/"):
		browser = "Edge"
	case strings.Contains(ua, "Firefox/") || strings.Contains(ua, "FxiOS/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/") || strings.Contains(ua, "CriOS/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	}
	osName := "unknown OS"
	switch {
	case strings.Contains(ua, "Windows"):
		osName = "Windows"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		osName = "iOS"
	case strings.Contains(ua, "Mac OS X"):
		osName = "macOS"
	case strings.Contains(ua, "Android"):
		osName = "Android"
	case strings.Contains(ua, "CrOS"):
		osName = "ChromeOS"
	case strings.Contains(ua, "Linux"):
		osName = "Linux"
	}
	return browser + " on " + osName
}
