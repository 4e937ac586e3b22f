package inject

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// tagEvent is one completed tag, as seen by the scanner or by x/net/html.
type tagEvent struct {
	end        bool
	start, fin int64
	name       string // lower case, first maxName bytes
	nameLen    int
}

func (e tagEvent) String() string {
	slash := ""
	if e.end {
		slash = "/"
	}
	return fmt.Sprintf("<%s%s>@%d-%d", slash, e.name, e.start, e.fin)
}

// scanAll runs the scanner over in, split at the given cut points, and
// returns every tag it saw plus the head / body-end events it reported.
func scanAll(in []byte, xml, spec bool, capLen int64, cuts []int) (tags []tagEvent, heads, bodies []int64) {
	s := newScanner(capLen, xml)
	s.spec = spec
	s.trace = func(isEnd bool, start, end int64, name string, nameLen int) {
		tags = append(tags, tagEvent{isEnd, start, end, name, nameLen})
	}
	prev := 0
	for _, c := range append(cuts, len(in)) {
		p := in[prev:c]
		prev = c
		for len(p) > 0 {
			n, ev := s.scan(p)
			p = p[n:]
			switch ev {
			case evHead:
				heads = append(heads, s.off)
			case evBodyEnd:
				bodies = append(bodies, s.tagStart)
			}
		}
	}
	return tags, heads, bodies
}

func TestScannerPlacementCases(t *testing.T) {
	// '|' marks where the first head event and "[b]" where the first
	// body-end event must be reported; no mark means no such event.
	cases := []struct {
		doc  string
		xml  bool
		spec bool
	}{
		{doc: "<html><head>|<title>x</title></head><body>[b]</body></html>"},
		{doc: "\xef\xbb\xbf<!DOCTYPE html>\n<!-- <head> -->\n<HTML><HEAD>|"},
		{doc: `<head lang="en" data-x="a>b">|`},
		{doc: `<head/>|`},
		{doc: `  <!-- c --> <head>|`},
		{doc: `<header><head>|`},
		{doc: `<script>var s = "<head>";</script><head>|`},
		{doc: `<style>/* <head> */</style><head>|`},
		{doc: `<textarea><head></body></textarea><title><head></title><head>|`},
		{doc: `<a title="<head>" b='</body>'>x[b]</body>`},
		{doc: `<!--> <head>|`},
		{doc: `<!---> <head>|`},
		{doc: `<!-- --!> <head>|`},
		{doc: `<!-- -- > <head> -->`},
		{doc: `<!DOCTYPE html "<head>"><head>|`},
		{doc: `<?php echo "<head>" ?><head>|`},
		{doc: `<svg><![CDATA[ x > <head> ]]></svg><head>|`},
		{doc: `<![CDATA[ x > <head>| ]]>`},
		{doc: `<svg><style></style><head>|`},
		{doc: `<p>text[b]</body></html>`},
		{doc: `<p>text[b]</BODY foo="x>y">`},
		{doc: `<p>text</bodyx>[b]</body >`},
		{doc: `<script><!--<script></script></body>--></script>[b]</body>`},
		{doc: `<script><!-- a<1 <script></body></script> </body></script>[b]</body>`, spec: true},
		{doc: `<noscript></body></noscript>[b]</body>`},
		{doc: `<plaintext></body><head>`},
		{doc: `<![CDATA[ </body> ]]>`, xml: true},
		{doc: `<script></body></script>[b]</body>`, xml: false},
		{doc: `<script>[b]</body></script>`, xml: true},
		{doc: `<head`},
		{doc: `</body`},
	}
	for _, c := range cases {
		var wantH, wantB []int64
		var clean []byte
		for i := 0; i < len(c.doc); i++ {
			switch {
			case c.doc[i] == '|':
				wantH = append(wantH, int64(len(clean)))
			case strings.HasPrefix(c.doc[i:], "[b]"):
				wantB = append(wantB, int64(len(clean)))
				i += 2
			default:
				clean = append(clean, c.doc[i])
			}
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for try := range 20 {
			var cuts []int
			if try > 0 {
				cuts = randomCuts(rng, len(clean))
			}
			_, h, b := scanAll(clean, c.xml, true, 1<<62, cuts)
			if fmt.Sprint(h[:min(len(h), 1)]) != fmt.Sprint(wantH) || fmt.Sprint(b[:min(len(b), 1)]) != fmt.Sprint(wantB) {
				t.Fatalf("%q (cuts %v): head events %v, want %v; body events %v, want %v", clean, cuts, h, wantH, b, wantB)
			}
		}
		if !c.spec {
			checkAgainstReference(t, clean, c.xml, rng)
		}
	}
}

// In script data escaped text, "<" followed by anything but "/" or a letter
// keeps the escaped state (WHATWG 13.2.5.23); x/net/html falls back to
// script data there. The scanner follows the specification.
func TestScannerScriptEscapedLessThanFollowsSpec(t *testing.T) {
	doc := []byte(`<script><!-- a<1 <script> </script> x</script>`)
	tags, _, _ := scanAll(doc, false, true, 1<<62, nil)
	if len(tags) != 2 || tags[1].start != int64(bytes.LastIndex(doc, []byte("</script>"))) {
		t.Fatalf("spec mode: %v", tags)
	}
	tags, _, _ = scanAll(doc, false, false, 1<<62, nil)
	if len(tags) != 3 || tags[1].start != int64(bytes.Index(doc, []byte("</script>"))) {
		t.Fatalf("compat mode: %v", tags)
	}
}

func TestScannerBodyCap(t *testing.T) {
	doc := []byte(`<p></body data-x="` + strings.Repeat("x", 100) + `"></body>`)
	_, _, b := scanAll(doc, false, true, 50, nil)
	if len(b) != 1 || b[0] != int64(bytes.LastIndex(doc, []byte("</body>"))) {
		t.Fatalf("long </body> should be skipped: %v", b)
	}
}

func TestScannerDoesNotAllocate(t *testing.T) {
	doc := []byte(strings.Repeat(`<div class="x"><script>if (a<b) {}</script><!-- c --><svg><![CDATA[x]]></svg><title>t</title></div>`, 10) + "</body>")
	allocs := testing.AllocsPerRun(20, func() {
		s := newScanner(1<<20, false)
		for p := doc; len(p) > 0; {
			n, _ := s.scan(p[:min(len(p), 7)])
			p = p[n:]
		}
	})
	if allocs != 0 {
		t.Fatalf("scanner allocates %v times per document", allocs)
	}
}
