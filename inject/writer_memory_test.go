package inject

import (
	"bytes"
	"net/http"
	"testing"
)

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
