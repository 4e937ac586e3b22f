package inject

import "fmt"

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
