package inject

import (
	"net/http"
	"strings"
)

// IsNavigation reports whether r loads a document — a page, a frame or an
// iframe — rather than a script's fetch/XHR or a subresource. It is the one
// navigation test of sessiongate: the gateway uses it to choose between a
// page (a redirect, the signed-out page) and a JSON answer, and the injector
// to choose the responses it may add the banner to.
//
// With Fetch Metadata, r is a navigation when Sec-Fetch-Mode is "navigate"
// (compared without regard to case or surrounding space). Without it, r is
// a navigation when it is a GET that accepts HTML or XHTML and has no
// X-Requested-With (the mark of older scripts' requests).
func IsNavigation(r *http.Request) bool {
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return strings.EqualFold(strings.TrimSpace(mode), "navigate")
	}
	return r.Method == http.MethodGet && acceptsHTML(r.Header) && r.Header.Get("X-Requested-With") == ""
}

// acceptsHTML reports an Accept header that names HTML or XHTML.
func acceptsHTML(h http.Header) bool {
	for _, v := range h.Values("Accept") {
		v = strings.ToLower(v)
		if strings.Contains(v, "text/html") || strings.Contains(v, "application/xhtml+xml") {
			return true
		}
	}
	return false
}
