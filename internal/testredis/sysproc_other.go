//go:build !linux

package testredis

import "os/exec"

// setSysProcAttr does nothing outside Linux.
func setSysProcAttr(*exec.Cmd) {}
