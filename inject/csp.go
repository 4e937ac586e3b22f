package inject

import (
	"net/http"
	"net/url"
	"strings"
)

// The response headers that carry Content Security Policies.
const (
	headerCSP           = "Content-Security-Policy"
	headerCSPReportOnly = "Content-Security-Policy-Report-Only"
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

// nonceSource hands out one nonce per response, made on first use.
type nonceSource struct {
	value string
	make  func() string
}

func (n *nonceSource) get() string {
	if n.value == "" {
		n.value = n.make()
	}
	return n.value
}

// amendCSP amends every policy in the Content-Security-Policy and
// Content-Security-Policy-Report-Only headers of h so that the injected
// script may load and make its requests. It returns the nonce the script tag
// must carry, or "".
func amendCSP(h http.Header, t *cspTarget, nonces *nonceSource) string {
	for _, key := range [...]string{headerCSP, headerCSPReportOnly} {
		lines := h[key]
		if len(lines) == 0 {
			continue
		}
		var out []string
		for i, line := range lines {
			amended, changed := amendPolicyList(line, t, nonces)
			if !changed {
				continue
			}
			if out == nil {
				out = append([]string(nil), lines...)
			}
			out[i] = amended
		}
		if out != nil {
			h[key] = out
		}
	}
	return nonces.value
}

// amendPolicyList amends each policy of a comma-separated list.
func amendPolicyList(line string, t *cspTarget, nonces *nonceSource) (string, bool) {
	policies := strings.Split(line, ",")
	changed := false
	for i, p := range policies {
		if q, ok := amendPolicy(p, t, nonces); ok {
			policies[i] = q
			changed = true
		}
	}
	if !changed {
		return line, false
	}
	return strings.Join(policies, ","), true
}

// directive is one parsed directive of a policy.
type directive struct {
	index  int      // position in the policy's ';'-separated list
	values []string // source expressions as written
}

// amendPolicy amends one serialized policy; it returns false if nothing had
// to change. Directives other than the one that governs the script load (or
// its requests) are left as they are; when that one is default-src, a
// script-src (connect-src) copied from it is added instead of widening
// default-src for every other fetch directive.
func amendPolicy(policy string, t *cspTarget, nonces *nonceSource) (string, bool) {
	parts := strings.Split(policy, ";")
	dirs := map[string]directive{}
	for i, part := range parts {
		fields := strings.FieldsFunc(part, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
		if len(fields) == 0 {
			continue
		}
		name := strings.ToLower(fields[0])
		if _, dup := dirs[name]; dup {
			continue // only the first occurrence counts
		}
		dirs[name] = directive{index: i, values: fields[1:]}
	}
	changed := false
	var added []string

	// The script element's load.
	for _, name := range [...]string{"script-src-elem", "script-src", "default-src"} {
		d, ok := dirs[name]
		if !ok {
			continue
		}
		source := scriptSourceToAdd(d.values, t, nonces)
		if source == "" {
			break
		}
		if name == "default-src" {
			added = append(added, joinDirective("script-src", withoutNone(d.values), source))
		} else {
			parts[d.index] = amendDirective(parts[d.index], name, d.values, source)
		}
		changed = true
		break
	}

	// The script's requests.
	if t.connect.path != "" && t.connectSource != "" {
		for _, name := range [...]string{"connect-src", "default-src"} {
			d, ok := dirs[name]
			if !ok {
				continue
			}
			if allowsURL(d.values, &t.connect) {
				break
			}
			if name == "default-src" {
				added = append(added, joinDirective("connect-src", withoutNone(d.values), t.connectSource))
			} else {
				parts[d.index] = amendDirective(parts[d.index], name, d.values, t.connectSource)
			}
			changed = true
			break
		}
	}

	if !changed {
		return policy, false
	}
	out := strings.Join(parts, ";")
	if len(added) > 0 {
		trimmed := strings.TrimRight(out, " \t\r\n\f")
		sep := "; "
		if strings.HasSuffix(trimmed, ";") {
			sep = " "
		}
		out = trimmed + sep + strings.Join(added, "; ") + out[len(trimmed):]
	}
	return out, true
}

// scriptSourceToAdd decides what a script-src-like source list needs so that
// the script loads: "" (nothing), a nonce-source, or a host-source.
func scriptSourceToAdd(values []string, t *cspTarget, nonces *nonceSource) string {
	strictDynamic, nonceOrHash, unsafeInline := false, false, false
	for _, v := range values {
		lv := strings.ToLower(v)
		switch {
		case lv == "'strict-dynamic'":
			strictDynamic = true
		case lv == "'unsafe-inline'":
			unsafeInline = true
		case strings.HasPrefix(lv, "'nonce-"), strings.HasPrefix(lv, "'sha256-"),
			strings.HasPrefix(lv, "'sha384-"), strings.HasPrefix(lv, "'sha512-"):
			nonceOrHash = true
		}
	}
	switch {
	case !strictDynamic && allowsURL(values, &t.script):
		return ""
	case strictDynamic:
		// Host-sources and 'unsafe-inline' are ignored next to
		// 'strict-dynamic': a nonce is the only way, and it disables
		// nothing that was not already disabled.
		return "'nonce-" + nonces.get() + "'"
	case nonceOrHash && !unsafeInline:
		return "'nonce-" + nonces.get() + "'"
	case t.scriptSource != "":
		// A nonce would switch off 'unsafe-inline' (and the page's
		// inline scripts with it); allow the script's exact URL instead.
		return t.scriptSource
	case !unsafeInline:
		return "'nonce-" + nonces.get() + "'"
	}
	return "" // nothing safe can be added
}

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

// amendDirective appends source to a directive as written, or rewrites it
// if its only source is 'none' (which other sources would override anyway).
func amendDirective(text, name string, values []string, source string) string {
	kept := withoutNone(values)
	if len(kept) != len(values) {
		lead := text[:len(text)-len(strings.TrimLeft(text, " \t\r\n\f"))]
		trail := text[len(strings.TrimRight(text, " \t\r\n\f")):]
		return lead + joinDirective(name, kept, source) + trail
	}
	trimmed := strings.TrimRight(text, " \t\r\n\f")
	return trimmed + " " + source + text[len(trimmed):]
}

func joinDirective(name string, values []string, source string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, v := range values {
		b.WriteByte(' ')
		b.WriteString(v)
	}
	b.WriteByte(' ')
	b.WriteString(source)
	return b.String()
}

func withoutNone(values []string) []string {
	out := values[:0:0]
	for _, v := range values {
		if !strings.EqualFold(v, "'none'") {
			out = append(out, v)
		}
	}
	return out
}
