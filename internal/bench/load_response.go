package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// errMalformed marks a response the load generator cannot parse.
var errMalformed = errors.New("malformed HTTP response")

// readResponse reads one HTTP/1.1 response from br, discarding the body.
func readResponse(br *bufio.Reader) (status int, body int64, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, fmt.Errorf("read status line: %w", err)
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, fmt.Errorf("status line %q: %w", line, errMalformed)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, fmt.Errorf("status line %q: %w", line, errMalformed)
	}
	contentLength, chunked, keep := int64(-1), false, true
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, fmt.Errorf("read header: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, 0, false, fmt.Errorf("header %q: %w", line, errMalformed)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if contentLength, err = strconv.ParseInt(string(value), 10, 64); err != nil {
				return 0, 0, false, fmt.Errorf("content-length %q: %w", value, errMalformed)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case status < 200 || status == 204 || status == 304:
		return status, 0, keep, nil
	case chunked:
		body, err = discardChunked(br)
		return status, body, keep, err
	case contentLength >= 0:
		n, err := br.Discard(int(contentLength))
		if err != nil {
			return 0, 0, false, fmt.Errorf("read body: %w", err)
		}
		return status, int64(n), keep, nil
	default: // delimited by the end of the connection
		n, err := io.Copy(io.Discard, br)
		if err != nil {
			return 0, 0, false, fmt.Errorf("read body: %w", err)
		}
		return status, n, false, nil
	}
}

// discardChunked reads a chunked body and its trailer.
func discardChunked(br *bufio.Reader) (int64, error) {
	var total int64
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, fmt.Errorf("read chunk size: %w", err)
		}
		size := bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(size, ';'); i >= 0 {
			size = size[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("chunk size %q: %w", line, errMalformed)
		}
		if n == 0 {
			for { // trailer
				line, err := br.ReadSlice('\n')
				if err != nil {
					return 0, fmt.Errorf("read trailer: %w", err)
				}
				if l := string(line); l == "\r\n" || l == "\n" {
					return total, nil
				}
			}
		}
		if _, err := br.Discard(int(n)); err != nil {
			return 0, fmt.Errorf("read chunk: %w", err)
		}
		if _, err := br.Discard(2); err != nil {
			return 0, fmt.Errorf("read chunk end: %w", err)
		}
		total += n
	}
}
