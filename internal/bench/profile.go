package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
)

// ProfileSummary is what a CPU profile of the Caddy process during scenario
// (b) says, in percent of the process's CPU samples.
type ProfileSummary struct {
	// Seconds of samples, Wall seconds of profiling.
	Seconds, Wall float64
	// Gateway is session_gate's own share: Gateway.ServeHTTP minus the
	// proxied request it calls.
	Gateway float64
	// CookieOpen, StoreCheck and Headers are parts of Gateway.
	CookieOpen, StoreCheck, Headers float64
	// Proxy is reverse_proxy (client side of the upstream request included).
	Proxy float64
	// App is the upstream app's handler (in-process).
	App float64
	// GC is background marking; Malloc is allocation (mallocgc, with assists).
	GC, Malloc float64
	// Syscalls is the flat time in system-call wrappers (socket reads/writes).
	Syscalls float64
	// Top are the functions with the most flat time.
	Top []ProfileEntry
}

// ProfileEntry is one function of a pprof -top listing.
type ProfileEntry struct {
	Name      string
	Flat, Cum float64 // percent of all samples
}

// withCPUProfile runs f while profiling this process's CPU and returns the
// profile's file name (the caller removes it).
func withCPUProfile(f func() error) (string, error) {
	file, err := os.CreateTemp("", "sessiongate-bench-*.pprof")
	if err != nil {
		return "", fmt.Errorf("cpu profile: %w", err)
	}
	defer func() { _ = file.Close() }()
	if err := pprof.StartCPUProfile(file); err != nil {
		_ = os.Remove(file.Name())
		return "", fmt.Errorf("cpu profile: %w", err)
	}
	ferr := f()
	pprof.StopCPUProfile()
	if ferr != nil {
		_ = os.Remove(file.Name())
		return "", ferr
	}
	return file.Name(), nil
}

// summarizeProfile runs `go tool pprof -top` on the profile and picks out
// the parts of the request path.
func summarizeProfile(ctx context.Context, goBin, profile string) (*ProfileSummary, error) {
	cmd := exec.CommandContext(ctx, goBin, "tool", "pprof", "-top", "-nodecount=100000", profile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go tool pprof: %w: %s", err, stderr.Bytes())
	}
	return parseProfileTop(stdout.String())
}

// parseProfileTop reads `go tool pprof -top` text.
func parseProfileTop(text string) (*ProfileSummary, error) {
	s := &ProfileSummary{}
	var entries []ProfileEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	inTable := false
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "Duration: "); ok {
			// Duration: 3.01s, Total samples = 5.20s (172.76%)
			wall, rest, _ := strings.Cut(d, ",")
			s.Wall = parseSeconds(wall)
			if _, total, ok := strings.Cut(rest, "= "); ok {
				total, _, _ = strings.Cut(total, " ")
				s.Seconds = parseSeconds(total)
			}
			continue
		}
		if strings.Contains(line, "flat%") && strings.Contains(line, "cum%") {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		flat, err1 := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		cum, err2 := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		entries = append(entries, ProfileEntry{Name: strings.Join(f[5:], " "), Flat: flat, Cum: cum})
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("pprof -top: no samples in the output:\n%.500s", text)
	}
	cum := func(suffixes ...string) float64 {
		var total float64
		for _, e := range entries {
			name := strings.TrimSuffix(e.Name, " (inline)")
			for _, suf := range suffixes {
				if strings.HasSuffix(name, suf) {
					total += e.Cum
				}
			}
		}
		return total
	}
	s.Proxy = cum("reverseproxy.(*Handler).ServeHTTP")
	s.Gateway = max(0, cum("gateway.(*Gateway).ServeHTTP")-s.Proxy)
	s.CookieOpen = cum("auth.(*Sealer).Open")
	s.StoreCheck = cum("session.(*RedisStore).Check")
	s.Headers = cum("gateway.(*Gateway).stripIdentityHeaders", "gateway.(*Gateway).setIdentityHeaders",
		"gateway.(*Gateway).stripGatewayCookies")
	s.App = cum("bench.(*env).startUpstream.func1")
	s.GC = cum("runtime.gcBgMarkWorker")
	s.Malloc = cum("runtime.mallocgc")
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name, " (inline)")
		// syscall.Syscall6, internal/runtime/syscall/linux.Syscall6, syscall.RawSyscall6, …
		if strings.Contains(n, "syscall") && (strings.HasSuffix(n, ".Syscall6") || strings.HasSuffix(n, ".Syscall") ||
			strings.HasSuffix(n, ".RawSyscall6")) {
			s.Syscalls += e.Flat
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Flat > entries[j].Flat })
	s.Top = entries[:min(5, len(entries))]
	return s, nil
}

// parseSeconds parses pprof's "3.01s", "850ms", "1.5mins".
func parseSeconds(v string) float64 {
	v = strings.TrimSpace(v)
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"mins", 60}, {"ms", 1e-3}, {"us", 1e-6}, {"µs", 1e-6}, {"s", 1}, {"hrs", 3600}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err == nil {
				return f * u.scale
			}
		}
	}
	return 0
}
