package inject

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/andybalholm/brotli"
)

// coding is a Content-Encoding the injector can decode.
type coding uint8

const (
	codingIdentity coding = iota
	codingGzip
	codingBrotli
	codingDeflate
	codingUnknown
)

// parseCoding maps Content-Encoding header values to a coding. Several
// codings (stacked, or on several lines) are not decoded.
func parseCoding(values []string) coding {
	switch len(values) {
	case 0:
		return codingIdentity
	case 1:
	default:
		return codingUnknown
	}
	v := strings.ToLower(strings.Trim(values[0], " \t"))
	switch v {
	case "", "identity":
		return codingIdentity
	case "gzip", "x-gzip":
		return codingGzip
	case "br":
		return codingBrotli
	case "deflate":
		return codingDeflate
	}
	return codingUnknown
}

// decodeBufSize is the size of the buffer decoded bytes are read into.
const decodeBufSize = 32 << 10

// decoder decompresses a body that arrives through Write calls and hands the
// decoded bytes to sink, synchronously: the standard decompressors pull their
// input through an io.Reader, so the decompression loop runs in a coroutine
// (iter.Pull) that is resumed by each feed and suspends as soon as it needs
// input beyond what it was given. Only one side runs at a time, so sink may
// write to the http.ResponseWriter without further synchronisation, and
// when feed returns every byte the decompressor could produce from the input
// so far has been passed to sink.
type decoder struct {
	in     []byte // input not yet read by the decompressor
	prefix []byte // bytes read while sniffing, to be read again
	eof    bool   // no more input will come
	err    error  // first decoding or sink error
	done   bool   // the decompression loop has returned
	next   func() (struct{}, bool)
	stop   func()
}

func newDecoder(c coding, sink func([]byte) error) *decoder {
	d := &decoder{}
	d.next, d.stop = iter.Pull(func(yield func(struct{}) bool) {
		src := &decoderSource{d: d, yield: yield}
		d.err = d.run(c, src, sink)
		d.done = true
	})
	return d
}

// feed passes compressed bytes on; it returns once they have all been
// consumed and the decoded output they allowed was given to sink.
func (d *decoder) feed(p []byte) error {
	if d.done {
		return d.err
	}
	d.in = p
	d.next()
	d.in = nil
	if d.done {
		return d.err
	}
	return nil
}

// close signals the end of input, lets the decompressor finish, and
// releases the coroutine.
func (d *decoder) close() error {
	if !d.done {
		d.eof = true
		d.next()
	}
	d.stop()
	d.done = true
	return d.err
}

func (d *decoder) run(c coding, src *decoderSource, sink func([]byte) error) error {
	var r io.Reader
	switch c {
	case codingGzip:
		zr, err := gzip.NewReader(src)
		if err != nil {
			return fmt.Errorf("inject: gzip: %w", err)
		}
		r = zr
	case codingBrotli:
		r = brotli.NewReader(src)
	case codingDeflate:
		// "deflate" means zlib (RFC 1950), but some servers send a raw
		// deflate stream (RFC 1951): look at the first two bytes.
		var hdr [2]byte
		n, err := io.ReadFull(src, hdr[:])
		d.prefix = hdr[:n]
		if err != nil {
			if n == 0 && errors.Is(err, io.EOF) {
				return nil // empty body
			}
			return fmt.Errorf("inject: deflate: %w", err)
		}
		if hdr[0]&0x0f == 8 && hdr[0]>>4 <= 7 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			zr, err := zlib.NewReader(src)
			if err != nil {
				return fmt.Errorf("inject: deflate: %w", err)
			}
			r = zr
		} else {
			r = flate.NewReader(src)
		}
	default:
		return fmt.Errorf("inject: unsupported content coding %d", c)
	}
	buf := make([]byte, decodeBufSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if serr := sink(buf[:n]); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(err, decoderStopped{}) {
				return err
			}
			return fmt.Errorf("inject: decoding response body: %w", err)
		}
	}
}

// decoderStopped is returned to the decompressor when the coroutine is
// stopped before the input ended.
type decoderStopped struct{}

func (decoderStopped) Error() string { return "inject: decoder stopped" }

// decoderSource is the io.Reader (and io.ByteReader, so that the
// decompressors do not read ahead through a bufio.Reader) the decompressor
// pulls input from. When the current input is used up it suspends the
// coroutine until more arrives.
type decoderSource struct {
	d     *decoder
	yield func(struct{}) bool
}

// fill waits for input; it returns false at the end of input.
func (s *decoderSource) fill() (bool, error) {
	d := s.d
	for len(d.prefix) == 0 && len(d.in) == 0 {
		if d.eof {
			return false, nil
		}
		if !s.yield(struct{}{}) {
			return false, decoderStopped{}
		}
	}
	return true, nil
}

// pending fills the source and returns the bytes to read next: the held
// prefix first, then the input (never empty); io.EOF at the end.
func (s *decoderSource) pending() (*[]byte, error) {
	ok, err := s.fill()
	if !ok {
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	if len(s.d.prefix) > 0 {
		return &s.d.prefix, nil
	}
	return &s.d.in, nil
}

func (s *decoderSource) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	buf, err := s.pending()
	if err != nil {
		return 0, err
	}
	n := copy(p, *buf)
	*buf = (*buf)[n:]
	return n, nil
}

func (s *decoderSource) ReadByte() (byte, error) {
	buf, err := s.pending()
	if err != nil {
		return 0, err
	}
	b := (*buf)[0]
	*buf = (*buf)[1:]
	return b, nil
}
