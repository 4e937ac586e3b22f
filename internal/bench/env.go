package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	// The standard modules (reverse_proxy, the Caddyfile adapter, …).
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// Registers session_gate.
	_ "github.com/sessiongate/sessiongate/caddymodule"
	"github.com/sessiongate/sessiongate/internal/devidp"
	"github.com/sessiongate/sessiongate/internal/testredis"
)

// The benchmark's fixed configuration. The cookie secret is only for this
// loopback run.
const (
	benchClientID     = "bench-gateway"
	benchClientSecret = "bench-client-secret"
	benchCookieSecret = "sessiongate-bench-cookie-secret-0123456789abcdef"
	benchUser         = "bench"
	benchPassword     = "bench-password"
	idleTimeout       = 15 * time.Minute
	absoluteTimeout   = 9 * time.Hour
	// sessionCookie is the gateway's session cookie on plain HTTP.
	sessionCookie = "sessiongate"
	// pagePath is the upstream's HTML page.
	pagePath = "/page"
)

// Site names, in report order.
const (
	siteProxy  = "a"
	siteRedis  = "b"
	siteMemory = "c"
	siteInject = "d"
	siteFloor  = "e"
	siteNoCopy = "f"
)

// siteInfo describes one benchmarked site.
type siteInfo struct {
	key, title string
}

// sites lists the five sites in report order.
func sites() []siteInfo {
	return []siteInfo{
		{siteProxy, "(a) reverse_proxy alone"},
		{siteRedis, "(b) session_gate (Redis) + reverse_proxy"},
		{siteMemory, "(c) session_gate (memory) + reverse_proxy"},
		{siteInject, "(d) as (b), navigation: banner injected"},
		{siteFloor, "(e) reverse_proxy + one plain Redis PING"},
		{siteNoCopy, "(f) as (b), `local_cache off`"},
	}
}

// env is the running system under test.
type env struct {
	redis    *redisServer
	idp      *devidp.Provider
	idpSrv   *http.Server
	upstream *http.Server
	upAddr   string
	page     []byte
	base     map[string]string // site key → http://127.0.0.1:port
	cookie   map[string]string // site key → session cookie value
	caddyOn  bool
}

// startEnv starts Redis, the provider, the upstream app and Caddy with the
// sites, and signs in once on each gated site.
func startEnv(ctx context.Context, redisBin string) (e *env, err error) {
	e = &env{base: map[string]string{}, cookie: map[string]string{}, page: upstreamPage()}
	defer func() {
		if err != nil {
			e.stop()
			e = nil
		}
	}()
	if e.redis, err = startRedis(ctx, redisBin); err != nil {
		return nil, err
	}
	if err = e.startUpstream(); err != nil {
		return nil, err
	}
	if err = e.startIdP(); err != nil {
		return nil, err
	}
	if err = e.startCaddy(); err != nil {
		return nil, err
	}
	for _, s := range []string{siteRedis, siteMemory, siteInject, siteNoCopy} {
		v, err := signIn(ctx, e.base[s])
		if err != nil {
			return nil, fmt.Errorf("sign in on site (%s): %w", s, err)
		}
		e.cookie[s] = v
	}
	// sites (a) and (e) get the same Cookie header as (b), so that the
	// requests differ only in what the gateway does
	e.cookie[siteProxy] = e.cookie[siteRedis]
	e.cookie[siteFloor] = e.cookie[siteRedis]
	return e, nil
}

// stop stops everything that runs; stopping twice does nothing.
func (e *env) stop() {
	if e.caddyOn {
		_ = caddy.Stop()
		e.caddyOn = false
	}
	if e.idpSrv != nil {
		_ = e.idpSrv.Close()
		e.idpSrv = nil
	}
	if e.upstream != nil {
		_ = e.upstream.Close()
		e.upstream = nil
	}
	if e.redis != nil {
		e.redis.Stop()
		e.redis = nil
	}
}

// upstreamPage is the app's page: about 2 KB of HTML.
func upstreamPage() []byte {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Waiting room</title>" +
		"<link rel=\"stylesheet\" href=\"/static/app.css\"></head>\n<body><h1>Waiting room</h1>\n<table>" +
		"<tr><th>Time</th><th>Patient</th><th>Reason</th><th>Room</th></tr>\n")
	for i := 0; b.Len() < 1980; i++ {
		fmt.Fprintf(&b, "<tr><td>%02d:%02d</td><td>Patient %03d</td><td>Follow-up</td><td>%d</td></tr>\n",
			8+i/4, (i%4)*15, i+1, i%6+1)
	}
	b.WriteString("</table></body></html>\n")
	return []byte(b.String())
}

func (e *env) startUpstream() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	e.upAddr = l.Addr().String()
	page := e.page
	length := strconv.Itoa(len(page))
	e.upstream = &http.Server{ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != pagePath {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", length)
			_, _ = w.Write(page)
		})}
	go func() { _ = e.upstream.Serve(l) }()
	return nil
}

func (e *env) startIdP() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("provider: %w", err)
	}
	idp, err := devidp.New(devidp.Options{
		Issuer:                 "http://" + l.Addr().String(),
		AllowLoopbackRedirects: true,
		Users: []devidp.User{{
			Subject: "bench-user-0001", Username: benchUser, Password: benchPassword,
			Name: "Dr Bench Marker", Email: "bench.marker@clinic.example",
			Groups: []string{"clinicians", "front-desk", "billing"},
		}},
		Clients: []devidp.Client{{ID: benchClientID, Secret: benchClientSecret}},
	})
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("provider: %w", err)
	}
	e.idp = idp
	e.idpSrv = &http.Server{Handler: idp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.idpSrv.Serve(l) }()
	return nil
}

// caddyfile returns the sites side by side.
func (e *env) caddyfile() (string, error) {
	var b strings.Builder
	b.WriteString("{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n\tlog {\n\t\tlevel ERROR\n\t}\n}\n")
	for _, s := range sites() {
		port, err := testredis.FreePort()
		if err != nil {
			return "", err
		}
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		e.base[s.key] = base
		switch s.key {
		case siteProxy:
			fmt.Fprintf(&b, "%s {\n\treverse_proxy %s\n}\n", base, e.upAddr)
			continue
		case siteFloor:
			fmt.Fprintf(&b, "%s {\n\troute {\n\t\tbench_redis_ping %s\n\t\treverse_proxy %s\n\t}\n}\n", base,
				e.redis.URL, e.upAddr)
			continue
		}
		store := "redis " + e.redis.URL
		switch s.key {
		case siteMemory:
			store = "memory"
		case siteNoCopy:
			store += " {\n\t\t\tlocal_cache off\n\t\t}"
		}
		fmt.Fprintf(&b, `%s {
	session_gate {
		issuer %s
		client_id %s
		client_secret %s
		scopes openid profile email groups
		cookie_secret %s
		store %s
		idle_timeout %s
		absolute_timeout %s
		identity_headers {
			X-Forwarded-User sub
			X-Forwarded-Email email
			X-Forwarded-Groups groups
			X-Forwarded-Name name
		}
	}
	reverse_proxy %s
}
`, base, e.idp.Issuer(), benchClientID, benchClientSecret, benchCookieSecret, store,
			idleTimeout, absoluteTimeout, e.upAddr)
	}
	return b.String(), nil
}

func (e *env) startCaddy() error {
	text, err := e.caddyfile()
	if err != nil {
		return err
	}
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(text), nil)
	if err != nil {
		return fmt.Errorf("caddyfile: %w (%v)", err, warn)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("caddy load: %w", err)
	}
	e.caddyOn = true
	return nil
}
