package inject

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

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
