package bench

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sessiongate/sessiongate/session"
)

// Markers delimit the harness's section of the benchmarks document.
const (
	SectionBegin = "<!-- bench:begin -->"
	SectionEnd   = "<!-- bench:end -->"
)

// Targets of issue #6.
const (
	targetRatio      = 0.90
	targetNavRatio   = 0.85
	targetNearMemory = 0.95
	// targetCopiedTrips allows the local copy's own background commands
	// (lease probe, tracking connection: about 40 a second).
	targetCopiedTrips   = 0.02
	targetRevocationP99 = 5 * time.Millisecond
	targetAddedP99      = 500 * time.Microsecond
	targetRoundTrips    = 1.0
	targetBytesSession  = 400.0
	targetLossPercent   = 10.0
)

// ReplaceSection returns doc with the text between SectionBegin and
// SectionEnd (markers included) replaced by section, or with section
// appended when the markers are absent. section must carry the markers.
func ReplaceSection(doc, section string) string {
	section = strings.TrimRight(section, "\n") + "\n"
	if i := strings.Index(doc, SectionBegin); i >= 0 {
		if j := strings.Index(doc[i:], SectionEnd); j >= 0 {
			end := i + j + len(SectionEnd)
			rest := strings.TrimPrefix(doc[end:], "\n")
			return doc[:i] + section + rest
		}
	}
	if doc != "" && !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	if doc != "" {
		doc += "\n"
	}
	return doc + section
}

// WriteSection replaces the section in the file at path (creating the file
// if needed).
func WriteSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(ReplaceSection(string(old), section)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Markdown renders the report as the section of docs/benchmarks.md,
// markers included.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := r.Config
	top := r.maxConns()
	w("%s\n## Gateway overhead end to end (issue #6)\n\n", SectionBegin)
	w("_This section is written by `make bench` (`internal/bench`); rerun it to refresh. Everything between the " +
		"`bench:begin`/`bench:end` comments is replaced._\n\n")
	m := r.Machine
	cpu := "`" + m.CPU + "`"
	if m.GoCPU != "" && m.GoCPU != m.CPU {
		cpu += " (Go reports `" + m.GoCPU + "`)"
	}
	w("Measured %s on %s, %d cores, %.1f GiB, %s %s, Redis %s.\n\n", r.Date.UTC().Format("2006-01-02 15:04 MST"),
		cpu, m.Cores, m.MemoryGiB, m.GoVersion, m.OS, m.RedisVersion)
	w("Setup: one Caddy loaded in-process (`admin off`, logs at ERROR) with six sites side by side on 127.0.0.1, "+
		"one upstream app (in the same process) serving a %s-byte HTML page, one redis-server, and the development "+
		"OpenID provider for the sign-ins. (a) is `reverse_proxy` alone; (b) `session_gate` with `store redis` + "+
		"`reverse_proxy`; (c) the same with `store memory`; (d) as (b) for a page navigation, so the banner is "+
		"injected; (e) `reverse_proxy` after one plain go-redis `PING` to the same Redis (a harness-only handler, "+
		"no session logic): the price of one round trip per request, whatever the check does; (f) as (b) with "+
		"`store redis <url> { local_cache off }`, every check one round trip (the gateway before the local copy, "+
		"measured alongside). (b) and (d) serve checks from the local copy that Redis keeps exact. Load: a separate Go process, keep-alive HTTP/1.1, each connection sending `GET /page`, "+
		"reading the whole response and sending again; %s warm-up + %s measured per point, %d rounds, each round "+
		"measuring every site in turn at one concurrency, in reverse order every other round. (b) and (c) are background requests (`Sec-Fetch-Mode: "+
		"cors`, `Sec-Fetch-Dest: empty`): checked, not activity, not injected. (d) is a navigation (`Sec-Fetch-Mode: "+
		"navigate`, `Sec-Fetch-Dest: document`, `Accept: text/html…`) without `Sec-Fetch-User`, so it is not "+
		"activity either (like a reload; the check does not write). (b)–(d) carry the session cookie of a real "+
		"sign-in through the provider; (a) and (e) get the same `Cookie` header. Identity headers: user, email, "+
		"groups, name. Load generator, Caddy and Redis share the machine's %d cores, so these numbers compare the "+
		"sites; they are not the gateway's capacity.\n\n",
		thousands(int64(r.PageBytes)), c.Warmup, c.Duration, c.Rounds, m.Cores)
	w("Comparisons are paired: \"× (a)\" is the median over the rounds of a site's req/s divided by (a)'s in the "+
		"same round (lowest–highest in brackets), and \"p99 − (a)\" the median of the rounds' p99 differences. "+
		"The machine's speed drifts within a run — in this one (a) alone, same settings, moved by %.0f%% between "+
		"rounds at %d connections — so a site's req/s moves from round to round and run to run far more than its "+
		"ratio to (a) measured seconds apart.\n\n", r.point(siteProxy, r.maxConns()).Spread(), r.maxConns())
	if r.LoadBefore != "" {
		w("Machine noise: 1-minute load average %s at the start, %s at the end; other processes kept %.2f "+
			"cores busy on average during the sweep.\n\n", r.LoadBefore, r.LoadAfter, r.otherCores())
	}

	w("### Throughput and latency\n\n")
	w("Latencies in ms. \"spread\": (max − min) / mean of the rounds' req/s. \"other\": cores kept busy by " +
		"processes other than the benchmark's own during the point (/proc/stat minus Caddy, Redis and the load " +
		"generator) — the machine's noise.\n\n")
	w("| site | conns | req/s | spread | × (a) | p50 | p99 | p99 − (a) | page MB/s | CPU µs/req: Caddy+app · Redis · load gen | other |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n")
	for _, s := range sites() {
		for _, n := range c.Conns {
			p, a := r.point(s.key, n), r.point(siteProxy, n)
			ratio, added := "", ""
			if s.key != siteProxy {
				x, lo, hi, d := p.Paired(a)
				ratio = fmt.Sprintf("%.2f× (%.2f–%.2f)", x, lo, hi)
				added = signedMS(d)
			}
			w("| %s | %d | %s | %.0f%% | %s | %s | %s | %s | %.1f | %.0f · %.0f · %.0f | %.2f |\n", s.title, n,
				thousands(int64(p.RPS())), p.Spread(), ratio, ms(p.P50), ms(p.P99), added, p.MBps(),
				us(p.cpuPerRequest(p.CaddyCPU)), us(p.cpuPerRequest(p.RedisCPU)), us(p.cpuPerRequest(p.LoadCPU)),
				p.OtherCores())
		}
	}
	w("\n")

	w("### Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range []struct {
		site, ref, what string
		min             float64
	}{
		{siteRedis, siteProxy, "(b) ≥ %.2f× (a) req/s, background requests, %d connection(s)", targetRatio},
		{siteInject, siteProxy, "(d) ≥ %.2f× (a) req/s, navigations (banner injected), %d connection(s)", targetNavRatio},
		{siteRedis, siteMemory, "(b) ≥ %.2f× (c) req/s (within 5%% of the memory store), %d connection(s)", targetNearMemory},
	} {
		for _, n := range c.Conns {
			x, lo, hi, _ := r.point(t.site, n).Paired(r.point(t.ref, n))
			w("| "+t.what+" | %.2f× (rounds %.2f–%.2f) | %s |\n", t.min, n, x, lo, hi, verdict(x >= t.min))
		}
	}
	for _, n := range c.Conns {
		_, _, _, added := r.point(siteRedis, n).Paired(r.point(siteProxy, n))
		_, _, _, floor := r.point(siteFloor, n).Paired(r.point(siteProxy, n))
		w("| ≤ %.1f ms added p99, (b) vs (a), %d connection(s) | %s ms (one plain PING, (e): %s ms) | %s |\n",
			targetAddedP99.Seconds()*1e3, n, signedMS(added), signedMS(floor), verdict(added <= targetAddedP99))
	}
	rt := r.RoundTrips
	copied := perRequest(rt.AuthMonitor, rt.AuthMonitorRequests)
	w("| no Redis round trip for an authenticated request whose session is in the local copy ((b)) | %.4f "+
		"commands per request (MONITOR over %s requests: the copy's lease probe and tracking connection, %s) | %s |\n",
		copied, thousands(rt.AuthMonitorRequests), callList(rt.AuthMonitor, rt.AuthMonitorRequests),
		verdict(copied <= targetCopiedTrips))
	trips := perRequest(withoutBackground(rt.NoCopyMonitor), rt.NoCopyMonitorRequests)
	evalsha := perRequestOf(rt.NoCopyCalls, rt.NoCopyRequests, "evalsha", "eval")
	w("| exactly 1 Redis round trip per authenticated request with `local_cache off` ((f)) | %.3f (MONITOR: "+
		"commands sent, %s requests); EVALSHA+EVAL %.3f (commandstats, %s requests) | %s |\n", trips,
		thousands(rt.NoCopyMonitorRequests), evalsha, thousands(rt.NoCopyRequests),
		verdict(near(trips, targetRoundTrips) && near(evalsha, targetRoundTrips)))
	if rv := r.Revocation; rv != nil {
		for _, p := range rv.Points {
			w("| revocation reaches the other node: p99 < %.0f ms on loopback, under load ((b), %d connections) | "+
				"p50 %s ms, p99 %s ms, max %s ms over %d revocations | %s |\n", targetRevocationP99.Seconds()*1e3,
				p.Conns, ms(p.P50), ms(p.P99), ms(p.Max), p.N, verdict(p.P99 < targetRevocationP99))
		}
	}
	forged := sum(withoutBackground(rt.ForgedCalls)) + sum(withoutBackground(rt.ForgedMonitor))
	w("| 0 Redis commands for a forged cookie (the local copies' background commands aside) | %d over %s requests "+
		"(commandstats) and %s (MONITOR) | %s |\n", forged,
		thousands(rt.ForgedRequests), thousands(rt.ForgedMonitorRequests), verdict(forged == 0))
	if r.Memory != nil {
		w("| ≤ %.0f bytes of Redis memory per session | %.0f bytes | %s |\n", targetBytesSession, r.Memory.PerSession,
			verdict(r.Memory.PerSession <= targetBytesSession))
		if o := r.Memory.OneDevice; o != nil {
			w("| ≤ %.0f bytes of Redis memory per session, one device per user | %.0f bytes | %s |\n",
				targetBytesSession, o.PerSession, verdict(o.PerSession <= targetBytesSession))
		}
	}
	if r.Live != nil {
		loss := r.Live.LossPercent()
		w("| < %.0f%% throughput loss with %s live sessions ((b), %d connections) | %s (%s → %s req/s); "+
			"relative to (a) measured alongside: %s | %s |\n",
			targetLossPercent, thousands(int64(r.Live.Sessions)), top, lossText(loss), thousands(int64(r.Live.Without.RPS())),
			thousands(int64(r.Live.With.RPS())), lossText(r.Live.NormalizedLossPercent()), verdict(loss < targetLossPercent))
	}
	w("\n")

	w("### The price of one round trip\n\n")
	w("| conns | (e) one PING × (a) | (b) × (a) | (b) × (e) | p99 − (a): (e) · (b) | PING per request in (e) |\n")
	w("|---:|---:|---:|---:|---|---:|\n")
	for _, n := range c.Conns {
		a, bp, e := r.point(siteProxy, n), r.point(siteRedis, n), r.point(siteFloor, n)
		ea, _, _, eAdded := e.Paired(a)
		ba, _, _, bAdded := bp.Paired(a)
		be, _, _, _ := bp.Paired(e)
		w("| %d | %.2f× | %.2f× | %.2f× | %s · %s ms | %.3f |\n", n, ea, ba, be, signedMS(eAdded), signedMS(bAdded),
			perRequestOf(e.Calls, e.Total, "ping"))
	}
	w("\n")

	r.revocationSection(w)

	w("### Redis commands per request\n\n")
	w("- Authenticated, (b) at %d connections, `INFO commandstats` deltas over %s requests (commands that the "+
		"Lua script runs are counted there too): %s.\n", top, thousands(rt.AuthRequests), callList(rt.AuthCalls, rt.AuthRequests))
	w("- Authenticated with `local_cache off`, (f) at %d connections, `INFO commandstats` over %s requests: %s; "+
		"`MONITOR` over %s requests: %s.\n", top, thousands(rt.NoCopyRequests), callList(rt.NoCopyCalls, rt.NoCopyRequests),
		thousands(rt.NoCopyMonitorRequests), callList(rt.NoCopyMonitor, rt.NoCopyMonitorRequests))
	w("- Authenticated, `MONITOR` (commands sent by clients; the script's own commands left out) over %s "+
		"requests: %s.\n", thousands(rt.AuthMonitorRequests), callList(rt.AuthMonitor, rt.AuthMonitorRequests))
	w("- Forged cookie (a well-formed value sealed with another secret) and a garbage cookie, answered 401 "+
		"without a store call: %s (commandstats, %s requests), %s (MONITOR, %s requests).\n\n",
		callList(rt.ForgedCalls, rt.ForgedRequests), thousands(rt.ForgedRequests),
		callList(rt.ForgedMonitor, rt.ForgedMonitorRequests), thousands(rt.ForgedMonitorRequests))

	if mem := r.Memory; mem != nil {
		w("### Redis memory per session\n\n")
		w("%s sessions (%s users × %d devices) created through `session.RedisStore.Create` from sessions with "+
			"sub, name, email, 2–3 groups, provider `sid`, device summary and IP: `used_memory` %s → %s bytes "+
			"(+%.1f MB), **%.0f bytes per session**. ",
			thousands(int64(mem.Sessions)), thousands(int64(mem.Users)), c.Devices, thousands(mem.UsedBefore),
			thousands(mem.UsedAfter), float64(mem.UsedAfter-mem.UsedBefore)/1e6, mem.PerSession)
		w("What the store keeps: one hash per user `sg:{user}` (MEMORY USAGE ≈ %.0f B per session, encoding "+
			"`%s`) holding a %d-byte record per session (sign-in time, last activity, policy, a digest of the "+
			"provider `sid`, device, IP) and the user's subject; and one entry per provider session in one of "+
			"4,096 bucket hashes `sg:sid:<bucket>` (≈ %.0f B per entry); plus the keyspace's dict and expiry "+
			"entries. The display claims (name, email, groups, extra claims) travel in the sealed session cookie "+
			"instead, unless they would make it too large.",
			mem.HashBytes, mem.HashEncoding, mem.RecordBytes, mem.SIDBytes)
		if o := mem.OneDevice; o != nil {
			w(" With one device per user (%s more sessions): **%.0f bytes per session** (the user's hash "+
				"≈ %.0f B, `%s`).", thousands(int64(o.Sessions)), o.PerSession, o.HashBytes, o.HashEncoding)
		}
		w(" Not in the figures: the user directory written at each sign-in (`RememberUser`: login name, "+
			"email, subject → %.0f bytes per user, i.e. %.0f per session at %d devices).",
			mem.DirectoryPerUser, mem.DirectoryPerUser/float64(c.Devices), c.Devices)
		if rm := mem.Rescue; rm != nil {
			w(" Rescued work (`rescue`, issue #17): a typed note of %d bytes sealed, kept for %s users, adds "+
				"**%.0f bytes per kept note**; one user's rescues filled to the bound (%d pieces of 128 KiB: "+
				"at most %d pieces and %d bytes a user) take %s bytes (MEMORY USAGE), and every piece expires "+
				"15 minutes after it was kept.",
				rm.NoteBytes, thousands(int64(rm.Notes)), rm.PerNote, rm.BoundPieces, session.MaxRescueSlots,
				session.MaxRescueBytes, thousands(rm.BoundUsage))
		}
		if mem.SignedInHashBytes > 0 {
			w(" For comparison, after a real sign-in through the development provider here: the user's hash "+
				"%d B (MEMORY USAGE), its record %d B, the session cookie %d B.",
				mem.SignedInHashBytes, mem.SignedInRecord, mem.SignedInCookie)
		}
		w("\n\n")
	}
	if l := r.Live; l != nil {
		w("Site (b) at %d connections, measured just before and just after creating them (%d × %s, each time "+
			"right after (a) as a reference for the machine's drift): %s req/s (p99 %s ms) without, %s req/s "+
			"(p99 %s ms) with %s live sessions: %s. (a) meanwhile: %s → %s req/s; (b)/(a): %.2f× → %.2f×, "+
			"%s. Other processes kept %.2f cores busy during the (b) runs before, %.2f after.\n\n", top, c.Rounds,
			c.Duration, thousands(int64(l.Without.RPS())), ms(l.Without.P99),
			thousands(int64(l.With.RPS())), ms(l.With.P99), thousands(int64(l.Sessions)), lossText(l.LossPercent()),
			thousands(int64(l.ProxyWithout.RPS())), thousands(int64(l.ProxyWith.RPS())),
			l.Without.RPS()/l.ProxyWithout.RPS(), l.With.RPS()/l.ProxyWith.RPS(), lossText(l.NormalizedLossPercent()),
			l.Without.OtherCores(), l.With.OtherCores())
	}

	if len(r.Micro) > 0 {
		w("### Micro-benchmarks\n\n`go test -run '^$' -bench … -benchmem -benchtime %s` (`gateway/hotpath_bench_test.go`, "+
			"`session/bench_test.go`; the Redis one against a private redis-server):\n\n", c.BenchTime)
		w("| package | benchmark | ns/op | B/op | allocs/op | other |\n|---|---|---:|---:|---:|---|\n")
		for _, mr := range r.Micro {
			w("| %s | %s | %s | %d | %d | %s |\n", mr.Package, mr.Name, thousands(int64(mr.NsPerOp+0.5)), mr.BPerOp,
				mr.AllocsOp, mr.Other)
		}
		w("\n")
	}

	w("### Where the time goes\n\n")
	for _, line := range r.whereTimeGoes() {
		w("- %s\n", line)
	}
	w("\n%s\n", SectionEnd)
	return b.String()
}

// Text renders the report's tables for the terminal (the same Markdown
// without the markers).
func (r *Report) Text() string {
	s := strings.TrimPrefix(r.Markdown(), SectionBegin+"\n")
	return strings.TrimSuffix(strings.TrimRight(s, "\n"), SectionEnd) + "\n"
}
