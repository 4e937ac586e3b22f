package gateway

import (
	"net/http"
	"strings"
)

// cookieGuard keeps the app from setting the gateway's own cookies: it drops
// every Set-Cookie the upstream sends for a gateway cookie name (sessiongate,
// the seen marker, the ID-token and sign-in state cookies), so an app (or
// whoever controls its responses) cannot plant a session cookie, a marker or
// a login state in the browser. The gateway's own Set-Cookie lines, added
// before the upstream answered, stay.
type cookieGuard struct {
	http.ResponseWriter
	own     int // Set-Cookie lines the gateway itself added before next
	written bool
}

func guardCookies(w http.ResponseWriter) *cookieGuard {
	return &cookieGuard{ResponseWriter: w, own: len(w.Header().Values("Set-Cookie"))}
}

// WriteHeader filters the upstream's Set-Cookie lines, then writes.
func (c *cookieGuard) WriteHeader(code int) {
	if !c.written {
		c.filter()
	}
	if code >= 200 {
		c.written = true
	}
	c.ResponseWriter.WriteHeader(code)
}

// Write writes the header first, as net/http does.
func (c *cookieGuard) Write(b []byte) (int, error) {
	if !c.written {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush,
// hijack for WebSockets, deadlines).
func (c *cookieGuard) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *cookieGuard) filter() {
	h := c.ResponseWriter.Header()
	lines := h["Set-Cookie"]
	if len(lines) <= c.own {
		return
	}
	kept := lines[:c.own:c.own]
	for _, line := range lines[c.own:] {
		if !isGatewayCookie(setCookieName(line)) {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
}

// setCookieName is the cookie name of a Set-Cookie line, trimmed the way
// browsers trim it.
func setCookieName(line string) string {
	pair, _, _ := strings.Cut(line, ";")
	name, _, _ := strings.Cut(pair, "=")
	return strings.TrimSpace(name)
}
