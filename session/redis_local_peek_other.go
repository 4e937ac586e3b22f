//go:build !unix

package session

import "syscall"

// peek cannot ask the kernel here: the invalidation reader's own pace is
// the bound (about one scheduling delay), and a lost tracking connection is
// found by the lease probe.
func peek(*syscall.RawConn) (waiting, ended bool) { return false, false }
