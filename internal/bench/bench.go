// Package bench is the end-to-end benchmark harness of issue #6: it starts,
// on loopback, an upstream app, a Redis server, the development OpenID
// provider and one in-process Caddy with five sites — (a) reverse_proxy
// alone, (b) session_gate with Redis, (c) session_gate with the memory store,
// (d) as (b) for page navigations (banner injected), (e) reverse_proxy after
// one plain Redis PING (the cost of a round trip alone) — and measures
// throughput and latency from a separate load-generator process, the Redis
// commands per request, Redis memory per session, the effect of 100,000 live
// sessions, the Go micro-benchmarks of the hot path and a CPU profile. The
// results are printed and written as a section of docs/benchmarks.md.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
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
		Out: "docs/benchmarks.md", Warmup: 250 * time.Millisecond, Duration: 1500 * time.Millisecond,
		Conns: []int{1, 16, 64}, Rounds: 6, Sessions: 100_000, Devices: 4,
		Micro: true, BenchTime: "1s", Profile: true, Root: ".", GoBin: "go",
	}
}

// Point is one site at one concurrency, merged over the rounds.
type Point struct {
	Site  string
	Conns int
	// Requests in the measured windows, Window their total length.
	Requests int64
	Window   time.Duration
	// Total requests including warm-up (the CPU and Redis counters span them).
	Total     int64
	BodyBytes int64
	P50, P99  time.Duration
	// CPU of the Caddy process (Caddy, gateway, in-process app), of
	// redis-server and of the load generator, over the whole runs.
	CaddyCPU, RedisCPU, LoadCPU time.Duration
	// Calls are the Redis command counts over the runs (INFO commandstats).
	Calls map[string]int64
	// RunWall is the wall time of the runs (warm-up and start-up included);
	// MachineBusy the CPU time all processes of the machine used meanwhile.
	RunWall, MachineBusy time.Duration
	// RoundRPS and RoundP99 are the req/s and the p99 latency of each round.
	RoundRPS  []float64
	RoundP99  []time.Duration
	latencies []int64
}

// Paired compares p with ref round by round — each round measured p right
// after ref at the same concurrency, so a change in the machine's speed
// between rounds cancels out — and returns the median, lowest and highest
// ratio of req/s and the median difference of p99 latency.
func (p *Point) Paired(ref *Point) (ratio, lo, hi float64, addedP99 time.Duration) {
	n := min(len(p.RoundRPS), len(ref.RoundRPS), len(p.RoundP99), len(ref.RoundP99))
	if n == 0 {
		return 0, 0, 0, 0
	}
	ratios := make([]float64, n)
	added := make([]time.Duration, n)
	for i := range n {
		ratios[i] = p.RoundRPS[i] / ref.RoundRPS[i]
		added[i] = p.RoundP99[i] - ref.RoundP99[i]
	}
	slices.Sort(ratios)
	slices.Sort(added)
	return median(ratios), ratios[0], ratios[n-1], median(added)
}

// median of sorted values (the mean of the middle two for an even count).
func median[T float64 | time.Duration](sorted []T) T {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// OtherCores is how many cores processes other than the benchmark's own
// (Caddy, redis-server, load generator) kept busy during the runs: the
// machine's noise.
func (p *Point) OtherCores() float64 {
	if p == nil || p.RunWall <= 0 || p.MachineBusy == 0 {
		return 0
	}
	other := p.MachineBusy - p.CaddyCPU - p.RedisCPU - p.LoadCPU
	return max(0, other.Seconds()/p.RunWall.Seconds())
}

// Spread is (max − min) / mean of the rounds' req/s, in percent.
func (p *Point) Spread() float64 {
	if p == nil || len(p.RoundRPS) < 2 {
		return 0
	}
	var sum float64
	for _, v := range p.RoundRPS {
		sum += v
	}
	return (slices.Max(p.RoundRPS) - slices.Min(p.RoundRPS)) / (sum / float64(len(p.RoundRPS))) * 100
}

// RPS is requests per second.
func (p *Point) RPS() float64 {
	if p == nil || p.Window <= 0 {
		return 0
	}
	return float64(p.Requests) / p.Window.Seconds()
}

// MBps is response-body megabytes (10^6) per second.
func (p *Point) MBps() float64 {
	if p == nil || p.Window <= 0 {
		return 0
	}
	return float64(p.BodyBytes) / 1e6 / p.Window.Seconds()
}

// cpuPerRequest returns d divided by the point's total requests.
func (p *Point) cpuPerRequest(d time.Duration) time.Duration {
	if p == nil || p.Total == 0 {
		return 0
	}
	return d / time.Duration(p.Total)
}

func (p *Point) add(r *LoadResult, caddyCPU, redisCPU, wall, busy time.Duration, calls map[string]int64) {
	p.RunWall += wall
	p.MachineBusy += busy
	if r.Window > 0 {
		p.RoundRPS = append(p.RoundRPS, float64(r.Requests)/r.Window.Seconds())
		round := slices.Clone(r.Latencies)
		slices.Sort(round)
		p.RoundP99 = append(p.RoundP99, time.Duration(percentile(round, 99)))
	}
	p.Requests += r.Requests
	p.Window += r.Window
	p.Total += r.Total
	p.BodyBytes += r.BodyBytes
	p.CaddyCPU += caddyCPU
	p.RedisCPU += redisCPU
	p.LoadCPU += r.CPU
	if p.Calls == nil {
		p.Calls = map[string]int64{}
	}
	for k, v := range calls {
		p.Calls[k] += v
	}
	p.latencies = append(p.latencies, r.Latencies...)
}

// finish computes the percentiles and drops the samples.
func (p *Point) finish() {
	slices.Sort(p.latencies)
	p.P50 = time.Duration(percentile(p.latencies, 50))
	p.P99 = time.Duration(percentile(p.latencies, 99))
	p.latencies = nil
}

// percentile returns the q-th percentile (nearest rank) of sorted samples.
func percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q/100*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// RoundTrips are Redis commands per request.
type RoundTrips struct {
	// Auth: site (b), from INFO commandstats over its highest-concurrency
	// points (commands Lua scripts run included), per request.
	AuthRequests int64
	AuthCalls    map[string]int64
	// AuthMonitor: commands sent by clients (MONITOR), per request.
	AuthMonitorRequests int64
	AuthMonitor         map[string]int64
	// Forged: a cookie sealed with another secret and a garbage cookie.
	ForgedRequests        int64
	ForgedCalls           map[string]int64
	ForgedMonitorRequests int64
	ForgedMonitor         map[string]int64
}

// LiveSessions compares (b) at the highest concurrency without and with
// the synthetic sessions in Redis; (a) is measured alongside each time, as a
// reference for drift in the machine's load.
type LiveSessions struct {
	Sessions                int
	Without, With           *Point
	ProxyWithout, ProxyWith *Point
}

// LossPercent is the throughput of (b) lost with the live sessions.
func (l *LiveSessions) LossPercent() float64 {
	if l == nil || l.Without.RPS() == 0 {
		return 0
	}
	return (l.Without.RPS() - l.With.RPS()) / l.Without.RPS() * 100
}

// NormalizedLossPercent is LossPercent of (b)'s req/s relative to (a)'s
// measured alongside: the part of the change the machine's drift does not
// explain.
func (l *LiveSessions) NormalizedLossPercent() float64 {
	if l == nil || l.Without.RPS() == 0 || l.ProxyWithout.RPS() == 0 || l.ProxyWith.RPS() == 0 {
		return 0
	}
	before := l.Without.RPS() / l.ProxyWithout.RPS()
	after := l.With.RPS() / l.ProxyWith.RPS()
	return (before - after) / before * 100
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

	logf("starting redis-server, the provider, the app and Caddy (sites a-e) …")
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
	// the machine's load spreads over all sites alike
	points := map[string]*Point{}
	for round := 1; round <= cfg.Rounds; round++ {
		for _, c := range cfg.Conns {
			for _, s := range sites() {
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

// harness runs measurements against a running env.
type harness struct {
	cfg  Config
	env  *env
	logf func(string, ...any)
}

// spec is the load point for site at conns with the given session cookie.
func (h *harness) spec(site string, conns int, cookie string) LoadSpec {
	hdr := backgroundHeaders()
	if site == siteInject {
		hdr = navigationHeaders(false) // a navigation, not user-activated: no activity
	}
	addr, raw := rawRequest(h.env.base[site], hdr, cookie)
	return LoadSpec{Addr: addr, Request: raw, Conns: conns, Warmup: h.cfg.Warmup, Duration: h.cfg.Duration,
		Status: 200}
}

// measure runs one load point and adds it to p with the CPU and Redis
// counters around it.
func (h *harness) measure(ctx context.Context, p *Point, spec LoadSpec) error {
	rs := h.env.redis
	callsBefore, err := rs.commandCalls(ctx)
	if err != nil {
		return err
	}
	redisBefore, err := rs.cpuTime(ctx)
	if err != nil {
		return err
	}
	runtime.GC() // start every point from the same heap state
	cpuBefore, busyBefore, start := processCPU(), machineBusy(), time.Now()
	res, err := runLoadProcess(ctx, h.cfg.Self, spec)
	if err != nil {
		return err
	}
	caddyCPU, busy, wall := processCPU()-cpuBefore, machineBusy()-busyBefore, time.Since(start)
	redisAfter, err := rs.cpuTime(ctx)
	if err != nil {
		return err
	}
	callsAfter, err := rs.commandCalls(ctx)
	if err != nil {
		return err
	}
	calls := diffCalls(callsBefore, callsAfter)
	delete(calls, "info") // the harness's own INFO calls
	if res.Errors > 0 || res.BadStatus > 0 {
		return fmt.Errorf("%d connection errors, %d responses with status %d (want %d) of %d",
			res.Errors, res.BadStatus, res.LastBadStatus, spec.Status, res.Total)
	}
	if res.Requests == 0 {
		return errors.New("no request completed in the measured window")
	}
	p.add(res, caddyCPU, redisAfter-redisBefore, wall, busy, calls)
	return nil
}

// forgedCookie is a well-formed session cookie sealed with another secret.
func forgedCookie() (string, error) {
	s, err := auth.NewSealer([]string{"an-attacker-s-own-secret-of-enough-length-000"})
	if err != nil {
		return "", fmt.Errorf("forged cookie: %w", err)
	}
	ref := session.Ref{ID: session.NewID(), UserKey: session.UserKey(sessionIssuer, "victim"),
		CreatedAt: time.Now().UnixMilli()}
	v, err := s.Seal("sessiongate-session", ref)
	if err != nil {
		return "", fmt.Errorf("forged cookie: %w", err)
	}
	return v, nil
}

// roundTrips counts Redis commands per authenticated and per forged request.
func (h *harness) roundTrips(ctx context.Context, rep *Report) error {
	top := rep.point(siteRedis, rep.maxConns())
	rep.RoundTrips.AuthRequests, rep.RoundTrips.AuthCalls = top.Total, top.Calls

	short := func(cookie string, status int) LoadSpec {
		s := h.spec(siteRedis, 4, cookie)
		s.Warmup, s.Duration, s.Status = 0, time.Second, status
		return s
	}
	run := func(spec LoadSpec) (int64, map[string]int64, error) {
		mon, err := h.env.redis.startMonitor()
		if err != nil {
			return 0, nil, err
		}
		res, err := runLoadProcess(ctx, h.cfg.Self, spec)
		seen := mon.stop()
		if err != nil {
			return 0, nil, err
		}
		if res.Errors > 0 || res.BadStatus > 0 {
			return 0, nil, fmt.Errorf("%d errors, %d responses with status %d (want %d)",
				res.Errors, res.BadStatus, res.LastBadStatus, spec.Status)
		}
		return res.Total, seen, nil
	}
	var err error
	if rep.RoundTrips.AuthMonitorRequests, rep.RoundTrips.AuthMonitor, err = run(short(h.env.cookie[siteRedis], 200)); err != nil {
		return fmt.Errorf("authenticated requests under MONITOR: %w", err)
	}

	forged, err := forgedCookie()
	if err != nil {
		return err
	}
	// INFO commandstats over a forged-cookie load point
	p := &Point{}
	spec := h.spec(siteRedis, 16, forged)
	spec.Warmup, spec.Duration, spec.Status = 0, time.Second, 401
	if err := h.measure(ctx, p, spec); err != nil {
		return fmt.Errorf("forged cookie: %w", err)
	}
	rep.RoundTrips.ForgedRequests, rep.RoundTrips.ForgedCalls = p.Total, p.Calls
	// and MONITOR over forged and garbage cookies
	n1, m1, err := run(short(forged, 401))
	if err != nil {
		return fmt.Errorf("forged cookie under MONITOR: %w", err)
	}
	n2, m2, err := run(short("Zm9yZ2VkLWdhcmJhZ2UtY29va2llLXZhbHVlLW5vdC1hLXJlYWwtc2Vzc2lvbg", 401))
	if err != nil {
		return fmt.Errorf("garbage cookie under MONITOR: %w", err)
	}
	for k, v := range m2 {
		m1[k] += v
	}
	rep.RoundTrips.ForgedMonitorRequests, rep.RoundTrips.ForgedMonitor = n1+n2, m1
	return nil
}

// profile takes a CPU profile of the Caddy process during (b) at conns.
func (h *harness) profile(ctx context.Context, conns int) (*ProfileSummary, error) {
	file, err := withCPUProfile(func() error {
		return h.measure(ctx, &Point{}, h.spec(siteRedis, conns, h.env.cookie[siteRedis]))
	})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	defer func() { _ = os.Remove(file) }()
	if h.cfg.ProfileDir != "" {
		if err := h.keepProfiles(ctx, conns, file); err != nil {
			return nil, err
		}
	}
	return summarizeProfile(ctx, h.cfg.GoBin, file)
}

// keepProfiles copies (b)'s profile to ProfileDir and takes those of (a)
// and (c) alongside.
func (h *harness) keepProfiles(ctx context.Context, conns int, siteB string) error {
	if err := os.MkdirAll(h.cfg.ProfileDir, 0o755); err != nil {
		return fmt.Errorf("profile dir: %w", err)
	}
	data, err := os.ReadFile(siteB)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := os.WriteFile(filepath.Join(h.cfg.ProfileDir, siteRedis+".pprof"), data, 0o644); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	for _, site := range []string{siteProxy, siteMemory} {
		file, err := withCPUProfile(func() error {
			return h.measure(ctx, &Point{}, h.spec(site, conns, h.env.cookie[site]))
		})
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		err = os.Rename(file, filepath.Join(h.cfg.ProfileDir, site+".pprof"))
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
	}
	h.logf("CPU profiles of (a), (b) and (c) kept in %s", h.cfg.ProfileDir)
	return nil
}

// liveSessions measures (b) at the highest concurrency, creates the
// synthetic sessions (measuring memory), and measures again.
func (h *harness) liveSessions(ctx context.Context, rep *Report) error {
	conns := rep.maxConns()
	hashBytes, record, err := signedInSession(ctx, h.env.redis)
	if err != nil {
		return err
	}
	live := &LiveSessions{Sessions: h.cfg.Sessions,
		Without: &Point{Site: siteRedis, Conns: conns}, With: &Point{Site: siteRedis, Conns: conns},
		ProxyWithout: &Point{Site: siteProxy, Conns: conns}, ProxyWith: &Point{Site: siteProxy, Conns: conns}}
	pair := func(b, a *Point, label string) error {
		for round := 1; round <= h.cfg.Rounds; round++ {
			h.logf("sites (a) and (b), %d connections, %s (%d/%d)", conns, label, round, h.cfg.Rounds)
			if err := h.measure(ctx, a, h.spec(siteProxy, conns, h.env.cookie[siteProxy])); err != nil {
				return err
			}
			if err := h.measure(ctx, b, h.spec(siteRedis, conns, h.env.cookie[siteRedis])); err != nil {
				return err
			}
		}
		return nil
	}
	if err := pair(live.Without, live.ProxyWithout, "before the live sessions"); err != nil {
		return err
	}
	h.logf("creating %d sessions (%d devices per user) through RedisStore.Create …", h.cfg.Sessions, h.cfg.Devices)
	mem, err := createSessions(ctx, h.env.redis, h.cfg.Sessions, h.cfg.Devices, 0)
	if err != nil {
		return err
	}
	mem.SignedInHashBytes, mem.SignedInRecord = hashBytes, record
	mem.SignedInCookie = int64(len(h.env.cookie[siteRedis]))
	rep.Memory = mem
	if err := pair(live.With, live.ProxyWith, fmt.Sprintf("with %d live sessions", h.cfg.Sessions)); err != nil {
		return err
	}
	for _, p := range []*Point{live.Without, live.With, live.ProxyWithout, live.ProxyWith} {
		p.finish()
	}
	rep.Live = live
	// the same with one device per user: the user's hash holds one session
	one := max(h.cfg.Sessions/5, 1)
	h.logf("creating %d more sessions, one device per user …", one)
	if mem.OneDevice, err = createSessions(ctx, h.env.redis, one, 1, 10_000_000); err != nil {
		return err
	}
	return nil
}
