//go:build linux

package testredis

import (
	"os/exec"
	"syscall"
)

// setSysProcAttr makes the kernel kill redis-server if the test binary dies
// without running its cleanups (a panic or a -timeout), so no server is left
// behind.
func setSysProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
