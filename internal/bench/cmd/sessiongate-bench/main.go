// Command sessiongate-bench is the end-to-end benchmark of issue #6 (`make
// bench`): it measures reverse_proxy alone against session_gate with Redis,
// with the memory store and with banner injection, the Redis cost per
// request and per session, and the hot path's micro-benchmarks, prints the
// tables and writes them into a section of docs/benchmarks.md. It exits
// non-zero only when the harness itself fails, never for a missed target.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sessiongate/sessiongate/internal/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sessiongate-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("sessiongate-bench", flag.ContinueOnError)
	worker := fs.Bool(bench.LoadWorkerFlag, false, "internal: run as the load generator (spec on stdin)")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "Markdown file whose bench section is replaced (\"\" = print only)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up before each measured point")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured time per point")
	conns := fs.String("conns", joinInts(cfg.Conns), "comma-separated concurrency levels")
	fs.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "sweeps over all sites, merged")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "live sessions for the memory and live-sessions runs (0 = skip)")
	fs.IntVar(&cfg.Devices, "devices", cfg.Devices, "sessions (devices) per user")
	fs.BoolVar(&cfg.Micro, "micro", cfg.Micro, "run the Go micro-benchmarks")
	fs.StringVar(&cfg.BenchTime, "benchtime", cfg.BenchTime, "-benchtime of the micro-benchmarks")
	fs.BoolVar(&cfg.Profile, "profile", cfg.Profile, "CPU-profile scenario (b)")
	fs.StringVar(&cfg.ProfileDir, "profile-dir", "", "also keep CPU profiles of (a), (b) and (c) in this directory")
	fs.StringVar(&cfg.Root, "root", cfg.Root, "module root (for go test)")
	fs.StringVar(&cfg.GoBin, "go", cfg.GoBin, "go command")
	fs.StringVar(&cfg.RedisServer, "redis-server", "", "redis-server binary (default: from PATH)")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *worker {
		return bench.RunLoadWorker(ctx, os.Stdin, os.Stdout)
	}
	var err error
	if cfg.Conns, err = parseInts(*conns); err != nil {
		return err
	}
	if !*quiet {
		cfg.Log = os.Stderr
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Print(rep.Text())
	if cfg.Out != "" {
		if err := bench.WriteSection(cfg.Out, rep.Markdown()); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote the bench section of %s\n", cfg.Out)
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-conns: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
