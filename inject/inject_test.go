package inject

import (
	"net/http/httptest"
	"testing"
)

func TestPrepareRequest(t *testing.T) {
	in := newTestInjector(t, 0)
	cases := []struct {
		method string
		hdr    map[string]string
		want   bool
	}{
		{"GET", map[string]string{"Sec-Fetch-Mode": "navigate"}, true},
		{"POST", map[string]string{"Sec-Fetch-Mode": "navigate"}, true},
		{"HEAD", map[string]string{"Sec-Fetch-Mode": "navigate"}, false},
		{"GET", map[string]string{"Sec-Fetch-Mode": "cors", "Accept": "text/html"}, false},
		{"GET", map[string]string{"Sec-Fetch-Mode": "no-cors"}, false},
		{"GET", map[string]string{"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}, true},
		{"GET", map[string]string{"Accept": "TEXT/HTML"}, true},
		{"GET", map[string]string{"Accept": "*/*"}, false},
		{"GET", map[string]string{"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}, false},
		{"POST", map[string]string{"Accept": "text/html"}, false},
		{"HEAD", map[string]string{"Accept": "text/html"}, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "/", nil)
		r.Header.Set("Accept-Encoding", "gzip, br")
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		got := in.PrepareRequest(r)
		if got != c.want {
			t.Errorf("%s %v: %v", c.method, c.hdr, got)
		}
		wantAE := "gzip, br"
		if c.want {
			wantAE = "identity"
		}
		if ae := r.Header.Get("Accept-Encoding"); ae != wantAE {
			t.Errorf("%s %v: Accept-Encoding %q", c.method, c.hdr, ae)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{},
		{ScriptSrc: "banner.js"},
		{ScriptSrc: "javascript:alert(1)"},
		{ScriptSrc: "data:text/javascript,x"},
		{ScriptSrc: "/x.js", ConnectPath: "rel/"},
		{ScriptSrc: "/x.js", Window: -1},
		{ScriptSrc: "/x%zz.js"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	in, err := New(Options{ScriptSrc: `/b.js?a="<x>"`})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(in.tagHTML); got != `<script src="/b.js?a=&#34;&lt;x&gt;&#34;" defer></script>` {
		t.Fatalf("tag %s", got)
	}
	if in.window != DefaultWindow {
		t.Fatalf("window %d", in.window)
	}
}
