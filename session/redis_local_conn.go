package session

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
)

// heldConn is the invalidation connection as go-redis reads it. held is true
// from the moment bytes are there to read until go-redis asks for more: the
// tracker reads one message at a time and applies it before it receives
// the next, and go-redis's reader (its buffer) asks the socket for more only
// when it holds no whole message. So while held is false, every
// announcement that has left the kernel whole has been applied; while it is
// true, one may wait in go-redis's buffer (unread). An announcement whose
// bytes arrive in parts (longer than a TCP segment, on a real network) and
// whose rest is late counts from its last byte, as if the network had
// delivered it whole then: go-redis asks for more while holding its start.
// That delay is the network's, like any other, and bounded the same way: a
// probe's PING answered behind it, or no lease after localProbeTimeout.
type heldConn struct {
	net.Conn
	rc      syscall.RawConn
	held    *atomic.Bool
	drained func()
}

// Read implements net.Conn: it marks the bytes held before it takes them
// from the kernel, where peek sees them until then.
func (c *heldConn) Read(p []byte) (int, error) {
	c.held.Store(false)
	c.drained()
	if err := awaitReadable(c.rc); err == nil {
		c.held.Store(true)
	}
	return c.Conn.Read(p)
}

// connWatch is what a tracker keeps of one of its connections.
type connWatch struct {
	// reset runs before each dial: the copy is dropped before a new
	// connection can look healthy to peek.
	reset func()
	// sock is the connection's socket, for peek.
	sock atomic.Pointer[syscall.RawConn]
	// held, when set, makes the connection a heldConn, kept in conn.
	held *atomic.Bool
	// drained runs each time go-redis asks a heldConn for more (held
	// turns false): waiting checks look again (settled)
	drained func()
	conn    atomic.Pointer[heldConn]
}

// watching wraps dial for one of a tracker's connections (see connWatch). A
// connection whose socket cannot be reached (a dialer's own type) is kept
// with a nil socket: peek then says it has ended, and the copy is not used.
func watching(dial func(context.Context, string, string) (net.Conn, error),
	w *connWatch) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		w.reset()
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		var rc syscall.RawConn
		if sc, ok := c.(syscall.Conn); ok {
			rc, _ = sc.SyscallConn()
		}
		if rc == nil {
			w.sock.Store(nil)
			return c, nil
		}
		w.sock.Store(&rc)
		if w.held == nil {
			return c, nil
		}
		w.held.Store(false)
		hc := &heldConn{Conn: c, rc: rc, held: w.held, drained: w.drained}
		w.conn.Store(hc)
		return hc, nil
	}
}
