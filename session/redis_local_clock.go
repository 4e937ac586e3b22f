package session

import (
	"context"
	"time"
)

// clockSample is Redis TIME measured against this machine's monotonic
// clock: at the local instant at, Redis's clock read srv, within
// ±uncertainty (half the round trip).
type clockSample struct {
	at, srv     time.Time
	uncertainty time.Duration
}

// redisNow estimates Redis's time now: srv plus the time elapsed since at on
// the monotonic clock, so that a step of this machine's wall clock (NTP,
// an operator) changes nothing.
func (s clockSample) redisNow() time.Time { return s.srv.Add(time.Since(s.at)) }

// combineClocks makes one sample of several servers' (a Cluster's masters):
// the latest of their clocks, with an uncertainty that still covers each
// one's upper bound, so that no deadline is judged passed later than any
// master would judge it.
func combineClocks(samples []clockSample) clockSample {
	ref := samples[0].at
	for _, s := range samples[1:] {
		if s.at.After(ref) {
			ref = s.at
		}
	}
	out := clockSample{at: ref}
	for i, s := range samples {
		if projected := s.srv.Add(ref.Sub(s.at)); i == 0 || projected.After(out.srv) {
			out.srv = projected
		}
	}
	for _, s := range samples {
		if upper := s.srv.Add(ref.Sub(s.at) + s.uncertainty).Sub(out.srv); upper > out.uncertainty {
			out.uncertainty = upper
		}
	}
	return out
}

// now is Redis's time as this node estimates it and how far off it may be;
// ok is false when the copy may not be used (no lease).
func (l *localCopy) now() (now time.Time, margin time.Duration, ok bool) {
	if int64(l.table.since()) >= l.lease.Load() {
		return time.Time{}, 0, false
	}
	if l.clock != nil {
		return l.clock(), 0, true
	}
	s := l.best.Load()
	if s == nil {
		return time.Time{}, 0, false
	}
	return s.redisNow(), s.uncertainty + clockSlack, true
}

// addSample keeps the last clockSamples offsets and uses the one measured
// with the shortest round trip.
func (l *localCopy) addSample(s clockSample) {
	l.clockMu.Lock()
	defer l.clockMu.Unlock()
	l.clocks = append(l.clocks, s)
	if len(l.clocks) > clockSamples {
		l.clocks = l.clocks[1:]
	}
	best := l.clocks[0]
	for _, c := range l.clocks[1:] {
		if c.uncertainty < best.uncertainty {
			best = c
		}
	}
	l.best.Store(&best)
}

// clock measures the tracker's server's TIME against this machine's
// monotonic clock.
func (t *tracker) clock(ctx context.Context) (clockSample, error) {
	t0 := time.Now()
	srv, err := t.probe.Time(ctx).Result()
	if err != nil {
		return clockSample{}, err
	}
	rtt := time.Since(t0)
	return clockSample{at: t0.Add(rtt / 2), srv: srv, uncertainty: rtt / 2}, nil
}
