package gateway

import (
	"net/url"
	"strings"
)

// maxReturnPath bounds the rd parameter.
const maxReturnPath = 2048

// safeReturnPath accepts only a same-origin absolute path (with optional
// query); anything that a browser could resolve to another origin
// ("//evil", "/\evil", "https://evil", encoded or with control characters)
// yields "/".
func safeReturnPath(rd string) string {
	if !isSafeReturnPath(rd) {
		return "/"
	}
	return rd
}

func isSafeReturnPath(rd string) bool {
	if rd == "" || len(rd) > maxReturnPath || rd[0] != '/' {
		return false
	}
	for _, c := range rd {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	if strings.HasPrefix(rd, "//") {
		return false
	}
	u, err := url.Parse(rd)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// Decoded forms must be just as harmless: /%2F%2Fevil, /%5Cevil.
	dec, err := url.PathUnescape(u.EscapedPath())
	if err != nil || strings.HasPrefix(dec, "//") || strings.ContainsAny(dec, "\\\x00\r\n\t") {
		return false
	}
	return true
}
