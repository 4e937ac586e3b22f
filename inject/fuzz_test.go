package inject

import (
	"bytes"
	"compress/gzip"
	"math/rand/v2"
	"net/http"
	"testing"
)

// FuzzInjector checks, for any body, window and way of splitting the body
// into writes, optionally XHTML, gzip-compressed upstream or under a CSP:
// nothing panics; the output minus the tag equals the input; an eligible
// (non-empty, not UTF-16) body gets exactly one tag, where the placement
// rules put it. Seed corpus: testdata/fuzz/FuzzInjector.
func FuzzInjector(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, seed uint64, window uint16, flags uint8) {
		xml, gz, csp := flags&1 != 0, flags&2 != 0, flags&4 != 0
		in := newTestInjector(t, int(window))
		w := int(window)
		if w == 0 {
			w = DefaultWindow
		}
		hdr := htmlHeader()
		if xml {
			hdr.Set("Content-Type", "application/xhtml+xml")
		}
		if csp {
			hdr.Set(headerCSP, "script-src 'nonce-x' 'strict-dynamic'")
		}
		wire := body
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(body)
			zw.Close()
			wire = buf.Bytes()
			hdr.Set("Content-Encoding", "gzip")
		}
		rng := rand.New(rand.NewPCG(seed, uint64(len(body))))
		rec, rw := serve(t, in, navRequest(http.MethodGet), http.StatusOK, hdr, wire, cutsFrom(rng, len(wire)))
		out := rec.Body.Bytes()

		if len(body) == 0 || bytes.HasPrefix(body, []byte{0xfe, 0xff}) || bytes.HasPrefix(body, []byte{0xff, 0xfe}) {
			if rw.Injected() || !bytes.Equal(out, body) {
				t.Fatalf("ineligible body changed: %q -> %q", body, out)
			}
			return
		}
		nonce := ""
		if csp {
			nonce = "TESTNONCE"
		}
		tag := in.tag(xml, nonce)
		if !rw.Injected() {
			t.Fatal("not injected")
		}
		checkInjected(t, body, out, tag, expectedAt(body, w, xml))
		if bytes.Count(out, tag) != bytes.Count(body, tag)+1 {
			t.Fatalf("tag count %d, input had %d", bytes.Count(out, tag), bytes.Count(body, tag))
		}
	})
}
