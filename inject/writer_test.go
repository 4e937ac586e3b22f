package inject

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
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

// countingWriter is an http.ResponseWriter that keeps only a count and the
// tail of the body.
type countingWriter struct {
	h       http.Header
	status  int
	n       int64
	tail    []byte
	flushes int
}

func (c *countingWriter) Header() http.Header {
	if c.h == nil {
		c.h = http.Header{}
	}
	return c.h
}
func (c *countingWriter) WriteHeader(code int) { c.status = code }
func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.tail = append(c.tail, p...)
	if len(c.tail) > 1024 {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-512:]...)
	}
	return len(p), nil
}
func (c *countingWriter) Flush() { c.flushes++ }

// A big page whose only insertion point is its last </body> streams with a
// bounded amount held back.
func TestBoundedMemoryOnLargePage(t *testing.T) {
	const size = 64 << 20
	const chunk = 32 << 10
	in := newTestInjector(t, 0)
	cw := &countingWriter{}
	cw.Header().Set("Content-Type", "text/html")
	rw := in.Wrap(cw, navRequest("GET"))
	line := []byte(`<div class="row"><p>Lorem <b>ipsum</b> dolor <a href="/x?a=1&amp;b=2">sit</a> amet.</p></div>` + "\n")
	buf := make([]byte, 0, chunk+len(line))
	var written int64
	maxHeld := 0
	for written < size {
		buf = buf[:0]
		for len(buf) < chunk {
			buf = append(buf, line...)
		}
		if _, err := rw.Write(buf); err != nil {
			t.Fatal(err)
		}
		written += int64(len(buf))
		maxHeld = max(maxHeld, cap(rw.held))
		if cw.n < written-int64(chunk+DefaultWindow) {
			t.Fatalf("only %d of %d bytes written on", cw.n, written)
		}
	}
	if _, err := rw.Write([]byte("</body></html>")); err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if maxHeld > DefaultWindow+chunk {
		t.Fatalf("held up to %d bytes", maxHeld)
	}
	if want := testTag + "</body></html>"; !bytes.HasSuffix(cw.tail, []byte(want)) {
		t.Fatalf("tail %q", cw.tail)
	}
	if cw.n != written+int64(len("</body></html>")+len(testTag)) {
		t.Fatalf("wrote %d bytes", cw.n)
	}
}

// Pathological pages (an endless comment, script or attribute) do not make
// anything grow either.
func TestBoundedMemoryPathological(t *testing.T) {
	for _, prefix := range []string{"<!--", "<script>", `<p title="`, "</body x='", "<![CDATA["} {
		in := newTestInjector(t, 1024)
		cw := &countingWriter{}
		cw.Header().Set("Content-Type", "text/html")
		rw := in.Wrap(cw, navRequest("GET"))
		rw.Write([]byte(prefix))
		chunk := bytes.Repeat([]byte("x</body "), 512)
		for range 200 {
			if _, err := rw.Write(chunk); err != nil {
				t.Fatal(err)
			}
			if cap(rw.held) > 1024+len(chunk) {
				t.Fatalf("%s: held %d", prefix, cap(rw.held))
			}
		}
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		if !rw.Injected() {
			t.Fatalf("%s: not injected", prefix)
		}
	}
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

// flushRecorder counts flushes and records how much body had been written at
// each.
type flushRecorder struct {
	*httptest.ResponseRecorder
	at []int
}

func (f *flushRecorder) Flush() {
	f.at = append(f.at, f.Body.Len())
	f.ResponseRecorder.Flush()
}

func TestHTTPSmallWritesAndFlushes(t *testing.T) {
	in := newTestInjector(t, 0)
	page := "<!DOCTYPE html><html><head><title>x</title></head><body>" + strings.Repeat("<p>para</p>", 50) + "</body></html>"
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		w.Header().Set("ETag", `"abc"`)
		w.WriteHeader(200)
		for i := 0; i < len(page); i += 7 {
			w.Write([]byte(page[i:min(i+7, len(page))]))
			w.(http.Flusher).Flush()
		}
	})
	req := navRequest("GET")
	if !in.PrepareRequest(req) {
		t.Fatal("not a candidate")
	}
	fr := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	rw := in.Wrap(fr, req)
	app.ServeHTTP(rw, req)
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if !fr.Flushed || len(fr.at) != (len(page)+6)/7 {
		t.Fatalf("flushed %v, %d flushes", fr.Flushed, len(fr.at))
	}
	// Flushes pass through as the page streams: the first one comes before
	// the head tag is complete, and bytes keep arriving flush after flush.
	if fr.at[0] != 7 || fr.at[len(fr.at)-1] != len(page)+len(testTag) {
		t.Fatalf("body length at flushes: %v", fr.at)
	}
	h := fr.Result().Header
	if h.Get("Content-Length") != "" || h.Get("ETag") != `W/"abc"` {
		t.Fatalf("headers %v", h)
	}
	want := strings.Replace(page, "<head>", "<head>"+testTag, 1)
	if fr.Body.String() != want {
		t.Fatalf("body %q", fr.Body.String())
	}
}

// Through a real server: the client receives the head and the tag while the
// handler is still running.
func TestHTTPStreamingThroughServer(t *testing.T) {
	in := newTestInjector(t, 0)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if in.PrepareRequest(r) {
			rw := in.Wrap(w, r)
			defer rw.Close()
			w = rw
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><head><title>slow</title>"))
		http.NewResponseController(w).Flush()
		<-release
		w.Write([]byte("</head><body>done</body></html>"))
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := "<html><head>" + testTag + "<title>slow</title>"
	buf := make([]byte, len(first))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != first {
		t.Fatalf("first part %q, %v", buf, err)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "</head><body>done</body></html>" {
		t.Fatalf("rest %q", rest)
	}
	if resp.Header.Get("Content-Length") != "" || resp.ContentLength != -1 {
		t.Fatalf("length %d", resp.ContentLength)
	}
}

func compress(t testing.TB, coding string, body []byte, flushAt int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w interface {
		io.Writer
		Flush() error
		Close() error
	}
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "br":
		w = brotli.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
		w = fw
	}
	w.Write(body[:flushAt])
	w.Flush()
	w.Write(body[flushAt:])
	w.Close()
	return buf.Bytes()
}

func TestCompressedUpstream(t *testing.T) {
	page := []byte("<!DOCTYPE html><html><head><title>t</title></head><body>" + strings.Repeat("<p>hello world</p>\n", 5000) + "</body></html>")
	nohead := []byte("<html><body>" + strings.Repeat("<p>hello world</p>\n", 5000) + "</body></html>")
	rng := rand.New(rand.NewPCG(11, 12))
	for _, coding := range []string{"gzip", "br", "deflate", "raw-deflate"} {
		for _, body := range [][]byte{page, nohead} {
			t.Run(coding, func(t *testing.T) {
				in := newTestInjector(t, 0)
				z := compress(t, coding, body, 100)
				hdr := htmlHeader()
				hdr.Set("Content-Encoding", strings.TrimPrefix(coding, "raw-"))
				hdr.Set("Content-Length", fmt.Sprint(len(z)))
				hdr.Set("ETag", `"z"`)
				hdr.Set("Vary", "Accept-Encoding")
				rec, rw := serve(t, in, navRequest("GET"), 200, hdr, z, cutsFrom(rng, len(z)))
				h := rec.Result().Header
				if h.Get("Content-Encoding") != "" || h.Get("Content-Length") != "" || h.Get("ETag") != `W/"z"` || h.Get("Vary") != "Accept-Encoding" {
					t.Fatalf("headers %v", h)
				}
				if !rw.Injected() {
					t.Fatal("not injected")
				}
				checkInjected(t, body, rec.Body.Bytes(), []byte(testTag), expectedAt(body, DefaultWindow, false))
			})
		}
	}
}

// A compressor flush upstream yields the decoded bytes downstream at once.
func TestCompressedUpstreamStreams(t *testing.T) {
	in := newTestInjector(t, 0)
	part1 := []byte("<html><head><title>")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(part1)
	zw.Flush()
	rec := httptest.NewRecorder()
	rw := in.Wrap(rec, navRequest("GET"))
	rw.Header().Set("Content-Type", "text/html")
	rw.Header().Set("Content-Encoding", "gzip")
	rw.Write(buf.Bytes())
	if want := "<html><head>" + testTag + "<title>"; rec.Body.String() != want {
		t.Fatalf("after first flush: %q", rec.Body.String())
	}
	buf.Reset()
	zw.Write([]byte("x</title>"))
	zw.Close()
	rw.Write(buf.Bytes())
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "<html><head>" + testTag + "<title>x</title>"; rec.Body.String() != want {
		t.Fatalf("final: %q", rec.Body.String())
	}
}

func TestCorruptCompressedBody(t *testing.T) {
	in := newTestInjector(t, 0)
	for _, coding := range []string{"gzip", "br", "deflate"} {
		rec := httptest.NewRecorder()
		rw := in.Wrap(rec, navRequest("GET"))
		rw.Header().Set("Content-Type", "text/html")
		rw.Header().Set("Content-Encoding", coding)
		z := compress(t, coding, []byte("<html><head></head><body></body></html>"), 5)
		z = z[:len(z)-3] // truncated
		rw.Write(z)
		if err := rw.Close(); err == nil {
			t.Errorf("%s: truncated body: no error", coding)
		}
		rec = httptest.NewRecorder()
		rw = in.Wrap(rec, navRequest("GET"))
		rw.Header().Set("Content-Type", "text/html")
		rw.Header().Set("Content-Encoding", coding)
		_, err1 := rw.Write([]byte("this is not compressed at all, not at all"))
		err2 := rw.Close()
		if err1 == nil && err2 == nil {
			t.Errorf("%s: garbage body: no error", coding)
		}
	}
}

// failingWriter fails every body write.
type failingWriter struct{ *httptest.ResponseRecorder }

// brokenConn is the error failingWriter returns.
type brokenConn struct{}

func (brokenConn) Error() string { return "connection broken" }

func (failingWriter) Write([]byte) (int, error) { return 0, brokenConn{} }

func TestWriteErrorsAreWrapped(t *testing.T) {
	in := newTestInjector(t, 0)
	rw := in.Wrap(failingWriter{httptest.NewRecorder()}, navRequest("GET"))
	rw.Header().Set("Content-Type", "text/html")
	_, err := rw.Write([]byte("<html><head>"))
	if !errors.Is(err, brokenConn{}) {
		t.Fatalf("Write: %v", err)
	}
	if _, err2 := rw.Write([]byte("more")); !errors.Is(err2, brokenConn{}) {
		t.Fatalf("second Write: %v", err2)
	}
	if err := rw.Close(); !errors.Is(err, brokenConn{}) {
		t.Fatalf("Close: %v", err)
	}
}

func TestResponseControllerAndUnwrap(t *testing.T) {
	in := newTestInjector(t, 0)
	rec := httptest.NewRecorder()
	rw := in.Wrap(rec, navRequest("GET"))
	rw.Header().Set("Content-Type", "text/html")
	rw.Write([]byte("<p>"))
	if err := http.NewResponseController(rw).Flush(); err != nil || !rec.Flushed {
		t.Fatalf("flush: %v", err)
	}
	if rw.Unwrap() != http.ResponseWriter(rec) {
		t.Fatal("Unwrap")
	}
	rw.Close()
	if rec.Body.String() != "<p>"+testTag {
		t.Fatalf("%q", rec.Body.String())
	}
}

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

func TestFlushBeforeBody(t *testing.T) {
	in := newTestInjector(t, 0)
	rec := httptest.NewRecorder()
	rw := in.Wrap(rec, navRequest("GET"))
	rw.Header().Set("Content-Type", "text/html")
	rw.Header().Set("Content-Length", "6")
	rw.Flush()
	if !rec.Flushed || rec.Code != 200 || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("flush before body: %v %d %v", rec.Flushed, rec.Code, rec.Header())
	}
	rw.Write([]byte("<head>"))
	rw.Close()
	if rec.Body.String() != "<head>"+testTag {
		t.Fatalf("%q", rec.Body.String())
	}
}

// A compressed UTF-16 body cannot get the tag, but it has been decoded, so
// it goes out decoded and without Content-Encoding.
func TestCompressedUTF16GivesUp(t *testing.T) {
	in := newTestInjector(t, 0)
	body := []byte("\xfe\xff\x00<\x00h\x00e\x00a\x00d\x00>")
	hdr := htmlHeader()
	hdr.Set("Content-Encoding", "x-gzip")
	hdr.Set(headerCSP, "script-src 'strict-dynamic'")
	rec, rw := serve(t, in, navRequest("GET"), 200, hdr, compress(t, "gzip", body, 1), []int{3, 4, 5})
	if rw.Injected() || !bytes.Equal(rec.Body.Bytes(), body) {
		t.Fatalf("%v %q", rw.Injected(), rec.Body.Bytes())
	}
	h := rec.Result().Header
	if h.Get("Content-Encoding") != "" || h.Get(headerCSP) != "script-src 'strict-dynamic'" {
		t.Fatalf("%v", h)
	}
}
