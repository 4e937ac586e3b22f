package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sessiongate/sessiongate/session"
)

// RevocationResult is how long a session ended on one gateway node takes to
// be refused by another that holds it in its local copy, under load.
type RevocationResult struct {
	Points []RevocationPoint
	// TrackingKeys and TrackingPrefixes are what Redis keeps for the local
	// copies (INFO stats tracking_total_keys, tracking_total_prefixes) after
	// the revocations: in broadcast mode, prefixes and no key.
	TrackingKeys, TrackingPrefixes string
}

// RevocationPoint is one load level's revocations.
type RevocationPoint struct {
	Conns         int
	N             int
	P50, P99, Max time.Duration
	// RefusedP50 and RefusedP99 are when B's first refusing check started:
	// the window plus the pollers' own waits for a core.
	RefusedP50, RefusedP99 time.Duration
	// LoadRPS is site (b)'s throughput meanwhile.
	LoadRPS float64
}

// revocationsPerPoint is how many sessions are ended per load level.
const revocationsPerPoint = 200

// revocationLatency runs site (b) under load at each concurrency and, meanwhile,
// ends sessions on node A (a store with its own Redis client, as a second
// gateway node has) that node B (another, with the local copy on, in the
// process that runs Caddy) holds in its copy; it times from A's End returning
// to B's first check that refuses the session.
func (h *harness) revocationLatency(ctx context.Context, rep *Report) error {
	url := h.env.redis.URL
	nodes := make([]*session.RedisStore, 2)
	for i := range nodes {
		client, err := session.NewRedisClient(url)
		if err != nil {
			return err
		}
		defer client.Close()
		nodes[i] = session.NewRedisStore(client, session.Options{})
		defer nodes[i].Close()
	}
	a, b := nodes[0], nodes[1]
	for deadline := time.Now().Add(5 * time.Second); !b.ReadsLocally(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("revocation: node B's local copy was not trusted within 5 s")
		}
	}
	limits := session.LimitTable{Default: session.Limits{Idle: idleTimeout, Absolute: absoluteTimeout}}
	out := &RevocationResult{}
	for _, conns := range []int{16, rep.maxConns()} {
		spec := h.spec(siteRedis, conns, h.env.cookie[siteRedis])
		spec.Warmup, spec.Duration = 500*time.Millisecond, 10*time.Second // longer than the revocations take
		load := make(chan *LoadResult, 1)
		loadErr := make(chan error, 1)
		go func() {
			res, err := runLoadProcess(ctx, h.cfg.Self, spec)
			load <- res
			loadErr <- err
		}()
		time.Sleep(spec.Warmup)
		loadEnds := time.Now().Add(spec.Duration)
		p := RevocationPoint{Conns: conns}
		var lat, firsts []time.Duration
		for i := 0; i < revocationsPerPoint; i++ {
			s := &session.Session{ID: session.NewID(), UserKey: session.UserKey("bench", "revoked-"+strconv.Itoa(i)),
				Subject: "revoked-" + strconv.Itoa(i)}
			if _, err := a.Create(ctx, s, limits, session.CreateOptions{}); err != nil {
				return fmt.Errorf("revocation: %w", err)
			}
			for range 2 { // node B holds it (again, once the sign-in's announcement has come)
				if res, err := b.Check(ctx, s.Ref(), limits, false); err != nil || !res.Valid {
					return fmt.Errorf("revocation: node B refused a live session: %+v %v", res, err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			if err := a.End(ctx, s.Ref(), session.ReasonRevoked); err != nil {
				return fmt.Errorf("revocation: %w", err)
			}
			window, refused, err := staleWindow(ctx, b, s.Ref(), limits)
			if err != nil {
				return err
			}
			lat, firsts = append(lat, window), append(firsts, refused)
		}
		if time.Now().After(loadEnds) {
			return fmt.Errorf("revocation: the revocations outlasted the load on (b)")
		}
		res, err := <-load, <-loadErr
		if err != nil {
			return fmt.Errorf("revocation: load on (b): %w", err)
		}
		slices.Sort(lat)
		slices.Sort(firsts)
		p.N = len(lat)
		p.P50, p.P99, p.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
		p.RefusedP50, p.RefusedP99 = firsts[len(firsts)/2], firsts[len(firsts)*99/100]
		p.LoadRPS = float64(res.Requests) / res.Window.Seconds()
		out.Points = append(out.Points, p)
		h.logf("revocation under load at %d connections: p50 %v, p99 %v, max %v", conns, p.P50, p.P99, p.Max)
	}
	stats, err := h.env.redis.info(ctx, "stats")
	if err != nil {
		return err
	}
	out.TrackingKeys, out.TrackingPrefixes = stats["tracking_total_keys"], stats["tracking_total_prefixes"]
	rep.Revocation = out
	return nil
}

// revocationPollers check the ended session on node B side by side, so that
// one poller's scheduling delay under load leaves no gap in what B answered.
const revocationPollers = 4

// staleWindow checks ref on b from revocationPollers goroutines until each
// has seen it refused, and returns how long after its end (now) b still
// answered valid: the start of the last check that let it in (0 when none
// did).
func staleWindow(ctx context.Context, b *session.RedisStore, ref session.Ref, limits session.LimitTable) (last, firstRefused time.Duration, err error) {
	ended := time.Now()
	var mu sync.Mutex
	firstRefused = time.Hour
	var firstErr error
	var wg sync.WaitGroup
	for range revocationPollers {
		wg.Go(func() {
			for {
				start := time.Since(ended)
				res, err := b.Check(ctx, ref, limits, false)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = fmt.Errorf("revocation: %w", err)
				case err == nil && res.Valid && start > last:
					last = start
				case err == nil && !res.Valid && start < firstRefused:
					firstRefused = start
				}
				mu.Unlock()
				if err != nil || !res.Valid {
					return
				}
				if time.Since(ended) > 5*time.Second {
					mu.Lock()
					firstErr = fmt.Errorf("revocation: node B still let a session in 5 s after node A ended it")
					mu.Unlock()
					return
				}
				runtime.Gosched() // one of many request goroutines
			}
		})
	}
	wg.Wait()
	return last, firstRefused, firstErr
}

// revocationSection writes the revocation figures.
func (r *Report) revocationSection(w func(string, ...any)) {
	rv := r.Revocation
	if rv == nil {
		return
	}
	w("### Revocation between two nodes\n\n")
	w("While the load generator runs site (b), the harness signs sessions in on node A (a `session.RedisStore` " +
		"with its own Redis client, as a second gateway node has) and checks each twice on node B (another, " +
		"with the local copy on, in the process that runs Caddy, so under the same load), so that B holds it in " +
		"its copy; then A ends it (`End`, as a sign-out or a revocation does) and four goroutines on B check it " +
		"again and again (yielding between checks, like request goroutines) until each sees it refused. The " +
		"figure is the stale window: how long after A's `End` returned B still let the session in (the start of " +
		"the last check that answered valid; 0 when none did). The load keeps both cores busy, so a goroutine " +
		"may wait milliseconds for a core; the pollers side by side keep such a wait from hiding B's answers.\n\n")
	w("| (b) load, connections | (b) req/s meanwhile | revocations | stale window p50 | p99 | max | first refusing check started, p50 · p99 |\n|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range rv.Points {
		w("| %d | %s | %d | %s ms | %s ms | %s ms | %s · %s ms |\n", p.Conns, thousands(int64(p.LoadRPS)), p.N, ms(p.P50),
			ms(p.P99), ms(p.Max), ms(p.RefusedP50), ms(p.RefusedP99))
	}
	w("\nWhat Redis keeps for the local copies (the gateway's sites and these two nodes): `tracking_total_keys` "+
		"%s, `tracking_total_prefixes` %s (`INFO stats`) — broadcast mode tracks key prefixes, nothing per "+
		"session, so the memory per session below is the same with and without the copy.\n\n",
		rv.TrackingKeys, rv.TrackingPrefixes)
}
