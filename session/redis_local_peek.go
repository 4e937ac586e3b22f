//go:build unix

package session

import "syscall"

// localCopySupported: the kernel can be asked about a socket here.
const localCopySupported = true

// peek asks the kernel about a socket without reading it (recv with
// MSG_PEEK, without waiting and without taking the connection's read lock,
// which a blocked reader may hold): whether bytes wait, and whether the
// connection has ended. One system call.
func peek(rc *syscall.RawConn) (waiting, ended bool) {
	if rc == nil {
		return false, true
	}
	var buf [1]byte
	err := (*rc).Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		case err != nil || n == 0:
			ended = true
		default:
			waiting = true
		}
	})
	return waiting, ended || err != nil
}

// awaitReadable blocks, through the runtime's poller and under the
// connection's read deadline, until the socket has bytes to read or has
// ended, without reading them. It returns an error when the deadline passed
// or the connection was closed first.
func awaitReadable(rc syscall.RawConn) error {
	var buf [1]byte
	return rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
	})
}
