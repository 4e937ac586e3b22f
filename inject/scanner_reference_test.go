package inject

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// referenceTags tokenizes in with golang.org/x/net/html, driving its
// raw-text and CDATA switches with the same svg/math policy as the scanner.
func referenceTags(in []byte, xml bool) []tagEvent {
	z := html.NewTokenizer(bytes.NewReader(in))
	depth := 0
	var off int64
	var tags []tagEvent
	for {
		z.AllowCDATA(xml || depth > 0)
		tt := z.Next()
		if tt == html.ErrorToken {
			return tags
		}
		raw := z.Raw()
		start := off
		off += int64(len(raw))
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			continue
		}
		// The name as the scanner sees it: after "<" or "</", up to
		// whitespace, '/' or '>'.
		r := raw[1:]
		if tt == html.EndTagToken {
			r = r[1:]
		}
		n := bytes.IndexFunc(r, func(c rune) bool { return c < 0x80 && (isSpace(byte(c)) || c == '/' || c == '>') })
		nameB := make([]byte, n)
		for i := range n {
			nameB[i] = lower(r[i])
		}
		e := tagEvent{end: tt == html.EndTagToken, start: start, fin: off, nameLen: n}
		e.name = string(nameB[:min(n, maxName)])
		tags = append(tags, e)
		name := string(nameB)
		if e.end {
			switch name {
			case "svg", "math":
				if depth > 0 {
					depth--
				}
			case "p", "br":
				depth = 0
			}
			continue
		}
		if n <= maxName && isBreakout(nameB) {
			depth = 0
		}
		if name == "svg" || name == "math" {
			if tt == html.StartTagToken {
				depth++
			}
		} else if xml || depth > 0 {
			z.NextIsNotRawText()
		}
	}
}

// checkAgainstReference compares the scanner (in x/net/html-compatible
// mode, under several splits) with x/net/html.
func checkAgainstReference(t *testing.T, in []byte, xml bool, rng *rand.Rand) {
	t.Helper()
	want := referenceTags(in, xml)
	for try := range 4 {
		var cuts []int
		switch try {
		case 1: // every byte
			for i := 1; i < len(in); i++ {
				cuts = append(cuts, i)
			}
		case 2, 3:
			cuts = randomCuts(rng, len(in))
		}
		got, _, _ := scanAll(in, xml, false, 1<<62, cuts)
		if !equalTags(got, want) {
			t.Fatalf("input %q (xml=%v, cuts %v):\n got  %v\n want %v", in, xml, cuts, got, want)
		}
	}
}

func equalTags(a, b []tagEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func randomCuts(rng *rand.Rand, n int) []int {
	if n < 2 {
		return nil
	}
	var cuts []int
	for i := 1; i < n; i++ {
		if rng.IntN(4) == 0 {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

// testFragments are the pieces random documents are made of: they exercise
// every tokenizer state.
func testFragments() []string {
	return []string{
		"<", ">", "/", "!", "-", "--", "'", `"`, "=", " ", "\n", "\t", "\r", "\f", "?", "]", "]]", "a", "x", "é", "\x00",
		"<head>", "<HEAD>", "<head ", "<head/>", "<head lang=\"en\">", "<Head\tx='>'>", "</head>", "<header>",
		"<body>", "</body>", "</BODY>", "</body ", "</body\n", "</bod", "</body x='>'>", "</bodyx>", "<body", "body",
		"<html>", "</html>", "<p>", "</p>", "<br>", "</br>", "<div class=a>", "<a href=\"x>y\">",
		"<script>", "</script>", "<SCRIPT>", "</script ", "<script", "script", "<!--", "-->", "--!>", "<!-->", "<!--->",
		"<style>", "</style>", "<title>", "</title>", "<textarea>", "</textarea>", "<xmp>", "</xmp>", "<noscript>", "</noscript>",
		"<iframe>", "</iframe>", "<plaintext>", "<svg>", "</svg>", "<svg/>", "<math>", "</math>", "<![CDATA[", "]]>",
		"<!DOCTYPE html>", "<!doctype", "<?xml ?>", "<!x>", "</>", "</ x>", "<a b=c d='e' f=\"g\" h>", "<a/b>", "<a =b>",
		"\xef\xbb\xbf",
	}
}

func randomDoc(rng *rand.Rand, frags []string, n int) []byte {
	var b strings.Builder
	for range n {
		b.WriteString(frags[rng.IntN(len(frags))])
	}
	return []byte(b.String())
}

func TestScannerMatchesXNetHTML(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	frags := testFragments()
	for i := range 4000 {
		doc := randomDoc(rng, frags, 1+rng.IntN(30))
		checkAgainstReference(t, doc, i%5 == 0, rng)
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"<head>", "<!-- <head> --><head x='>'>", "<script><!--<script></script>--></script></body>",
		"<svg><![CDATA[</body>]]></svg></body>", "<title></body></title></body>",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, xml bool) {
		checkAgainstReference(t, in, xml, rand.New(rand.NewPCG(uint64(len(in)), 7)))
	})
}
