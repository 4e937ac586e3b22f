//go:build !unix

package session

// unread cannot ask the kernel here: the invalidation reader's own pace is
// the bound (about one scheduling delay).
func (l *localCopy) unread() bool { return false }
