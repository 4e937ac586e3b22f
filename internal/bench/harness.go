package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

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
	noCopy := rep.point(siteNoCopy, rep.maxConns())
	rep.RoundTrips.NoCopyRequests, rep.RoundTrips.NoCopyCalls = noCopy.Total, noCopy.Calls

	shortOn := func(site, cookie string, status int) LoadSpec {
		s := h.spec(site, 4, cookie)
		s.Warmup, s.Duration, s.Status = 0, time.Second, status
		return s
	}
	short := func(cookie string, status int) LoadSpec { return shortOn(siteRedis, cookie, status) }
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
	rt := &rep.RoundTrips
	if rt.NoCopyMonitorRequests, rt.NoCopyMonitor, err = run(shortOn(siteNoCopy, h.env.cookie[siteNoCopy], 200)); err != nil {
		return fmt.Errorf("authenticated requests with local_cache off under MONITOR: %w", err)
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
