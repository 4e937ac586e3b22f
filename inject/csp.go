package inject

import (
	"net/http"
	"strings"
)

// The response headers that carry Content Security Policies.
const (
	headerCSP           = "Content-Security-Policy"
	headerCSPReportOnly = "Content-Security-Policy-Report-Only"
)

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
