package inject

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
