package inject

import (
	"errors"
	"fmt"
	"net/http"
)

// mode is what a ResponseWriter does with the bytes it is given.
type mode uint8

const (
	// modeUndecided: no status has been written yet.
	modeUndecided mode = iota
	// modePass: not injecting; headers and body go through untouched.
	modePass
	// modeScan: injecting, the insertion point is not known yet.
	modeScan
	// modeStream: the tag is placed (or injection was given up after the
	// headers were sent); the rest of the body goes straight through.
	modeStream
)

// ResponseWriter injects the script tag into the response written through
// it. It implements http.ResponseWriter, http.Flusher (Flush passes through
// after writing out whatever is safe to write), Unwrap (for
// http.ResponseController) and Close, which must be called once the handler
// has returned. Like an http.ResponseWriter it must not be used from several
// goroutines at once.
type ResponseWriter struct {
	in *Injector
	w  http.ResponseWriter
	r  *http.Request

	mode      mode
	status    int
	committed bool // in modeScan/modeStream: the real WriteHeader was called
	closed    bool
	gaveUp    bool  // injecting was abandoned (UTF-16 body, empty body)
	err       error // first write error; later writes return it

	xml bool     // application/xhtml+xml
	dec *decoder // non-nil when decoding a compressed body
	tag []byte   // the tag, with a nonce if the CSP needs one

	sc      scanner
	phaseA  bool   // still preferring a <head> within the first Window bytes
	bodyAt  int64  // offset of the first </body> seen in phase A, or -1
	held    []byte // original bytes [emitted, sc.off) not yet written
	emitted int64  // original bytes written out so far
	first   [2]byte
	nfirst  int

	injected bool
	tagAt    int64 // output offset of the tag (== input offset), or -1
}

// Header returns the underlying ResponseWriter's header map.
func (w *ResponseWriter) Header() http.Header { return w.w.Header() }

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *ResponseWriter) Unwrap() http.ResponseWriter { return w.w }

// Injected reports whether the tag was inserted (for tests/metrics).
func (w *ResponseWriter) Injected() bool { return w.injected }

// WriteHeader decides from the status and the headers set so far whether
// the response gets the tag. Informational (1xx) statuses pass through.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.mode == modePass {
		w.w.WriteHeader(code) // superfluous calls are the caller's business
		return
	}
	if w.mode != modeUndecided {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.w.WriteHeader(code)
		return
	}
	w.decide(code)
	if w.mode == modePass {
		w.w.WriteHeader(code)
	}
}

func (w *ResponseWriter) decide(code int) {
	w.status = code
	ok, xml := false, false
	if code == http.StatusOK && !w.closed && (w.r == nil || w.r.Method != http.MethodHead) {
		ok, xml = eligible(w.w.Header())
	}
	if !ok {
		w.mode = modePass
		return
	}
	w.mode = modeScan
	w.xml = xml
	w.phaseA = true
	w.sc = newScanner(int64(w.in.window), xml)
	if c := parseCoding(w.w.Header().Values("Content-Encoding")); c != codingIdentity {
		w.dec = newDecoder(c, w.consume)
	}
}

// Write writes body bytes. Bytes that may still contain the insertion point
// are held back (at most Window bytes plus this write); the rest is written
// on at once.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.mode == modeUndecided {
		w.decide(http.StatusOK)
	}
	if w.mode == modePass {
		return w.w.Write(p)
	}
	if w.closed {
		return 0, errors.New("inject: write after Close")
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var err error
	if w.dec != nil {
		err = w.dec.feed(p)
	} else {
		err = w.consume(p)
	}
	if err != nil {
		w.err = err
		return 0, err
	}
	return len(p), nil
}

// Flush sends the headers if they were not sent yet and flushes the
// underlying ResponseWriter. Held bytes stay held: they may contain the
// insertion point.
func (w *ResponseWriter) Flush() {
	_ = w.FlushError()
}

// FlushError is Flush returning the error, as http.ResponseController
// prefers.
func (w *ResponseWriter) FlushError() error {
	if w.mode == modeUndecided {
		w.decide(http.StatusOK)
	}
	if (w.mode == modeScan || w.mode == modeStream) && !w.committed {
		w.commit()
	}
	var err error
	switch f := w.w.(type) {
	case interface{ FlushError() error }:
		err = f.FlushError()
	case http.Flusher:
		f.Flush()
	default:
		err = http.NewResponseController(w.w).Flush()
	}
	if err != nil {
		return fmt.Errorf("inject: flush: %w", err)
	}
	return nil
}

// Close finishes the body: it ends decoding, places the tag at the end if
// no better place was found, and writes out everything still held. It must
// be called once, after the handler returned; later calls return nil.
func (w *ResponseWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.mode != modeScan && w.mode != modeStream {
		return nil
	}
	var err error
	if w.dec != nil {
		err = w.dec.close()
	}
	if err == nil && w.err == nil && w.mode == modeScan {
		err = w.finish()
	}
	if w.mode != modePass && !w.committed {
		w.commit()
	}
	if err == nil {
		err = w.err
	}
	return err
}
