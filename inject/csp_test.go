package inject

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	scriptSrcTLS  = "https://app.example.com/.sessiongate/banner.js"
	connectSrcTLS = "https://app.example.com/.sessiongate/"
	nonceSrc      = "'nonce-TESTNONCE'"
)

func cspRequest(host string, useTLS bool) *http.Request {
	r := httptest.NewRequest("GET", "/page", nil)
	r.Host = host
	if useTLS {
		r.TLS = &tls.ConnectionState{}
	} else {
		r.TLS = nil
	}
	return r
}

func TestAmendCSP(t *testing.T) {
	cases := []struct {
		name      string
		policy    string
		want      string // "" means unchanged
		wantNonce bool
	}{
		{"self allows script and fetches", "script-src 'self'; connect-src 'self'", "", false},
		{"default-src self", "default-src 'self'", "", false},
		{"no fetch directives", "frame-ancestors 'none'; report-uri /csp", "", false},
		{"only script-src, no connect/default", "script-src 'self' https://cdn.example.com; img-src *", "", false},
		{"wildcard", "default-src *", "", false},
		{"scheme source", "default-src https:", "", false},
		{"http scheme source upgrades", "default-src http:", "", false},
		{"matching host-source", "default-src https://app.example.com", "", false},
		{"matching host-source wildcard host", "default-src *.example.com:443", "", false},
		{"matching path prefix", "script-src https://app.example.com/.sessiongate/; connect-src https://app.example.com/.sessiongate/", "", false},
		{"strict-dynamic ignores self",
			"script-src 'self' 'strict-dynamic' 'nonce-abc'; connect-src 'self'",
			"script-src 'self' 'strict-dynamic' 'nonce-abc' " + nonceSrc + "; connect-src 'self'", true},
		{"strict-dynamic with unsafe-inline fallback still needs a nonce",
			"script-src 'nonce-abc' 'strict-dynamic' 'unsafe-inline' https: http:",
			"script-src 'nonce-abc' 'strict-dynamic' 'unsafe-inline' https: http: " + nonceSrc, true},
		{"nonce without unsafe-inline", "script-src 'nonce-abc' https://cdn.example.com",
			"script-src 'nonce-abc' https://cdn.example.com " + nonceSrc, true},
		{"hash without unsafe-inline", "script-src 'sha256-AAAA'", "script-src 'sha256-AAAA' " + nonceSrc, true},
		{"unsafe-inline gets the exact URL", "script-src 'unsafe-inline' https://cdn.example.com",
			"script-src 'unsafe-inline' https://cdn.example.com " + scriptSrcTLS, false},
		{"nonce with unsafe-inline gets the exact URL", "script-src 'nonce-abc' 'unsafe-inline'",
			"script-src 'nonce-abc' 'unsafe-inline' " + scriptSrcTLS, false},
		{"plain host list gets the exact URL", "script-src https://cdn.example.com",
			"script-src https://cdn.example.com " + scriptSrcTLS, false},
		{"other path", "script-src https://app.example.com/static/",
			"script-src https://app.example.com/static/ " + scriptSrcTLS, false},
		{"other port", "script-src https://app.example.com:8443",
			"script-src https://app.example.com:8443 " + scriptSrcTLS, false},
		{"script-src none", "script-src 'none'", "script-src " + scriptSrcTLS, false},
		{"script-src-elem wins over script-src",
			"script-src 'unsafe-inline'; script-src-elem 'nonce-abc'",
			"script-src 'unsafe-inline'; script-src-elem 'nonce-abc' " + nonceSrc, true},
		{"default-src none gets new directives",
			"default-src 'none'; img-src 'self'",
			"default-src 'none'; img-src 'self'; script-src " + scriptSrcTLS + "; connect-src " + connectSrcTLS, false},
		{"default-src copied, not widened",
			"default-src https://cdn.example.com 'unsafe-inline'; style-src 'self' 'unsafe-inline';",
			"default-src https://cdn.example.com 'unsafe-inline'; style-src 'self' 'unsafe-inline'; script-src https://cdn.example.com 'unsafe-inline' " + scriptSrcTLS + "; connect-src https://cdn.example.com 'unsafe-inline' " + connectSrcTLS, false},
		{"default-src with nonce: nonce goes to a new script-src only",
			"default-src 'self' 'nonce-abc' 'strict-dynamic'",
			"default-src 'self' 'nonce-abc' 'strict-dynamic'; script-src 'self' 'nonce-abc' 'strict-dynamic' " + nonceSrc, true},
		{"connect-src none", "script-src 'self'; connect-src 'none'", "script-src 'self'; connect-src " + connectSrcTLS, false},
		{"connect-src other host", "default-src 'self'; connect-src https://api.example.com",
			"default-src 'self'; connect-src https://api.example.com " + connectSrcTLS, false},
		{"connect-src path without slash is not a prefix", "connect-src https://app.example.com/.sessiongate",
			"connect-src https://app.example.com/.sessiongate " + connectSrcTLS, false},
		{"first duplicate counts", "script-src 'self'; script-src 'none'", "", false},
		{"case and whitespace", "  SCRIPT-SRC\t'NONE' ;CONNECT-SRC 'SELF'  ", "  script-src " + scriptSrcTLS + " ;CONNECT-SRC 'SELF'  ", false},
		{"other directives untouched",
			"img-src data: 'self'; script-src 'unsafe-inline' 'unsafe-eval'; report-uri https://r.example.com/a,b",
			"", false}, // checked separately (the comma splits the policy)
	}
	in := newTestInjector(t, 0)
	for _, c := range cases {
		if c.name == "other directives untouched" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			for _, key := range []string{headerCSP, headerCSPReportOnly} {
				h := http.Header{key: {c.policy}}
				nonce := amendCSP(h, in.newCSPTarget(cspRequest("app.example.com", true)), &nonceSource{make: in.newNonce})
				want := c.want
				if want == "" {
					want = c.policy
				}
				if got := h.Get(key); got != want {
					t.Errorf("%s:\n got  %s\n want %s", key, got, want)
				}
				if (nonce != "") != c.wantNonce {
					t.Errorf("%s: nonce %q", key, nonce)
				}
			}
		})
	}
}

func TestAmendCSPMultiplePolicies(t *testing.T) {
	in := newTestInjector(t, 0)
	h := http.Header{}
	h.Add(headerCSP, "default-src 'self', script-src 'nonce-a' 'strict-dynamic'")
	h.Add(headerCSP, "img-src 'self'; script-src 'unsafe-inline'")
	h.Add(headerCSPReportOnly, "connect-src 'none'")
	nonce := amendCSP(h, in.newCSPTarget(cspRequest("app.example.com", true)), &nonceSource{make: in.newNonce})
	if nonce != "TESTNONCE" {
		t.Fatalf("nonce %q", nonce)
	}
	want := []string{
		"default-src 'self', script-src 'nonce-a' 'strict-dynamic' " + nonceSrc,
		"img-src 'self'; script-src 'unsafe-inline' " + scriptSrcTLS,
	}
	if got := h.Values(headerCSP); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("CSP:\n%s", strings.Join(got, "\n"))
	}
	if got := h.Get(headerCSPReportOnly); got != "connect-src "+connectSrcTLS {
		t.Fatalf("report-only: %s", got)
	}
}

func TestAmendCSPKeepsOtherDirectives(t *testing.T) {
	in := newTestInjector(t, 0)
	policy := "img-src data: 'self';  style-src 'unsafe-inline' ; script-src 'unsafe-inline' 'unsafe-eval'; report-uri https://r.example.com/a"
	h := http.Header{headerCSP: {policy}}
	amendCSP(h, in.newCSPTarget(cspRequest("app.example.com", true)), &nonceSource{make: in.newNonce})
	want := "img-src data: 'self';  style-src 'unsafe-inline' ; script-src 'unsafe-inline' 'unsafe-eval' " + scriptSrcTLS + "; report-uri https://r.example.com/a"
	if got := h.Get(headerCSP); got != want {
		t.Fatalf("\n got  %s\n want %s", got, want)
	}
}

func TestAmendCSPOrigins(t *testing.T) {
	cases := []struct {
		host   string
		tls    bool
		script string
		opts   Options
		policy string
		want   string
	}{
		{"app.example.com", false, "", Options{}, "script-src 'unsafe-inline'",
			"script-src 'unsafe-inline' http://app.example.com/.sessiongate/banner.js"},
		{"App.Example.com:8443", true, "", Options{}, "script-src 'unsafe-inline'",
			"script-src 'unsafe-inline' https://app.example.com:8443/.sessiongate/banner.js"},
		{"app.example.com:8443", true, "", Options{}, "script-src https://app.example.com:8443", ""},
		{"app.example.com", true, "", Options{}, "script-src https://app.example.com:443", ""},
		{"app.example.com:8443", true, "", Options{}, "script-src https://app.example.com",
			"script-src https://app.example.com https://app.example.com:8443/.sessiongate/banner.js"},
		// No usable host: with 'unsafe-inline' nothing safe can be added;
		// without it, a nonce can.
		{"[::1]:8080", true, "", Options{}, "script-src 'unsafe-inline'", ""},
		{"", true, "", Options{}, "script-src https://cdn.example.com", "script-src https://cdn.example.com " + nonceSrc},
		// A script on another origin is not 'self'.
		{"app.example.com", true, "", Options{ScriptSrc: "https://static.example.net/b.js?v=1"}, "script-src 'self' 'unsafe-inline'",
			"script-src 'self' 'unsafe-inline' https://static.example.net/b.js"},
		{"app.example.com", true, "", Options{ScriptSrc: "https://static.example.net/b.js"}, "script-src https://static.example.net", ""},
		// Characters that would split the policy are escaped.
		{"app.example.com", true, "", Options{ScriptSrc: "/a;b,c d.js"}, "script-src 'unsafe-inline'",
			"script-src 'unsafe-inline' https://app.example.com/a%3Bb%2Cc%20d.js"},
		// No ConnectPath: connect-src is left alone.
		{"app.example.com", true, "", Options{ScriptSrc: "/b.js", ConnectPath: "-"}, "connect-src 'none'", ""},
	}
	for _, c := range cases {
		o := c.opts
		if o.ScriptSrc == "" {
			o.ScriptSrc = testScriptSrc
		}
		switch o.ConnectPath {
		case "":
			o.ConnectPath = "/.sessiongate/"
		case "-":
			o.ConnectPath = ""
		}
		in, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		in.newNonce = func() string { return "TESTNONCE" }
		h := http.Header{headerCSP: {c.policy}}
		amendCSP(h, in.newCSPTarget(cspRequest(c.host, c.tls)), &nonceSource{make: in.newNonce})
		want := c.want
		if want == "" {
			want = c.policy
		}
		if got := h.Get(headerCSP); got != want {
			t.Errorf("%s %q:\n got  %s\n want %s", c.host, c.policy, got, want)
		}
	}
}

// Through the ResponseWriter: the tag carries the nonce the policy got.
func TestCSPNonceOnTag(t *testing.T) {
	in := newTestInjector(t, 0)
	hdr := htmlHeader()
	hdr.Set(headerCSP, "script-src 'nonce-app' 'strict-dynamic'; object-src 'none'")
	hdr.Set(headerCSPReportOnly, "script-src 'sha256-x'")
	rec, _ := serve(t, in, navRequest("GET"), 200, hdr, []byte("<head></head>"), nil)
	wantTag := `<script src="/.sessiongate/banner.js?v=abc123&amp;x=1" defer nonce="TESTNONCE"></script>`
	if rec.Body.String() != "<head>"+wantTag+"</head>" {
		t.Fatalf("%q", rec.Body.String())
	}
	h := rec.Result().Header
	if h.Get(headerCSP) != "script-src 'nonce-app' 'strict-dynamic' "+nonceSrc+"; object-src 'none'" ||
		h.Get(headerCSPReportOnly) != "script-src 'sha256-x' "+nonceSrc {
		t.Fatalf("%v", h)
	}

	// Real nonces are random.
	in2, _ := New(Options{ScriptSrc: "/b.js"})
	seen := map[string]bool{}
	for range 3 {
		hdr := htmlHeader()
		hdr.Set(headerCSP, "script-src 'strict-dynamic'")
		rec, _ := serve(t, in2, navRequest("GET"), 200, hdr, []byte("<head>"), nil)
		csp := rec.Result().Header.Get(headerCSP)
		i := strings.Index(csp, "'nonce-")
		n := csp[i+7 : len(csp)-1]
		if len(n) < 16 || seen[n] || !strings.Contains(rec.Body.String(), `nonce="`+n+`"`) {
			t.Fatalf("nonce %q in %q / %q", n, csp, rec.Body.String())
		}
		seen[n] = true
	}
}
