package inject

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPlacementTable(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"head", "<!DOCTYPE html><html><head><title>t</title></head><body>x</body></html>",
			"<!DOCTYPE html><html><head>TAG<title>t</title></head><body>x</body></html>"},
		{"upper case and attributes", "\xef\xbb\xbf<!doctype html>\n<HTML lang=en><HEAD profile='a>b'>\n<meta charset=utf-8>",
			"\xef\xbb\xbf<!doctype html>\n<HTML lang=en><HEAD profile='a>b'>TAG\n<meta charset=utf-8>"},
		{"self-closing head", "<html><head/><body></body>", "<html><head/>TAG<body></body>"},
		{"head in comment, script and attribute first", `<!-- <head> --><script>"<head>"</script><a x="<head>"></a><head>x`,
			`<!-- <head> --><script>"<head>"</script><a x="<head>"></a><head>TAGx`},
		{"no head", "<html><body><p>hi</p></body></html>", "<html><body><p>hi</p>TAG</body></html>"},
		{"no head, body in script first", "<body><script>x='</body>'</script></BODY >", "<body><script>x='</body>'</script>TAG</BODY >"},
		{"neither", "<p>just a fragment", "<p>just a fragment" + "TAG"},
		{"header is not head", "<header>x</header>", "<header>x</header>TAG"},
		{"unterminated head", "<html><head", "<html><head" + "TAG"},
		{"head after body within window", "</body><head>", "</body><head>TAG"},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := newTestInjector(t, 0)
			want := strings.Replace(c.want, "TAG", testTag, 1)
			for range 30 {
				rec, rw := serve(t, in, navRequest("GET"), 200, htmlHeader(), []byte(c.in), cutsFrom(rng, len(c.in)))
				if got := rec.Body.String(); got != want {
					t.Fatalf("got  %q\nwant %q", got, want)
				}
				if !rw.Injected() {
					t.Fatal("Injected() = false")
				}
			}
		})
	}
}

// The core property: output minus the tag equals the input, for every
// input, window and split, and the tag is where the rules put it.
func TestRandomDocumentsAndSplits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	frags := testFragments()
	for i := range 3000 {
		body := randomDoc(rng, frags, 1+rng.IntN(40))
		window := []int{1, 2, 3, 7, 16, 50, 0}[rng.IntN(7)]
		in := newTestInjector(t, window)
		if window == 0 {
			window = DefaultWindow
		}
		xml := i%7 == 0
		hdr := htmlHeader()
		tag := []byte(testTag)
		if xml {
			hdr.Set("Content-Type", "application/xhtml+xml")
			tag = in.tag(true, "")
		}
		rec, rw := serve(t, in, navRequest("GET"), 0, hdr, body, cutsFrom(rng, len(body)))
		if bytes.HasPrefix(body, []byte{0xfe, 0xff}) || bytes.HasPrefix(body, []byte{0xff, 0xfe}) {
			if !bytes.Equal(rec.Body.Bytes(), body) || rw.Injected() {
				t.Fatalf("UTF-16 body changed: %q", rec.Body.Bytes())
			}
			continue
		}
		at := expectedAt(body, window, xml)
		checkInjected(t, body, rec.Body.Bytes(), tag, at)
		if rw.tagAt != at {
			t.Fatalf("tagAt %d, want %d", rw.tagAt, at)
		}
	}
}

// A head beyond the window loses against an earlier </body>; within it, it
// wins.
func TestWindowPrefersHeadOnlyWithinWindow(t *testing.T) {
	body := []byte("<p>x</body>" + strings.Repeat("y", 100) + "<head>z")
	in := newTestInjector(t, 50)
	rec, _ := serve(t, in, navRequest("GET"), 200, htmlHeader(), body, nil)
	checkInjected(t, body, rec.Body.Bytes(), []byte(testTag), 4)

	in = newTestInjector(t, 200)
	rec, _ = serve(t, in, navRequest("GET"), 200, htmlHeader(), body, nil)
	checkInjected(t, body, rec.Body.Bytes(), []byte(testTag), int64(len(body)-1))
}

func TestHeadersWhenInjecting(t *testing.T) {
	in := newTestInjector(t, 0)
	hdr := htmlHeader()
	hdr.Set("Content-Length", "42")
	hdr.Set("ETag", `"v1"`)
	hdr.Set("Content-MD5", "x")
	hdr.Set("Digest", "sha-256=x")
	hdr.Set("Content-Digest", "sha-256=:x:")
	hdr.Set("Repr-Digest", "sha-256=:x:")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Set-Cookie", "a=b")
	rec, _ := serve(t, in, navRequest("GET"), 200, hdr, []byte("<head></head>"), nil)
	h := rec.Result().Header
	for _, k := range []string{"Content-Length", "Content-MD5", "Digest", "Content-Digest", "Repr-Digest"} {
		if v := h.Get(k); v != "" {
			t.Errorf("%s: %q kept", k, v)
		}
	}
	if h.Get("ETag") != `W/"v1"` || h.Get("Cache-Control") != "no-cache" || h.Get("Set-Cookie") != "a=b" || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers %v", h)
	}

	for etag, want := range map[string]string{`W/"x"`: `W/"x"`, `bogus`: ``} {
		hdr := htmlHeader()
		hdr.Set("ETag", etag)
		rec, _ := serve(t, in, navRequest("GET"), 200, hdr, []byte("<head>"), nil)
		if got := rec.Result().Header.Get("ETag"); got != want {
			t.Errorf("ETag %q became %q, want %q", etag, got, want)
		}
	}
}

// Responses that must not be touched come out exactly as without the
// wrapper.
func TestUntouchedResponses(t *testing.T) {
	page := []byte("<html><head></head><body></body></html>")
	cases := []struct {
		name   string
		method string
		status int
		hdr    http.Header
		body   []byte
	}{
		{"HEAD", "HEAD", 200, htmlHeader(), nil},
		{"206", "GET", 206, http.Header{"Content-Type": {"text/html"}, "Content-Range": {"bytes 0-9/100"}}, page[:10]},
		{"204", "GET", 204, htmlHeader(), nil},
		{"304", "GET", 304, http.Header{"ETag": {`"x"`}}, nil},
		{"404 html", "GET", 404, htmlHeader(), page},
		{"attachment", "GET", 200, http.Header{"Content-Type": {"text/html"}, "Content-Disposition": {`attachment; filename="a.html"`}, "Content-Length": {fmt.Sprint(len(page))}}, page},
		{"JSON", "GET", 200, http.Header{"Content-Type": {"application/json"}, "Content-Length": {"2"}, "ETag": {`"j"`}}, []byte("{}")},
		{"no content type", "GET", 200, http.Header{}, page},
		{"utf-16 charset", "GET", 200, http.Header{"Content-Type": {"text/html; charset=UTF-16LE"}}, page},
		{"utf-16 BOM", "GET", 200, htmlHeader(), append([]byte{0xff, 0xfe}, page...)},
		{"zstd", "GET", 200, http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"zstd"}, "ETag": {`"z"`}}, []byte("\x28\xb5\x2f\xfd garbage")},
		{"stacked codings", "GET", 200, http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip, br"}}, []byte("xx")},
		{"empty body", "GET", 200, http.Header{"Content-Type": {"text/html"}, "ETag": {`"e"`}}, nil},
		{"content-length 0", "GET", 200, http.Header{"Content-Type": {"text/html"}, "Content-Length": {"0"}}, nil},
		{"redirect", "GET", 302, http.Header{"Location": {"/x"}, "Content-Type": {"text/html"}}, page},
	}
	in := newTestInjector(t, 0)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			direct := httptest.NewRecorder()
			for k, v := range c.hdr {
				direct.Header()[k] = append([]string(nil), v...)
			}
			direct.WriteHeader(c.status)
			direct.Write(c.body)

			rec, rw := serve(t, in, navRequest(c.method), c.status, c.hdr, c.body, cutsFrom(rng, len(c.body)))
			if rw.Injected() {
				t.Error("injected")
			}
			if rec.Code != direct.Code || !bytes.Equal(rec.Body.Bytes(), direct.Body.Bytes()) {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.Bytes(), direct.Code, direct.Body.Bytes())
			}
			if fmt.Sprint(rec.Result().Header) != fmt.Sprint(direct.Result().Header) {
				t.Errorf("headers %v, want %v", rec.Result().Header, direct.Result().Header)
			}
		})
	}
}

func TestImplicitWriteHeader(t *testing.T) {
	in := newTestInjector(t, 0)
	rec, rw := serve(t, in, navRequest("GET"), 0, htmlHeader(), []byte("<head>"), nil)
	if rec.Code != 200 || rec.Body.String() != "<head>"+testTag || !rw.Injected() {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
	// 1xx responses pass through and do not decide anything.
	hr := &hintsRecorder{ResponseRecorder: httptest.NewRecorder()}
	rw = in.Wrap(hr, navRequest("GET"))
	rw.Header().Set("Content-Type", "text/html")
	rw.WriteHeader(http.StatusEarlyHints)
	rw.WriteHeader(200)
	rw.Write([]byte("<head>"))
	rw.Close()
	if hr.Body.String() != "<head>"+testTag || fmt.Sprint(hr.codes) != "[103 200]" {
		t.Fatalf("after 103: %v %q", hr.codes, hr.Body.String())
	}
}

// hintsRecorder records informational statuses, which ResponseRecorder
// would take for the final one.
type hintsRecorder struct {
	*httptest.ResponseRecorder
	codes []int
}

func (h *hintsRecorder) WriteHeader(code int) {
	h.codes = append(h.codes, code)
	if code >= 200 {
		h.ResponseRecorder.WriteHeader(code)
	}
}

func TestXHTMLTag(t *testing.T) {
	in := newTestInjector(t, 0)
	hdr := http.Header{"Content-Type": {"application/xhtml+xml; charset=utf-8"}}
	rec, _ := serve(t, in, navRequest("GET"), 200, hdr, []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head/><body/></html>`), nil)
	want := `<head/><script src="/.sessiongate/banner.js?v=abc123&amp;x=1" defer="defer"></script><body/>`
	if !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("%q", rec.Body.String())
	}
}

func TestWriteAfterClose(t *testing.T) {
	in := newTestInjector(t, 0)
	rec := httptest.NewRecorder()
	rw := in.Wrap(rec, navRequest("GET"))
	rw.Header().Set("Content-Type", "text/html")
	rw.Write([]byte("<p>"))
	rw.Close()
	if _, err := rw.Write([]byte("x")); err == nil {
		t.Fatal("write after Close accepted")
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
}
