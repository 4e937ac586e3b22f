// Package bench is the end-to-end benchmark harness of issue #6: it starts,
// on loopback, an upstream app, a Redis server, the development OpenID
// provider and one in-process Caddy with six sites — (a) reverse_proxy
// alone, (b) session_gate with Redis, (c) session_gate with the memory store,
// (d) as (b) for page navigations (banner injected), (e) reverse_proxy after
// one plain Redis PING (the cost of a round trip alone), (f) as (b) with
// local_cache off — and measures throughput and latency from a separate
// load-generator process, the Redis commands per request, how fast a
// revocation reaches another node under load, Redis memory per session, the
// effect of 100,000 live sessions, the Go micro-benchmarks of the hot path
// and a CPU profile. The
// results are printed and written as a section of docs/benchmarks.md.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Config is what a run measures; the command's flags fill it.
type Config struct {
	// Out is the Markdown file whose benchmark section is replaced (inserted
	// at the end if absent); "" prints only.
	Out string
	// Warmup and Duration of every load point.
	Warmup, Duration time.Duration
	// Conns are the concurrency levels.
	Conns []int
	// Rounds repeats the whole sweep; the points of all rounds are merged.
	Rounds int
	// Sessions live sessions are created for the memory and live-sessions
	// measurements, Devices per user; 0 sessions skips both.
	Sessions, Devices int
	// Micro runs the Go micro-benchmarks with BenchTime each.
	Micro     bool
	BenchTime string
	// Profile takes a CPU profile of (b) at the highest concurrency.
	Profile bool
	// ProfileDir, when set, also keeps CPU profiles of (a), (b) and (c) at
	// the highest concurrency there (<site>.pprof), for `go tool pprof`.
	ProfileDir string
	// Root is the module's root directory (for go test); GoBin the go command.
	Root, GoBin string
	// RedisServer is the redis-server binary ("" = from PATH).
	RedisServer string
	// Self is the harness executable, started again as the load generator
	// ("" = os.Executable).
	Self string
	// Log receives progress lines (nil = discard).
	Log io.Writer
}

// DefaultConfig returns the settings of `make bench`.
func DefaultConfig() Config {
	return Config{
		Out: "docs/benchmarks.md", Warmup: 250 * time.Millisecond, Duration: 500 * time.Millisecond,
		Conns: []int{1, 16, 64}, Rounds: 30, Sessions: 100_000, Devices: 4,
		Micro: true, BenchTime: "1s", Profile: true, Root: ".", GoBin: "go",
	}
}

// Report is everything one run measured.
type Report struct {
	Config     Config
	Date       time.Time
	Machine    Machine
	Points     []*Point // by site then concurrency
	RoundTrips RoundTrips
	Memory     *MemoryResult
	Live       *LiveSessions
	Revocation *RevocationResult
	Micro      []MicroResult
	Profile    *ProfileSummary
	PageBytes  int
	// LoadBefore and LoadAfter are the 1-minute load averages at the start
	// and at the end of the end-to-end measurements.
	LoadBefore, LoadAfter string
}

// point returns the point of site at conns, nil if not measured.
func (r *Report) point(site string, conns int) *Point {
	for _, p := range r.Points {
		if p.Site == site && p.Conns == conns {
			return p
		}
	}
	return nil
}

// maxConns is the highest concurrency measured.
func (r *Report) maxConns() int { return slices.Max(r.Config.Conns) }

// Run measures everything cfg asks for.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Conns) == 0 || cfg.Rounds < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 {
		return nil, errors.New("bench: need concurrency levels, at least one round and a positive duration")
	}
	if cfg.Devices < 1 {
		cfg.Devices = 1
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: own executable: %w", err)
		}
		cfg.Self = exe
	}
	rep := &Report{Config: cfg, Date: time.Now(), LoadBefore: loadAverage()}
	logf := func(format string, args ...any) { fmt.Fprintf(cfg.Log, format+"\n", args...) }

	logf("starting redis-server, the provider, the app and Caddy (sites a-f) …")
	e, err := startEnv(ctx, cfg.RedisServer)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	rep.PageBytes = len(e.page)
	if rep.Machine, err = describeMachine(ctx, e.redis.Version); err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, env: e, logf: logf}
	if err := h.verify(ctx); err != nil {
		return nil, err
	}

	// the sweep: rounds × concurrency × site, interleaved so that drift in
	// the machine's load spreads over all sites alike: short points, many
	// rounds, and the sites in reverse order every other round, so that no
	// site is always the furthest from (a)
	points := map[string]*Point{}
	for round := 1; round <= cfg.Rounds; round++ {
		order := sites()
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, c := range cfg.Conns {
			for _, s := range order {
				logf("round %d/%d: site (%s), %d connections", round, cfg.Rounds, s.key, c)
				key := fmt.Sprintf("%s/%d", s.key, c)
				if points[key] == nil {
					points[key] = &Point{Site: s.key, Conns: c}
				}
				if err := h.measure(ctx, points[key], h.spec(s.key, c, e.cookie[s.key])); err != nil {
					return nil, fmt.Errorf("site (%s) at %d connections: %w", s.key, c, err)
				}
			}
		}
	}
	for _, s := range sites() {
		for _, c := range cfg.Conns {
			p := points[fmt.Sprintf("%s/%d", s.key, c)]
			p.finish()
			rep.Points = append(rep.Points, p)
		}
	}

	logf("Redis commands per request …")
	if err := h.roundTrips(ctx, rep); err != nil {
		return nil, err
	}
	logf("revocation latency between two nodes under load …")
	if err := h.revocationLatency(ctx, rep); err != nil {
		return nil, err
	}
	if cfg.Profile {
		logf("CPU profile of site (b) at %d connections …", rep.maxConns())
		if rep.Profile, err = h.profile(ctx, rep.maxConns()); err != nil {
			return nil, err
		}
	}
	if cfg.Sessions > 0 {
		if err := h.liveSessions(ctx, rep); err != nil {
			return nil, err
		}
	}
	rep.LoadAfter = loadAverage()
	e.stop() // free the CPU for the micro-benchmarks
	if cfg.Micro {
		logf("micro-benchmarks (go test -bench) …")
		if rep.Micro, rep.Machine.GoCPU, err = runMicro(ctx, cfg.GoBin, cfg.Root, cfg.BenchTime); err != nil {
			return nil, err
		}
	}
	return rep, nil
}
