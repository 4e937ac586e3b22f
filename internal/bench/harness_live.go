package bench

import (
	"context"
	"fmt"
)

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
