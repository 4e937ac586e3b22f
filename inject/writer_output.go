package inject

import "fmt"

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
