package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the benchmark ran.
type Machine struct {
	// CPU is the model name from /proc/cpuinfo; GoCPU what Go's testing
	// package reports (from CPUID), when the micro-benchmarks ran.
	CPU, GoCPU   string
	Cores        int
	MemoryGiB    float64
	GoVersion    string
	RedisVersion string
	OS           string
}

// describeMachine reads /proc/cpuinfo and /proc/meminfo (where present).
func describeMachine(_ context.Context, redisVersion string) (Machine, error) {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), RedisVersion: redisVersion,
		OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown CPU"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				if err != nil {
					_ = f.Close()
					return m, fmt.Errorf("meminfo %q: %w", rest, err)
				}
				m.MemoryGiB = kb / (1 << 20)
				break
			}
		}
		_ = f.Close()
	}
	return m, nil
}
