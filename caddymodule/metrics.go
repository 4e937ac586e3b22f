package caddymodule

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessiongate/sessiongate/session"
)

// metrics are sessiongate's Prometheus collectors in Caddy's registry
// (served by Caddy's metrics endpoint). Handlers of one config share them.
type metrics struct {
	signIns     prometheus.Counter
	signOuts    *prometheus.CounterVec
	checks      prometheus.Histogram
	storeErrors prometheus.Counter
}

const metricsNamespace = "sessiongate"

// activeCountEvery is how long a count of active sessions is reused: the
// count scans the store.
const activeCountEvery = 15 * time.Second

// newMetrics registers the collectors in reg, or reuses those another
// session_gate handler of the same config registered.
// The active-sessions gauge counts under the limits limits returns.
func newMetrics(reg *prometheus.Registry, store session.Sessions, limits func() session.LimitTable) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry() // not collected, but keeps the gateway simple
	}
	m := &metrics{
		signIns: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "sign_ins_total",
			Help: "Completed sign-ins (new sessions).",
		})),
		signOuts: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "sign_outs_total",
			Help: "Ended sessions by reason: manual, idle, absolute, revoked, elsewhere, backchannel, admin, ended.",
		}, []string{"reason"})),
		checks: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "session_check_duration_seconds",
			Help:    "Time of one session check in the store (one Redis round trip).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		})),
		storeErrors: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "store_errors_total",
			Help: "Session checks that failed because the store was unavailable (requests refused).",
		})),
	}
	counter := &activeCounter{store: store, limits: limits}
	register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Name: "sessions_active",
		Help: "Live sessions in the store (all users and devices; refreshed at most every 15s).",
	}, counter.value))
	return m
}

// register adds c to reg, or returns the equal collector already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// a conflicting description is a programming error; keep the
		// unregistered collector working rather than failing requests
	}
	return c
}

// SignIn implements gateway.Metrics.
func (m *metrics) SignIn() { m.signIns.Inc() }

// SignOut implements gateway.Metrics.
func (m *metrics) SignOut(reason string) { m.signOuts.WithLabelValues(reason).Inc() }

// SessionCheck implements gateway.Metrics.
func (m *metrics) SessionCheck(d time.Duration, err error) {
	m.checks.Observe(d.Seconds())
	if err != nil {
		m.storeErrors.Inc()
	}
}

// activeCounter caches the store's session count for the gauge.
type activeCounter struct {
	store  session.Sessions
	limits func() session.LimitTable

	mu   sync.Mutex
	at   time.Time
	last float64
}

func (a *activeCounter) value() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.at) < activeCountEvery {
		return a.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := a.store.CountSessions(ctx, a.limits()); err == nil {
		a.last, a.at = float64(n), time.Now()
	}
	return a.last
}
