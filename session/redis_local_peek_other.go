//go:build !unix

package session

import (
	"errors"
	"syscall"
)

// localCopySupported: without MSG_PEEK the copy could not tell whether an
// announcement has reached this machine unread, so it is not offered.
const localCopySupported = false

// peek is never called here (localCopySupported).
func peek(*syscall.RawConn) (waiting, ended bool) { return false, true }

// awaitReadable is never called here (localCopySupported).
func awaitReadable(syscall.RawConn) error { return errors.ErrUnsupported }
