package caddymodule_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
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

// browser is one device: a cookie jar and Fetch Metadata like a real browser.
type browser struct {
	t      *testing.T
	client *http.Client
	base   string
}

func (st *stack) newBrowser(siteName string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: st.t, base: st.sites[siteName]}
	b.client = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	return b
}

// navigate is a top-level navigation typed in the address bar: the one
// navigation that counts as activity by itself (a link click counts through
// the banner's report of the click).
func (b *browser) navigate(path string) *http.Response {
	b.t.Helper()
	return b.do(http.MethodGet, path, map[string]string{
		"Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none",
		"Accept": "text/html,application/xhtml+xml",
	}, nil)
}

// background is a script's fetch/XHR.
func (b *browser) background(method, path string, hdr map[string]string) *http.Response {
	b.t.Helper()
	h := map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	return b.do(method, path, h, nil)
}

func (b *browser) do(method, path string, hdr map[string]string, body io.Reader) *http.Response {
	b.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = b.base + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// signIn navigates to path, signs in at the provider's form and returns the
// final response (the app's page).
func (b *browser) signIn(path, user, password string) *http.Response {
	b.t.Helper()
	resp := b.navigate(path)
	if !strings.Contains(resp.Request.URL.Path, devidp.LoginPath) {
		body := readBody(b.t, resp)
		b.t.Fatalf("expected the provider's login form, got %s %s: %.300s", resp.Request.URL, resp.Status, body)
	}
	final, err := devidp.SubmitLogin(b.client, resp, user, password)
	if err != nil {
		b.t.Fatalf("submit login: %v", err)
	}
	return final
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noRedirects returns a copy of the browser's client that stops at redirects.
func (b *browser) noRedirects() *http.Client {
	c := *b.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func submitLogin(b *browser, loginPage *http.Response, user, password string) (*http.Response, error) {
	return devidp.SubmitLogin(b.client, loginPage, user, password)
}

// submitAndCapture signs in and returns every Set-Cookie the gateway sent.
func submitAndCapture(b *browser, loginPage *http.Response) ([]string, error) {
	var got []string
	var mu sync.Mutex
	inner := b.client.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	c := *b.client
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := inner.RoundTrip(r)
		if err == nil && strings.HasPrefix(r.URL.String(), b.base) {
			mu.Lock()
			got = append(got, resp.Header.Values("Set-Cookie")...)
			mu.Unlock()
		}
		return resp, err
	})
	resp, err := devidp.SubmitLogin(&c, loginPage, "alice", "pw-alice")
	if err != nil {
		return nil, err
	}
	readBody(b.t, resp)
	return got, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type specialPage struct {
	headers map[string]string
	body    string
}

// specialPages are the legacy-app pages the browser tests need.
var specialPages = map[string]specialPage{
	// polls the server by XHR every second, as patient-queue screens do
	"/poll": {body: `<!doctype html><html><head><title>Queue</title></head><body><p id="n">0</p>
<script>var n=0;setInterval(function(){var x=new XMLHttpRequest();x.open("GET","/api/queue");
x.setRequestHeader("X-Requested-With","XMLHttpRequest");x.onload=function(){n++;document.getElementById("n").textContent=n;};x.send();},1000);</script>
</body></html>`},
	"/form": {body: `<!doctype html><html><head><title>Form</title></head><body><input id="q" autofocus></body></html>`},
	"/frameset": {body: `<!doctype html><html><head><title>Frames</title></head>
<frameset cols="25%,75%"><frame name="nav" src="/frame-nav"><frame name="main" src="/frame-main"></frameset></html>`},
	"/frame-nav":  {body: `<!doctype html><html><head><title>nav</title></head><body><a href="/frame-main" target="main">Patients</a></body></html>`},
	"/frame-main": {body: `<!doctype html><html><head><title>main</title></head><body><h1>Chart</h1></body></html>`},
	// global CSS that would flatten any ordinary overlay; html itself stays
	// displayed (with html hidden, nothing on the page can render at all)
	"/hostile": {body: `<!doctype html><html><head><title>Hostile</title><style>
*:not(html) { display: none !important; }
* { font-size: 2px !important; color: #fff !important; background: #fff !important; line-height: 0 !important;
    font-family: serif !important; visibility: hidden !important; }
div { font-size: 2px; } button { width: 1px !important; height: 1px !important; }
</style></head><body><div>app</div></body></html>`},
	// a strict nonce-based policy; the app's own script must keep working
	"/strict-csp": {headers: map[string]string{"Content-Security-Policy": "default-src 'none'; script-src 'nonce-app123' 'strict-dynamic'; style-src 'self'; base-uri 'none'"},
		body: `<!doctype html><html><head><title>Strict</title><script nonce="app123">document.addEventListener("DOMContentLoaded",function(){document.body.setAttribute("data-app-ran","yes");});</script></head><body><p>strict</p></body></html>`},
	// forms may only go to the app itself: the banner's sign-out must still reach the provider
	"/form-action-csp": {headers: map[string]string{"Content-Security-Policy": "form-action 'self'; script-src 'self'"},
		body: `<!doctype html><html><head><title>Forms</title></head><body><p>forms</p></body></html>`},
	// an older policy that relies on 'unsafe-inline': adding a nonce would break the app
	"/inline-csp": {headers: map[string]string{"Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; connect-src 'none'"},
		body: `<!doctype html><html><head><title>Inline</title></head><body><p>inline</p><script>document.body.setAttribute("data-app-ran","yes");</script></body></html>`},
}
