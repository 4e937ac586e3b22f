package bench

import (
	"slices"
	"time"
)

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
	// NoCopy: site (f), local_cache off, as Auth and AuthMonitor.
	NoCopyRequests        int64
	NoCopyCalls           map[string]int64
	NoCopyMonitorRequests int64
	NoCopyMonitor         map[string]int64
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
