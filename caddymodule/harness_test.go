package caddymodule_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/sessiongate/sessiongate/caddymodule"
	"github.com/sessiongate/sessiongate/internal/devidp"
	"github.com/sessiongate/sessiongate/internal/testredis"
)

const (
	testClientID     = "ehr-gateway"
	testClientSecret = "gateway-secret"
	testCookieSecret = "0123456789abcdef0123456789abcdef-test-secret"
)

// upstream is the "legacy app": it records what reaches it.
type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.last = r.Header.Clone()
		u.mu.Unlock()
		if serveStream(w, r) {
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/notes" {
			serveSaveNote(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"queue":[]}`)
			return
		}
		if page, ok := specialPages[r.URL.Path]; ok {
			for k, v := range page.headers {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, page.body)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>EHR</title></head><body>page %s</body></html>", r.URL.Path)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) lastHeader() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last.Clone()
}

// stack is one running Caddy with the gateway, the provider and the app.
type stack struct {
	t        *testing.T
	auditLog string // file receiving the session_gate.audit log; "" = none
	adminURL string // host:port of Caddy's admin API; "" = admin off
	idp      *devidp.Provider
	app      *upstream
	redis    *testredis.Server
	sites    map[string]string // site name → base URL
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startIdP starts the dev provider; while down is set (when not nil), every
// connection to it is dropped, as if it were unreachable.
func startIdP(t *testing.T, down *atomic.Bool) *devidp.Provider {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	users := append(devidp.DemoUsers(), devidp.User{
		Subject: "u-alice", Username: "alice", Password: "pw-alice", Name: "Alice Adams",
		Email: "alice@clinic.test", Groups: []string{"clinicians", "front-desk"},
	})
	idp, err := devidp.New(devidp.Options{
		Issuer: issuer, Users: users, AllowLoopbackRedirects: true,
		Clients: []devidp.Client{{ID: testClientID, Secret: testClientSecret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = idp
	if down != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						_ = c.Close()
						return
					}
				}
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			idp.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return idp
}

// siteBlock returns one site of the Caddyfile.
type site struct {
	name  string
	extra string // extra session_gate options
	store string // "" = redis
	raw   string // instead of session_gate + reverse_proxy, this site body
	// siteExtra is added to the site block after reverse_proxy (handle_errors)
	siteExtra string
}

// startStack loads a Caddyfile with one site per entry and returns the stack.
func startStack(t *testing.T, sites ...site) *stack {
	t.Helper()
	return startStackWith(t, stackOptions{}, sites...)
}

// startStackWithAudit is startStack with the audit log written to auditLog.
func startStackWithAudit(t *testing.T, auditLog string, sites ...site) *stack {
	t.Helper()
	return startStackWith(t, stackOptions{auditLog: auditLog}, sites...)
}

// stackOptions vary the stack for fault tests.
type stackOptions struct {
	auditLog         string       // file for the session_gate.audit log
	redisPersistence bool         // redis-server with an append-only file
	admin            bool         // Caddy's admin API on a free loopback port (stack.adminURL)
	idpDown          *atomic.Bool // drop every connection to the provider while set
}

// startStackWith is startStack with options.
func startStackWith(t *testing.T, o stackOptions, sites ...site) *stack {
	t.Helper()
	st := &stack{t: t, idp: startIdP(t, o.idpDown), app: newUpstream(t),
		redis: testredis.StartWith(t, testredis.Options{Persistence: o.redisPersistence}), sites: map[string]string{},
		auditLog: o.auditLog}
	if o.admin {
		st.adminURL = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	st.load(sites...)
	t.Cleanup(func() { _ = caddy.Stop() })
	return st
}

func (st *stack) caddyfile(sites ...site) string {
	var b strings.Builder
	admin := "off"
	if st.adminURL != "" {
		admin = st.adminURL
	}
	b.WriteString("{\n\tadmin " + admin + "\n\tauto_https off\n\tpersist_config off\n\tlog {\n\t\tlevel ERROR\n\t\texclude session_gate.audit\n\t}\n")
	if st.auditLog != "" {
		fmt.Fprintf(&b, "\tlog audit {\n\t\toutput file %s\n\t\tinclude session_gate.audit\n\t\tformat json\n\t\tlevel INFO\n\t}\n", st.auditLog)
	}
	b.WriteString("}\n")
	for _, s := range sites {
		base, ok := st.sites[s.name]
		if !ok {
			base = fmt.Sprintf("http://127.0.0.1:%d", freePort(st.t))
			st.sites[s.name] = base
		}
		if s.raw != "" {
			fmt.Fprintf(&b, "%s {\n\t%s\n}\n", base, s.raw)
			continue
		}
		store := "redis " + st.redis.URL
		if s.store != "" {
			store = s.store
		}
		fmt.Fprintf(&b, `%s {
	session_gate {
		issuer %s
		client_id %s
		client_secret %s
		scopes openid profile email groups
		cookie_secret %s
		store %s
		identity_headers {
			X-Forwarded-User sub
			X-Forwarded-Email email
			X-Forwarded-Groups groups
			X-Forwarded-Name name
		}
		%s
	}
	reverse_proxy %s
	%s
}
`, base, st.idp.Issuer(), testClientID, testClientSecret, testCookieSecret, store, s.extra, st.app.srv.URL, s.siteExtra)
	}
	return b.String()
}

// load (re)loads Caddy with the given sites; ports are kept per site name.
func (st *stack) load(sites ...site) {
	st.t.Helper()
	cfg, warn, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(st.caddyfile(sites...)), nil)
	if err != nil {
		st.t.Fatalf("adapt: %v (%v)", err, warn)
	}
	if err := caddy.Load(cfg, true); err != nil {
		st.t.Fatalf("load: %v", err)
	}
}
