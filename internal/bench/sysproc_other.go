//go:build !linux

package bench

import (
	"os/exec"
	"time"
)

// setSysProcAttr does nothing where there is no parent-death signal.
func setSysProcAttr(*exec.Cmd) {}

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }

// machineBusy is not measured here.
func machineBusy() time.Duration { return 0 }

// loadAverage is not known here.
func loadAverage() string { return "" }
