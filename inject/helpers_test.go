package inject

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
)

const testScriptSrc = "/.sessiongate/banner.js?v=abc123&x=1"

// testTag is the tag New builds for testScriptSrc (note the escaped '&').
const testTag = `<script src="/.sessiongate/banner.js?v=abc123&amp;x=1" defer></script>`

func newTestInjector(t testing.TB, window int) *Injector {
	t.Helper()
	in, err := New(Options{ScriptSrc: testScriptSrc, ConnectPath: "/.sessiongate/", Window: window})
	if err != nil {
		t.Fatal(err)
	}
	in.newNonce = func() string { return "TESTNONCE" }
	return in
}

func htmlHeader() http.Header {
	return http.Header{"Content-Type": {"text/html; charset=utf-8"}}
}

func navRequest(method string) *http.Request {
	r := httptest.NewRequest(method, "https://app.example.com/page", nil)
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	return r
}

// serve writes body through in.Wrap(rec) in pieces cut at cuts (offsets),
// after setting hdr and calling WriteHeader(status) (status 0: implicit).
func serve(t testing.TB, in *Injector, r *http.Request, status int, hdr http.Header, body []byte, cuts []int) (*httptest.ResponseRecorder, *ResponseWriter) {
	t.Helper()
	rec := httptest.NewRecorder()
	rw := in.Wrap(rec, r)
	for k, v := range hdr {
		rw.Header()[k] = append([]string(nil), v...)
	}
	if status != 0 {
		rw.WriteHeader(status)
	}
	prev := 0
	for _, c := range append(cuts, len(body)) {
		if c <= prev {
			continue
		}
		n, err := rw.Write(body[prev:c])
		if err != nil || n != c-prev {
			t.Fatalf("Write: %d, %v", n, err)
		}
		prev = c
	}
	if err := rw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return rec, rw
}

// expectedAt is the insertion point the rules give for body, computed from
// a single scan of the whole body.
func expectedAt(body []byte, window int, xml bool) int64 {
	tags, _, _ := scanAll(body, xml, true, int64(window), nil)
	h, bs, be := int64(-1), int64(-1), int64(-1)
	for _, e := range tags {
		if h < 0 && !e.end && e.nameLen == 4 && e.name == "head" {
			h = e.fin
		}
		if bs < 0 && e.end && e.nameLen == 4 && e.name == "body" && e.fin-e.start <= int64(window) {
			bs, be = e.start, e.fin
		}
	}
	w := int64(window)
	switch {
	case h >= 0 && h <= w:
		return h
	case bs >= 0 && be <= w:
		return bs
	case h >= 0 && bs >= 0:
		if h < be {
			return h
		}
		return bs
	case h >= 0:
		return h
	case bs >= 0:
		return bs
	}
	return int64(len(body))
}

// checkInjected checks out == body with tag inserted at offset at.
func checkInjected(t testing.TB, body, out, tag []byte, at int64) {
	t.Helper()
	if int64(len(body)) < at || len(out) != len(body)+len(tag) {
		t.Fatalf("output length %d, want %d (+tag at %d)\nbody %q\nout  %q", len(out), len(body)+len(tag), at, body, out)
	}
	if !bytes.Equal(out[:at], body[:at]) || !bytes.Equal(out[at:at+int64(len(tag))], tag) || !bytes.Equal(out[at+int64(len(tag)):], body[at:]) {
		t.Fatalf("tag not (only) inserted at %d\nbody %q\nout  %q", at, body, out)
	}
}

// cutsFrom makes random cut points for n bytes.
func cutsFrom(rng *rand.Rand, n int) []int {
	var cuts []int
	switch rng.IntN(4) {
	case 0: // one write
	case 1: // tiny writes
		for i := 1; i < n; i++ {
			if rng.IntN(2) == 0 {
				cuts = append(cuts, i)
			}
		}
	default:
		for i := 0; i < n; {
			i += 1 + rng.IntN(64)
			if i < n {
				cuts = append(cuts, i)
			}
		}
	}
	return cuts
}
