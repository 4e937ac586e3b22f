package inject

import (
	"net/http"
	"net/url"
	"strings"
)

// srcURL is a URL as CSP source matching sees it.
type srcURL struct {
	scheme, host, port, path string
	sameOrigin               bool // same origin as the page
}

// cspTarget is what the injected script needs from a page's policies.
type cspTarget struct {
	script srcURL
	// scriptSource is a host-source that allows exactly the script
	// ("" when none can be built, e.g. the request has no usable Host).
	scriptSource string
	// connect is ConnectPath on the page's origin (path "" when the
	// script makes no requests); connectSource is its host-source.
	connect       srcURL
	connectSource string
}

// newCSPTarget resolves the script URL and ConnectPath against the request's
// origin: the scheme comes from r.TLS, the host from r.Host.
func (in *Injector) newCSPTarget(r *http.Request) *cspTarget {
	page := srcURL{scheme: "http", sameOrigin: true}
	if r != nil && r.TLS != nil {
		page.scheme = "https"
	}
	hostport := ""
	if r != nil {
		hostport = r.Host
		if hostport == "" && r.URL != nil {
			hostport = r.URL.Host
		}
	}
	origin := ""
	if h, p, ok := splitHostPort(strings.ToLower(hostport), page.scheme); ok {
		page.host, page.port = h, p
		origin = page.scheme + "://" + strings.ToLower(hostport)
	}

	t := &cspTarget{}
	s := in.script
	if s.Host == "" {
		t.script = page
		t.script.path = s.Path
		if origin != "" {
			t.scriptSource = origin + cspPath(s)
		}
	} else {
		scheme := strings.ToLower(s.Scheme)
		if scheme == "" {
			scheme = page.scheme
		}
		if h, p, ok := splitHostPort(strings.ToLower(s.Host), scheme); ok {
			t.script = srcURL{scheme: scheme, host: h, port: p, path: s.Path}
			t.script.sameOrigin = origin != "" && scheme == page.scheme && h == page.host && p == page.port
			t.scriptSource = scheme + "://" + strings.ToLower(s.Host) + cspPath(s)
		}
	}
	if in.connectPath != "" {
		t.connect = page
		t.connect.path = in.connectPath
		if origin != "" {
			t.connectSource = origin + cspPath(&url.URL{Path: in.connectPath})
		}
	}
	return t
}

// cspPath is u's path as a CSP path-part: percent-encoded, including the
// ';' and ',' that would otherwise split the policy.
func cspPath(u *url.URL) string {
	p := u.EscapedPath()
	p = strings.ReplaceAll(p, ";", "%3B")
	return strings.ReplaceAll(p, ",", "%2C")
}

// splitHostPort splits a host[:port] usable in a CSP host-source (a DNS
// name or IPv4 address; CSP cannot name IPv6 literals) and fills in the
// scheme's default port.
func splitHostPort(hostport, scheme string) (host, port string, ok bool) {
	host = hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
		if port == "" {
			return "", "", false
		}
		for _, c := range []byte(port) {
			if c < '0' || c > '9' {
				return "", "", false
			}
		}
	}
	if host == "" {
		return "", "", false
	}
	for _, c := range []byte(host) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return "", "", false
		}
	}
	if port == "" {
		port = defaultPort(scheme)
	}
	return host, port, true
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}
