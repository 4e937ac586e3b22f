//go:build unix

package session

import "syscall"

// unread reports whether the invalidation connection has bytes the
// invalidation reader has not taken yet (or has ended): announcements that
// have reached this machine but may not be applied. It asks the kernel
// (recv with MSG_PEEK, without waiting and without taking the connection's
// read lock, which the blocked reader holds), so it costs one system call.
func (l *localCopy) unread() bool {
	rc := l.listenConn.Load()
	if rc == nil {
		return true
	}
	var buf [1]byte
	pending := true
	err := (*rc).Control(func(fd uintptr) {
		// a byte waits, or (0 bytes, no error) the connection ended;
		// EAGAIN: nothing to read
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		pending = err == nil
	})
	return pending || err != nil
}
