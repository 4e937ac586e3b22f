package bench

import (
	"fmt"
	"strings"
	"time"
)

// whereTimeGoes derives the notes from the CPU accounting and the profile.
func (r *Report) whereTimeGoes() []string {
	top := r.maxConns()
	a, bp := r.point(siteProxy, top), r.point(siteRedis, top)
	ca, cb := a.cpuPerRequest(a.CaddyCPU), bp.cpuPerRequest(bp.CaddyCPU)
	totalA := ca + a.cpuPerRequest(a.RedisCPU) + a.cpuPerRequest(a.LoadCPU)
	totalB := cb + bp.cpuPerRequest(bp.RedisCPU) + bp.cpuPerRequest(bp.LoadCPU)
	var out []string
	out = append(out, fmt.Sprintf("The run is CPU-bound: at %d connections the load generator, Caddy and redis-server "+
		"share %d cores. Per request, the Caddy process (with the in-process app) used %.0f µs of CPU in (a) and %.0f µs "+
		"in (b) (+%.0f µs for the gateway), redis-server %.0f µs in (b); with the load generator, %.0f µs vs %.0f µs in "+
		"all, so (b) can reach at most ≈ %.2f× the req/s of (a) on this machine (measured %.2f×).",
		top, r.Machine.Cores, us(ca), us(cb), us(cb-ca), us(bp.cpuPerRequest(bp.RedisCPU)), us(totalA), us(totalB),
		us(totalA)/us(totalB), paired(bp, a)))
	if e, f := r.point(siteFloor, top), r.point(siteNoCopy, top); e != nil && f != nil {
		first, mid := r.Config.Conns[0], midConns(r.Config.Conns)
		at := func(site string, n int) float64 { return paired(r.point(site, n), r.point(siteProxy, n)) }
		out = append(out, fmt.Sprintf("What a round trip costs: with one plain `PING` per request in front of "+
			"`reverse_proxy` (site (e)) the req/s are %.2f× (a)'s at %d connections (%.2f× at %d, %.2f× at %d), and "+
			"with `local_cache off` (site (f): one `EVALSHA` per request, pipelined with other concurrent checks) "+
			"%.2f× (%.2f×, %.2f×); Redis runs on the same 2 cores and must be woken for every request. With the "+
			"local copy, (b) sends Redis nothing per request (redis-server %.0f µs of CPU per request in (b), %.0f µs "+
			"in (f)) and reaches %.2f× (%.2f×, %.2f×), %.2f× (%.2f×, %.2f×) of the memory store (c): what is left "+
			"between (b) and (a) is the gateway's own work around the check, which (c) pays too.",
			at(siteFloor, top), top, at(siteFloor, first), first, at(siteFloor, mid), mid,
			at(siteNoCopy, top), at(siteNoCopy, first), at(siteNoCopy, mid),
			us(bp.cpuPerRequest(bp.RedisCPU)), us(f.cpuPerRequest(f.RedisCPU)),
			at(siteRedis, top), at(siteRedis, first), at(siteRedis, mid),
			paired(bp, r.point(siteMemory, top)), paired(r.point(siteRedis, first), r.point(siteMemory, first)),
			paired(r.point(siteRedis, mid), r.point(siteMemory, mid))))
	}
	if p := r.Profile; p != nil {
		out = append(out, fmt.Sprintf("CPU profile of the Caddy process during (b) at %d connections (%.1f s of samples "+
			"in %.1f s): session_gate's own code is %.1f%% of it — opening sealed cookies (HMAC-SHA256, AES-CTR, "+
			"base64, JSON; each only on its first request) %.1f%%, the session check (`RedisStore.Check`: the local copy, and "+
			"go-redis when the copy cannot answer; waiting for Redis costs no CPU) %.1f%%, header rewriting %.1f%%.", top, p.Seconds, p.Wall,
			p.Gateway, p.CookieOpen, p.StoreCheck, p.Headers))
		out = append(out, fmt.Sprintf("The rest is what (a) pays too: reverse_proxy %.1f%% (with the upstream round "+
			"trip's client side), the app's handler %.1f%%, Caddy's HTTP server and the runtime: garbage collection "+
			"(background mark) %.1f%%, allocation %.1f%%, socket system calls %.1f%% (flat).", p.Proxy, p.App, p.GC,
			p.Malloc, p.Syscalls))
		var tops []string
		for _, e := range p.Top {
			tops = append(tops, fmt.Sprintf("`%s` %.1f%%", e.Name, e.Flat))
		}
		out = append(out, "Most flat time: "+strings.Join(tops, ", ")+".")
	}
	if sv, ok := r.micro("HotPathServeHTTP"); ok {
		line := fmt.Sprintf("In isolation (micro-benchmark, memory store, no-op next handler) one authenticated pass "+
			"through the gateway costs %.1f µs and %d allocations (%d B)", sv.NsPerOp/1e3, sv.AllocsOp, sv.BPerOp)
		if ck, ok := r.micro("HotPathReadSessionCookie"); ok {
			line += fmt.Sprintf(", of which reading the cookie is %.1f µs and %d allocations", ck.NsPerOp/1e3, ck.AllocsOp)
			if op, ok := r.micro("HotPathOpenSessionCookie"); ok {
				line += fmt.Sprintf(" (opening it on its first request, before the gateway remembers it: %.1f µs, "+
					"%d allocations)", op.NsPerOp/1e3, op.AllocsOp)
			}
		}
		if rc, ok := r.micro("RedisStoreCheck"); ok {
			line += fmt.Sprintf("; a Redis check from one goroutine takes %.0f µs of wall time (one round trip on "+
				"loopback)", rc.NsPerOp/1e3)
		}
		out = append(out, line+".")
	}
	return out
}

func (r *Report) micro(name string) (MicroResult, bool) {
	for _, m := range r.Micro {
		if m.Name == name {
			return m, true
		}
	}
	return MicroResult{}, false
}

// midConns is the middle concurrency level measured.
func midConns(conns []int) int { return conns[len(conns)/2] }

// paired is p's median req/s ratio to ref (see Point.Paired).
func paired(p, ref *Point) float64 {
	ratio, _, _, _ := p.Paired(ref)
	return ratio
}

// otherCores is the average of Point.OtherCores over the sweep.
func (r *Report) otherCores() float64 {
	var busy, wall time.Duration
	for _, p := range r.Points {
		if p.MachineBusy == 0 {
			return 0
		}
		busy += p.MachineBusy - p.CaddyCPU - p.RedisCPU - p.LoadCPU
		wall += p.RunWall
	}
	if wall <= 0 {
		return 0
	}
	return max(0, busy.Seconds()/wall.Seconds())
}
