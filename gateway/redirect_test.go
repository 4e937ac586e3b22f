package gateway

import (
	"net/url"
	"strings"
	"testing"
)

// redirectBypasses are return paths that a browser could resolve to another
// origin (or that are not plain same-origin paths at all); safeReturnPath
// must turn each into "/".
var redirectBypasses = []string{
	"//evil.example",
	"//evil.example/",
	"//evil.example/path?x=1",
	`/\evil.example`,
	`\/evil.example`,
	`\\evil.example`,
	"https://evil.example",
	"https://evil.example/",
	"http:evil.example",
	"http:/evil.example",
	"HTTPS://evil.example",
	"///evil.example",
	"////evil.example",
	"/%2F%2Fevil.example",
	"/%2f%2fevil",
	"/%2F/evil.example",
	"/%5Cevil.example",
	"/%5cevil.example",
	"/%2F%5Cevil.example",
	"javascript:alert(1)",
	"JavaScript:alert(document.cookie)",
	"data:text/html,<script>alert(1)</script>",
	"//evil.example/%2e%2e",
	"/\t/evil.example",
	"/\r/evil.example",
	"/\n/evil.example",
	"/\x00/evil.example",
	"/\x7f/evil.example",
	"/foo\tbar",
	"/\x0b/evil.example",
	" /evil",
	" //evil",
	"\t//evil.example",
	"/.sessiongate/../\\evil",
	"/a/..\\..\\evil.example",
	"//@evil",
	"//user:pass@evil.example",
	"/%09/evil.example",
	"/%0d%0a/evil.example",
	"/%0D%0ASet-Cookie:x=1",
	"/%00",
	"/%zz",
	"",
	"evil.example",
	"evil.example/path",
	"?next=/",
	"#/",
	".",
	"../evil",
	"/" + strings.Repeat("a", 3000),
	"/?" + strings.Repeat("q", 3000),
}

// redirectKeepers are legitimate same-origin paths that must pass unchanged.
var redirectKeepers = []string{
	"/",
	"/patients?id=7&x=1",
	"/a/b/c",
	"/a/b/c/",
	"/search?q=%2F%2F",
	"/search?q=//evil.example",
	"/search?q=https://evil.example",
	"/path#frag?",
	"/path#//evil.example",
	"/patients/7/notes?sort=desc#latest",
	"/caf%C3%A9",
	"/café",
	"/a%20b",
	"/.well-known/thing",
	"/a:b",
	"/@user",
	"/" + strings.Repeat("a", 2000),
}

func TestSafeReturnPathRejectsBypasses(t *testing.T) {
	if len(redirectBypasses) < 20 {
		t.Fatalf("only %d bypass forms", len(redirectBypasses))
	}
	for _, rd := range redirectBypasses {
		if got := safeReturnPath(rd); got != "/" {
			t.Errorf("safeReturnPath(%q) = %q, want \"/\"", rd, got)
		}
	}
}

func TestSafeReturnPathKeepsLegitimatePaths(t *testing.T) {
	for _, rd := range redirectKeepers {
		if got := safeReturnPath(rd); got != rd {
			t.Errorf("safeReturnPath(%q) = %q, want it unchanged", rd, got)
		}
	}
}

func TestSafeReturnPathLengthLimit(t *testing.T) {
	atLimit := "/" + strings.Repeat("x", maxReturnPath-1)
	if got := safeReturnPath(atLimit); got != atLimit {
		t.Errorf("a %d-byte path was rejected", len(atLimit))
	}
	over := atLimit + "x"
	if got := safeReturnPath(over); got != "/" {
		t.Errorf("a %d-byte path was accepted", len(over))
	}
}

// browserView approximates how a WHATWG URL parser reads a reference before
// resolving it: leading/trailing C0 controls and spaces are stripped, tab and
// newlines removed anywhere, and backslashes treated as slashes (for http(s)
// bases). It reports whether the browser would see a scheme or a host.
func browserLeavesOrigin(ref string) bool {
	s := strings.TrimFunc(ref, func(r rune) bool { return r <= 0x20 })
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, s)
	if strings.HasPrefix(s, "//") {
		return true
	}
	// a scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" before any / ? #
	for i, c := range s {
		switch {
		case c == ':':
			return i > 0
		case c == '/' || c == '?' || c == '#':
			return false
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return false
}

func checkReturnPathProperty(t *testing.T, rd string) {
	t.Helper()
	got := safeReturnPath(rd)
	if got != "/" && got != rd {
		t.Fatalf("safeReturnPath(%q) = %q: neither \"/\" nor the input", rd, got)
	}
	base, err := url.Parse("https://gw.example/x")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := url.Parse(got)
	if err != nil {
		t.Fatalf("safeReturnPath(%q) = %q, which does not parse: %v", rd, got, err)
	}
	res := base.ResolveReference(ref)
	if res.Scheme != "https" || res.Host != "gw.example" || res.User != nil {
		t.Fatalf("safeReturnPath(%q) = %q resolves to %s, off gw.example", rd, got, res)
	}
	// and the resolved URL, written out and read again, stays there too
	again, err := url.Parse(res.String())
	if err != nil || again.Host != "gw.example" {
		t.Fatalf("safeReturnPath(%q) = %q resolves to %q, which re-parses to host %v (%v)", rd, got, res.String(), again, err)
	}
	if browserLeavesOrigin(got) {
		t.Fatalf("safeReturnPath(%q) = %q, which a browser may resolve to another origin", rd, got)
	}
	if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
		t.Fatalf("safeReturnPath(%q) = %q is not a path-absolute reference", rd, got)
	}
}

func TestSafeReturnPathProperty(t *testing.T) {
	for _, rd := range append(append([]string(nil), redirectBypasses...), redirectKeepers...) {
		checkReturnPathProperty(t, rd)
	}
}

// The browser model itself must flag the classic forms, or the fuzz
// property would be vacuous.
func TestBrowserLeavesOriginModel(t *testing.T) {
	for _, s := range []string{"//evil", `/\evil`, `\/evil`, "https://evil", "http:evil", " //evil", "/\t/evil", "javascript:alert(1)"} {
		if !browserLeavesOrigin(s) {
			t.Errorf("browserLeavesOrigin(%q) = false", s)
		}
	}
	for _, s := range []string{"/", "/a/b", "/a:b", "/search?q=//x", "/#//x"} {
		if browserLeavesOrigin(s) {
			t.Errorf("browserLeavesOrigin(%q) = true", s)
		}
	}
}

func FuzzSafeReturnPath(f *testing.F) {
	for _, rd := range redirectBypasses {
		f.Add(rd)
	}
	for _, rd := range redirectKeepers {
		f.Add(rd)
	}
	f.Fuzz(func(t *testing.T, rd string) {
		checkReturnPathProperty(t, rd)
	})
}
