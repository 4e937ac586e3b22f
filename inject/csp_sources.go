package inject

import (
	"net/url"
	"strings"
)

// allowsURL reports whether a source list certainly allows u. It errs on the
// side of false: adding a source that was not needed is harmless.
func allowsURL(values []string, u *srcURL) bool {
	for _, v := range values {
		lv := strings.ToLower(v)
		switch {
		case lv == "'self'":
			if u.sameOrigin {
				return true
			}
		case lv == "*":
			if u.scheme == "http" || u.scheme == "https" {
				return true
			}
		case strings.HasPrefix(lv, "'"):
			// other keywords, nonces and hashes
		case isSchemeSource(lv):
			s := lv[:len(lv)-1]
			if s == u.scheme || s == "http" && u.scheme == "https" {
				return true
			}
		default:
			if hostSourceMatches(lv, u) {
				return true
			}
		}
	}
	return false
}

func isSchemeSource(v string) bool {
	if len(v) < 2 || v[len(v)-1] != ':' || !isAlpha(v[0]) {
		return false
	}
	for _, c := range []byte(v[1 : len(v)-1]) {
		if !(isAlpha(c) || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// hostSourceMatches implements host-source matching
// ([scheme://]host[:port][path]) for a lower-cased source expression.
func hostSourceMatches(src string, u *srcURL) bool {
	scheme := ""
	if i := strings.Index(src, "://"); i >= 0 {
		scheme, src = src[:i], src[i+3:]
		if !(scheme == u.scheme || scheme == "http" && u.scheme == "https") {
			return false
		}
	}
	end := strings.IndexAny(src, ":/")
	if end < 0 {
		end = len(src)
	}
	host, rest := src[:end], src[end:]
	switch {
	case host == "*":
	case strings.HasPrefix(host, "*."):
		if !strings.HasSuffix(u.host, host[1:]) {
			return false
		}
	case host != u.host:
		return false
	}
	port := ""
	if strings.HasPrefix(rest, ":") {
		end := strings.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		port, rest = rest[1:end], rest[end:]
	}
	switch port {
	case "":
		if u.port != defaultPort(u.scheme) {
			return false
		}
	case "*":
	default:
		if port != u.port && !(port == "80" && u.port == "443" && scheme == "http") {
			return false
		}
	}
	if rest == "" || rest == "/" {
		return true
	}
	path, err := url.PathUnescape(rest)
	if err != nil {
		return false
	}
	if strings.HasSuffix(path, "/") {
		return strings.HasPrefix(u.path, path)
	}
	return u.path == path
}
