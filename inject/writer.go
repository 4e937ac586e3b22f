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

// finish handles the end of the body in modeScan.
func (w *ResponseWriter) finish() error {
	end := w.sc.off
	if end == 0 {
		// Empty body: nothing to inject.
		w.gaveUp = true
		if w.dec == nil && !w.committed {
			w.mode = modePass
			w.w.WriteHeader(w.status)
		}
		return nil
	}
	at := end
	if w.bodyAt >= 0 {
		at = w.bodyAt
	}
	return w.place(at, nil, end)
}

// consume takes decoded body bytes.
func (w *ResponseWriter) consume(p []byte) error {
	if w.mode == modeStream {
		return w.out(p)
	}
	if w.nfirst < 2 {
		w.nfirst += copy(w.first[w.nfirst:], p)
		if w.nfirst == 2 && (w.first == [2]byte{0xfe, 0xff} || w.first == [2]byte{0xff, 0xfe}) {
			return w.giveUp(p)
		}
	}
	start := w.sc.off // offset of p[0]
	for i := 0; i < len(p); {
		lim := len(p)
		if w.phaseA {
			if rem := int64(w.in.window) - w.sc.off; int64(lim-i) > rem {
				lim = i + int(rem)
			}
		}
		n, ev := w.sc.scan(p[i:lim])
		i += n
		switch ev {
		case evHead:
			return w.place(w.sc.off, p, start)
		case evBodyEnd:
			if !w.phaseA {
				return w.place(w.sc.tagStart, p, start)
			}
			if w.bodyAt < 0 {
				w.bodyAt = w.sc.tagStart
			}
		}
		if w.phaseA && w.sc.off >= int64(w.in.window) {
			w.phaseA = false
			if w.bodyAt >= 0 {
				return w.place(w.bodyAt, p, start)
			}
		}
	}
	// No insertion point yet: write out what cannot contain it.
	safe := w.sc.off
	if w.bodyAt >= 0 {
		safe = w.bodyAt
	}
	if ps := w.sc.pending(); ps >= 0 && ps < safe {
		safe = ps
	}
	if w.nfirst < 2 {
		safe = w.emitted // the byte-order mark check needs two bytes
	}
	if err := w.writeOrig(safe, p, start); err != nil {
		return err
	}
	switch {
	case safe >= start:
		w.held = append(w.held[:0], p[safe-start:]...)
	case safe == w.emitted:
		w.held = append(w.held, p...)
	default:
		k := copy(w.held, w.held[safe-w.emitted:])
		w.held = append(w.held[:k], p...)
	}
	w.emitted = safe
	return nil
}

// writeOrig writes the original bytes [w.emitted, to), which are held bytes
// followed by p (whose first byte is at offset start). It does not update
// w.emitted.
func (w *ResponseWriter) writeOrig(to int64, p []byte, start int64) error {
	from := w.emitted
	if from >= to {
		return nil
	}
	if from < start {
		e := min(to, start)
		if err := w.out(w.held[:e-from]); err != nil {
			return err
		}
		from = e
	}
	if from < to {
		return w.out(p[from-start : to-start])
	}
	return nil
}

// place writes everything up to the insertion point at, the tag, and the
// rest of the held bytes and of p (which starts at offset start; the part of
// it that was not scanned is passed on as it is), and switches to streaming.
func (w *ResponseWriter) place(at int64, p []byte, start int64) error {
	w.mode = modeStream
	if err := w.writeOrig(at, p, start); err != nil {
		return err
	}
	if !w.committed {
		w.commit()
	}
	w.injected, w.tagAt = true, at
	if err := w.out(w.tag); err != nil {
		return err
	}
	if at < start {
		if err := w.out(w.held[at-w.emitted:]); err != nil {
			return err
		}
		at = start
	}
	w.held, w.emitted = nil, start+int64(len(p))
	return w.out(p[at-start:])
}

// giveUp abandons injection for a body that is not ASCII-compatible. If the
// headers are still untouched the response becomes a plain pass-through.
func (w *ResponseWriter) giveUp(p []byte) error {
	w.gaveUp = true
	w.mode = modeStream
	if !w.committed && w.dec == nil {
		w.mode = modePass
		w.w.WriteHeader(w.status)
		if len(w.held) > 0 {
			if _, err := w.w.Write(w.held); err != nil {
				return fmt.Errorf("inject: writing response: %w", err)
			}
		}
		w.held = nil
		if _, err := w.w.Write(p); err != nil {
			return fmt.Errorf("inject: writing response: %w", err)
		}
		return nil
	}
	if err := w.out(w.held); err != nil {
		return err
	}
	w.held = nil
	return w.out(p)
}

// commit edits the headers for the injected (or decoded) body and sends
// them.
func (w *ResponseWriter) commit() {
	w.committed = true
	h := w.w.Header()
	h.Del("Content-Length")
	weakenETag(h)
	for _, k := range [...]string{"Content-MD5", "Digest", "Content-Digest", "Repr-Digest"} {
		h.Del(k)
	}
	if w.dec != nil {
		h.Del("Content-Encoding")
	}
	if !w.gaveUp {
		nonce := ""
		if len(h[headerCSP]) > 0 || len(h[headerCSPReportOnly]) > 0 {
			nonce = amendCSP(h, w.in.newCSPTarget(w.r), &nonceSource{make: w.in.newNonce})
		}
		w.tag = w.in.tag(w.xml, nonce)
	}
	w.w.WriteHeader(w.status)
}

// out writes transformed output, sending the headers first.
func (w *ResponseWriter) out(b []byte) error {
	if !w.committed {
		w.commit()
	}
	if len(b) == 0 {
		return nil
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("inject: writing response: %w", err)
	}
	return nil
}
