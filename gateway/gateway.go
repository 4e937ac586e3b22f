// Package gateway is sessiongate's request handler without Caddy: the
// gateway endpoints under the path prefix, the session check on every
// request, the expiry responses, and the upstream hygiene (cookie and
// identity headers). The Caddy module wires it into a Caddy route; tests
// drive it with net/http/httptest alone.
package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/inject"
	"github.com/sessiongate/sessiongate/internal/background"
	"github.com/sessiongate/sessiongate/session"
)

// Next calls the rest of the handler chain (in Caddy: the reverse proxy).
type Next func(w http.ResponseWriter, r *http.Request) error

// Options assemble a Gateway.
type Options struct {
	Settings *config.Settings // defaults applied and validated
	Store    session.Store
	RP       *auth.RelyingParty
	Sealer   *auth.Sealer
	Logger   *zap.Logger // may be nil
	// Audit receives one event per sign-in and sign-out; may be nil.
	Audit *zap.Logger
	// Now is the gateway's clock (the store keeps its own); default time.Now.
	Now func() time.Time
	// Metrics receives counters and timings; may be nil.
	Metrics Metrics
}

// Gateway serves one site's session gate.
type Gateway struct {
	cfg *config.Settings
	// sessions is the store's sessions, wrapped so that ending one on this
	// node cuts off its long-lived responses (see endingStore)
	sessions  session.Sessions
	directory session.Directory
	shared    session.SharedState
	rescues   session.Rescues
	rp        *auth.RelyingParty
	sealer    *auth.Sealer
	refs      *refCache
	log       *zap.Logger
	audit     *zap.Logger
	// inForce holds the limit table in force (see org_timeout.go); orgMu
	// orders a manager's save against the follower's read-and-apply
	inForce         atomic.Pointer[limitsInForce]
	orgMu           sync.Mutex
	metrics         Metrics
	identityHeaders []string // names of identity_headers, for stripping client copies
	now             func() time.Time
	banner          inject.Banner
	inject          *inject.Injector
	texts           map[string]string
	pages           *pages
	prefix          string
	streams         *streamWatcher
	// background runs the gateway's goroutines; Close stops them all.
	background *background.Group
}

// New builds a Gateway.
func New(o Options) (*Gateway, error) {
	if o.Settings == nil || o.Store == nil || o.RP == nil || o.Sealer == nil {
		return nil, fmt.Errorf("gateway: settings, store, relying party and sealer are required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Audit == nil {
		o.Audit = o.Logger.Named("audit")
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	g := &Gateway{
		cfg: o.Settings, directory: o.Store, shared: o.Store, rescues: o.Store, rp: o.RP, sealer: o.Sealer, refs: newRefCache(), log: o.Logger, audit: o.Audit,
		metrics: o.Metrics,
		now:     o.Now,
		banner:  inject.NewBanner(),
		texts:   o.Settings.Banner.ScriptTexts(),
		pages:   p,
		prefix:  o.Settings.PathPrefix,
	}
	in, err := inject.New(inject.Options{ScriptSrc: g.BannerSrc(), ConnectPath: g.prefix + "/"})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.inject = in
	g.background = background.New()
	g.streams = newStreamWatcher(g.recheckStream, o.Logger, g.background)
	g.sessions = endingStore{Sessions: o.Store, streams: g.streams}
	for name := range o.Settings.IdentityHeaders {
		g.identityHeaders = append(g.identityHeaders, name)
	}
	g.applyOrgAbsoluteTimeout(nil, 0)
	if o.Settings.AdminGroup != "" {
		g.background.Go(g.followOrgAbsoluteTimeout)
	}
	return g, nil
}

// Close stops the gateway's background work (following the organization's
// absolute timeout, watching long-lived responses) and returns when it has ended; the
// long-lived responses it watched are cut off, as nothing would end them
// with their session any more. The store is the caller's.
func (g *Gateway) Close() {
	g.streams.close()
	g.background.Stop()
}

// ServeHTTP handles one request: a gateway endpoint, or a gated request
// that is passed to next only with a valid session.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, next Next) (err error) {
	if g.isGatewayPath(r.URL.Path) {
		return g.serveEndpoint(w, r, next)
	}
	g.stripIdentityHeaders(r)
	ref, ok := g.readSessionCookie(r)
	if !ok {
		g.keepSentForm(r)
		return g.unauthenticated(w, r)
	}
	res, err := g.check(r, ref, g.isActivity(r))
	if err != nil {
		g.log.Error("session store unavailable; refusing request", zap.Error(err))
		return g.storeUnavailable(w, r)
	}
	if !res.Valid {
		g.keepSentForm(r)
		g.ended(w, r, res.Reason)
		return nil
	}
	g.stripGatewayCookies(r)
	g.setIdentityHeaders(r, res.Session)
	injecting := g.inject.PrepareRequest(r)
	r, stream := g.streams.track(r, ref)
	defer g.streams.finish(stream)
	w = guardCookies(w)
	if !injecting {
		return next(w, r)
	}
	iw := g.inject.Wrap(w, r)
	// deferred: an aborted response (Caddy's proxy panics with
	// http.ErrAbortHandler) must still release the injector's decoder
	defer func() {
		if cerr := iw.Close(); err == nil {
			err = cerr
		}
	}()
	return next(iw, r)
}

// isGatewayPath reports whether p is under the prefix; case, dot and
// separator tricks ("/.SessionGate/", "/x/../.sessiongate/",
// "/.sessiongate;x/", "/.sessiongate./", "/.sessiongate\\status") count too,
// so that they are never proxied to an app whose server may read them as
// the prefix.
func (g *Gateway) isGatewayPath(p string) bool {
	lpre := strings.ToLower(g.prefix)
	for _, lp := range []string{strings.ToLower(p), looseSegments(strings.ToLower(p))} {
		if strings.Contains(lp, lpre+"/") || strings.HasSuffix(lp, lpre) {
			return true
		}
	}
	return false
}

// looseSegments reads a path as lenient servers do: a backslash separates
// segments, and each segment ends at ';' (path parameters) or NUL and loses
// trailing dots and spaces (Windows).
func looseSegments(p string) string {
	segs := strings.Split(strings.ReplaceAll(p, `\`, "/"), "/")
	for i, s := range segs {
		if j := strings.IndexAny(s, ";\x00"); j >= 0 {
			s = s[:j]
		}
		segs[i] = strings.TrimRight(s, ". ")
	}
	return strings.Join(segs, "/")
}

func (g *Gateway) endpoint(name string) string { return g.prefix + "/" + name }
