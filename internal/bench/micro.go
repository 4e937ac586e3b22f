package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path"
	"strconv"
	"strings"
)

// MicroResult is one line of `go test -bench -benchmem` output.
type MicroResult struct {
	Package  string
	Name     string // without the Benchmark prefix and the -GOMAXPROCS suffix
	NsPerOp  float64
	BPerOp   int64
	AllocsOp int64
	// Other holds the benchmark's own metrics (b.ReportMetric), as
	// "value unit" pairs joined by ", ".
	Other string
}

// microBenchmarks are the packages and benchmark patterns the harness runs.
func microBenchmarks() []struct{ pkg, pattern string } {
	return []struct{ pkg, pattern string }{
		{"./gateway", "^BenchmarkHotPath"},
		{"./session", "^Benchmark(Redis|Memory)StoreCheck"},
	}
}

// runMicro runs the micro-benchmarks with `go test` in root; it also
// returns the CPU name the testing package reports.
func runMicro(ctx context.Context, goBin, root, benchtime string) (out []MicroResult, cpu string, err error) {
	for _, b := range microBenchmarks() {
		cmd := exec.CommandContext(ctx, goBin, "test", "-run", "^$", "-bench", b.pattern, "-benchmem",
			"-benchtime", benchtime, "-count", "1", b.pkg)
		cmd.Dir = root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, "", fmt.Errorf("go test -bench %s %s: %w\n%s%s", b.pattern, b.pkg, err, stdout.Bytes(), stderr.Bytes())
		}
		res := parseBench(stdout.String())
		if len(res) == 0 {
			return nil, "", fmt.Errorf("go test -bench %s %s: no benchmark results:\n%s", b.pattern, b.pkg, stdout.Bytes())
		}
		out = append(out, res...)
		for line := range strings.Lines(stdout.String()) {
			if c, ok := strings.CutPrefix(line, "cpu: "); ok {
				cpu = strings.TrimSpace(c)
			}
		}
	}
	return out, cpu, nil
}

// parseBench parses `go test -bench -benchmem` output.
func parseBench(text string) []MicroResult {
	var out []MicroResult
	pkg, pending := "", ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p))
			continue
		}
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], "Benchmark") {
			pending = f[0] // the figures may follow on a later line, after a log line printed meanwhile
			f = f[1:]
		}
		if len(f) < 3 || pending == "" || !isCount(f[0]) || f[2] != "ns/op" {
			continue
		}
		r := MicroResult{Package: pkg, Name: strings.TrimPrefix(pending, "Benchmark")}
		pending = ""
		if i := strings.LastIndexByte(r.Name, '-'); i > 0 {
			if _, err := strconv.Atoi(r.Name[i+1:]); err == nil {
				r.Name = r.Name[:i]
			}
		}
		for i := 1; i+1 < len(f); i += 2 { // f[0] is the count, then value-unit pairs
			v, unit := f[i], f[i+1]
			switch unit {
			case "ns/op":
				r.NsPerOp, _ = strconv.ParseFloat(v, 64)
			case "B/op":
				r.BPerOp, _ = strconv.ParseInt(v, 10, 64)
			case "allocs/op":
				r.AllocsOp, _ = strconv.ParseInt(v, 10, 64)
			default:
				if r.Other != "" {
					r.Other += ", "
				}
				r.Other += v + " " + unit
			}
		}
		out = append(out, r)
	}
	return out
}

// isCount reports whether s is a benchmark's iteration count.
func isCount(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
