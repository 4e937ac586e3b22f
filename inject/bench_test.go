package inject

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// benchPage generates an HTML page of about size bytes: text, links,
// attributes, a script and a comment every so often. With head, a <head> is
// near the start; without, the only insertion point is the </body> at the
// very end.
func benchPage(size int, head bool) []byte {
	var b bytes.Buffer
	b.Grow(size + 4096)
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">")
	if head {
		b.WriteString("<head><meta charset=\"utf-8\"><title>Bench</title></head>")
	}
	b.WriteString("<body>\n")
	for i := 0; b.Len() < size-len("</body></html>\n"); i++ {
		fmt.Fprintf(&b, `<div class="row" id="r%d"><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. <a href="/item?id=%d&amp;sort=asc" title="Item %d">item %d</a></p></div>`+"\n", i, i, i, i)
		if i%50 == 0 {
			b.WriteString("<script>var s = \"<div>\" + (1 < 2) + '</body>';</script><!-- comment with <b>markup</b> -->\n")
		}
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// discardWriter is an http.ResponseWriter that throws the body away.
type discardWriter struct {
	h http.Header
	n int64
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }
func (d *discardWriter) Flush()                      {}

// BenchmarkInject streams pages through the injector in 32 KiB writes, as a
// reverse proxy does.
func BenchmarkInject(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"10KB", 10 << 10}, {"1MB", 1 << 20}, {"100MB", 100 << 20}} {
		for _, head := range []bool{true, false} {
			variant := "head"
			if !head {
				variant = "nohead"
			}
			b.Run(size.name+"/"+variant, func(b *testing.B) {
				page := benchPage(size.n, head)
				benchmarkStream(b, page, http.Header{"Content-Type": {"text/html; charset=utf-8"}}, len(page))
			})
		}
	}
}

// BenchmarkInjectGzip includes decoding a gzip-compressed upstream body.
func BenchmarkInjectGzip(b *testing.B) {
	page := benchPage(1<<20, false)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(page)
	zw.Close()
	hdr := http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}}
	benchmarkStream(b, buf.Bytes(), hdr, len(page))
}

func benchmarkStream(b *testing.B, wire []byte, hdr http.Header, pageLen int) {
	const chunk = 32 << 10
	in, err := New(Options{ScriptSrc: "/.sessiongate/banner.js?v=abc123", ConnectPath: "/.sessiongate/"})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "https://app.example.com/", nil)
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	dw := &discardWriter{}
	b.SetBytes(int64(pageLen))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dw.h = hdr.Clone()
		dw.n = 0
		rw := in.Wrap(dw, req)
		rw.WriteHeader(http.StatusOK)
		for p := wire; len(p) > 0; {
			n := min(len(p), chunk)
			if _, err := rw.Write(p[:n]); err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
		if err := rw.Close(); err != nil {
			b.Fatal(err)
		}
		if !rw.Injected() || dw.n != int64(pageLen+len(in.tagHTML)) {
			b.Fatalf("injected %v, %d bytes", rw.Injected(), dw.n)
		}
	}
}

func TestBenchPage(t *testing.T) {
	for _, head := range []bool{true, false} {
		p := benchPage(10<<10, head)
		if len(p) < 10<<10-200 || len(p) > 10<<10+400 || strings.Contains(string(p), "<head>") != head {
			t.Fatalf("page of %d bytes", len(p))
		}
		want := int64(len(p) - len("</body></html>\n"))
		if head {
			want = int64(bytes.Index(p, []byte("<head>")) + len("<head>"))
		}
		if got := expectedAt(p, DefaultWindow, false); got != want {
			t.Fatalf("insertion point %d, want %d", got, want)
		}
	}
}

// BenchmarkXNetTokenizer is the yardstick for keeping inject's own scanner:
// golang.org/x/net/html's tokenizer passing the same worst-case page through
// (raw bytes of every token, no insertion). Compare with BenchmarkInject/1MB/nohead.
func BenchmarkXNetTokenizer(b *testing.B) {
	page := benchPage(1<<20, false)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		z := html.NewTokenizer(bytes.NewReader(page))
		n := 0
		for z.Next() != html.ErrorToken {
			n += len(z.Raw())
		}
		if n != len(page) {
			b.Fatalf("tokenizer passed %d of %d bytes", n, len(page))
		}
	}
}
