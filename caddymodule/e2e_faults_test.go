package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/gateway"
	"github.com/sessiongate/sessiongate/internal/devidp"
	"github.com/sessiongate/sessiongate/session"
)

// loadGen sends a steady mix of page navigations and background requests
// with one browser's cookies from several workers and counts the answers.
type loadGen struct {
	ok, unavailable, unauthorized, redirected, failed, other atomic.Int64
	// retried counts GETs resent once after a transport error on a reused
	// keep-alive connection (closed by a server that was shutting down), as
	// browsers do silently; failed counts errors that remained.
	retried     atomic.Int64
	lastFailure atomic.Value
	stop        chan struct{}
	wg          sync.WaitGroup
}

func startLoad(t *testing.T, b *browser, workers int) *loadGen {
	t.Helper()
	client := &http.Client{Jar: b.client.Jar, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	lg := &loadGen{stop: make(chan struct{})}
	for w := range workers {
		lg.wg.Add(1)
		go func() {
			defer lg.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-lg.stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/load/%d/%d", b.base, w, i), nil)
				if i%2 == 0 { // a page the app reloads by itself (not user activity)
					req.Header.Set("Sec-Fetch-Mode", "navigate")
					req.Header.Set("Sec-Fetch-Dest", "document")
					req.Header.Set("Accept", "text/html")
				} else {
					req.URL.Path = "/api/queue"
					req.Header.Set("Sec-Fetch-Mode", "cors")
					req.Header.Set("Accept", "application/json")
				}
				resp, err := client.Do(req)
				if err != nil {
					lg.retried.Add(1)
					resp, err = client.Do(req.Clone(req.Context()))
				}
				if err != nil {
					lg.failed.Add(1)
					lg.lastFailure.Store(err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					lg.ok.Add(1)
				case http.StatusServiceUnavailable:
					lg.unavailable.Add(1)
				case http.StatusUnauthorized:
					lg.unauthorized.Add(1)
				case http.StatusFound:
					lg.redirected.Add(1)
				default:
					lg.other.Add(1)
					lg.lastFailure.Store(resp.Status)
				}
			}
		}()
	}
	t.Cleanup(lg.halt)
	return lg
}

func (lg *loadGen) halt() {
	select {
	case <-lg.stop:
	default:
		close(lg.stop)
	}
	lg.wg.Wait()
}

func (lg *loadGen) reset() {
	for _, c := range []*atomic.Int64{&lg.ok, &lg.unavailable, &lg.unauthorized, &lg.redirected, &lg.failed, &lg.other, &lg.retried} {
		c.Store(0)
	}
}

func (lg *loadGen) String() string {
	return fmt.Sprintf("ok %d, 503 %d, 401 %d, 302 %d, failed %d, other %d, resent once %d (last: %v)", lg.ok.Load(), lg.unavailable.Load(),
		lg.unauthorized.Load(), lg.redirected.Load(), lg.failed.Load(), lg.other.Load(), lg.retried.Load(), lg.lastFailure.Load())
}

// Redis stops under load: every request is refused (503), none reaches the
// app; Redis comes back: service resumes within 2 s without restarting
// Caddy, and with persistence the sessions are still valid.
func TestStoreOutageUnderLoad(t *testing.T) {
	st := startStackWith(t, stackOptions{redisPersistence: true}, site{name: "main"})
	if !st.redis.Managed() {
		t.Skip("needs a managed redis-server")
	}
	b, other := st.newBrowser("main"), st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	expectApp(t, other.signIn("/", "clinician", "demo"), "/")
	lg := startLoad(t, b, 8)
	time.Sleep(400 * time.Millisecond)
	if lg.ok.Load() == 0 || lg.failed.Load()+lg.other.Load() != 0 {
		t.Fatalf("before the outage: %s", lg)
	}

	st.redis.Stop(t)
	time.Sleep(300 * time.Millisecond) // requests that were checked before the stop finish
	hits := st.app.hits.Load()
	lg.reset()
	time.Sleep(time.Second)
	if got := st.app.hits.Load() - hits; got != 0 {
		t.Fatalf("%d requests reached the app while the store was down (%s)", got, lg)
	}
	if lg.ok.Load() != 0 || lg.unavailable.Load() == 0 || lg.failed.Load()+lg.other.Load()+lg.redirected.Load() != 0 {
		t.Fatalf("during the outage every request must get 503: %s", lg)
	}

	st.redis.Restart(t)
	back := time.Now()
	for lg.reset(); lg.ok.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Since(back) > time.Second {
			t.Fatalf("service did not resume within 1s of Redis coming back: %s", lg)
		}
	}
	t.Logf("service resumed %v after Redis came back", time.Since(back).Round(time.Millisecond))
	lg.halt()
	// with persistence, sessions from before the outage are still valid
	expectApp(t, b.navigate("/after"), "/after")
	expectApp(t, other.navigate("/after"), "/after")
}

// statusOf reads a browser's /status on base (a node's URL).
func statusOf(t *testing.T, b *browser, base string) (code int, s map[string]any) {
	t.Helper()
	resp := b.do(http.MethodGet, base+"/.sessiongate/status", map[string]string{"Sec-Fetch-Mode": "cors", "Accept": "application/json"}, nil)
	body := readBody(t, resp)
	_ = json.Unmarshal([]byte(body), &s)
	return resp.StatusCode, s
}

// A reload through the admin API with a new policy while requests flow:
// no request fails, no session is lost (memory and Redis), the new policy
// applies to live sessions at once.
func TestReloadUnderLoad(t *testing.T) {
	for _, store := range []string{"memory", ""} {
		name := map[string]string{"memory": "memory", "": "redis"}[store]
		t.Run(name, func(t *testing.T) {
			st := startStackWith(t, stackOptions{admin: true}, site{name: "main", store: store})
			b := st.newBrowser("main")
			expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
			if _, s := statusOf(t, b, st.sites["main"]); s["idle_timeout"] != float64(15*time.Minute/time.Millisecond) {
				t.Fatalf("before: %v", s)
			}
			lg := startLoad(t, b, 8)
			time.Sleep(300 * time.Millisecond)
			for i, idle := range []string{"20m", "25m", "30m"} {
				cf := st.caddyfile(site{name: "main", store: store, extra: "idle_timeout " + idle})
				req, _ := http.NewRequest(http.MethodPost, "http://"+st.adminURL+"/load", strings.NewReader(cf))
				req.Header.Set("Content-Type", "text/caddyfile")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("reload %d: %v", i, err)
				}
				if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
					t.Fatalf("reload %d: %s %s", i, resp.Status, body)
				}
				time.Sleep(300 * time.Millisecond)
			}
			lg.halt()
			if lg.ok.Load() == 0 || lg.ok.Load() != lg.ok.Load()+lg.unavailable.Load()+lg.unauthorized.Load()+lg.redirected.Load()+lg.failed.Load()+lg.other.Load() {
				t.Fatalf("requests failed during the reloads: %s", lg)
			}
			t.Logf("during three reloads: %s", lg)
			// the session survived and runs under the new policy
			if code, s := statusOf(t, b, st.sites["main"]); code != 200 || s["idle_timeout"] != float64(30*time.Minute/time.Millisecond) {
				t.Fatalf("after the reloads: %d %v", code, s)
			}
			expectApp(t, b.navigate("/after"), "/after")
		})
	}
}

// submitLoginWith submits the provider's login form with client.
func submitLoginWith(client *http.Client, loginPage *http.Response, user, password string) (*http.Response, error) {
	return devidp.SubmitLogin(client, loginPage, user, password)
}

// startNodeB runs a second, independent gateway node (its own handler and
// Redis client) on the same Redis as the stack's site, in front of the same app.
func startNodeB(t *testing.T, st *stack) string {
	t.Helper()
	cfg := &config.Settings{Issuer: st.idp.Issuer(), ClientID: testClientID, ClientSecret: testClientSecret,
		CookieSecrets: []string{testCookieSecret}, Store: config.StoreConfig{Kind: config.StoreRedis, URL: st.redis.URL},
		Scopes: []string{"openid", "profile", "email", "groups"}}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	client, err := session.NewRedisClient(st.redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	sealer, err := auth.NewBoundSealer(cfg.CookieSecrets, cfg.Issuer+" "+cfg.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Settings: cfg, Store: session.NewRedisStore(client, session.Options{}), Sealer: sealer,
		RP:     auth.New(auth.Config{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: cfg.Scopes}),
		Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	appURL, _ := url.Parse(st.app.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(appURL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = gw.ServeHTTP(w, r, func(w http.ResponseWriter, r *http.Request) error { proxy.ServeHTTP(w, r); return nil })
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Two gateway nodes on one Redis: a session from node A works on node B;
// activity on A counts on B; sign-out and revocation on A are refused on B.
func TestTwoNodesOneRedis(t *testing.T) {
	st := startStack(t, site{name: "a"})
	nodeB := startNodeB(t, st)
	user := map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none", "Accept": "text/html"}

	b := st.newBrowser("a") // cookies of 127.0.0.1 go to both nodes (ports do not separate cookies)
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	resp := b.do(http.MethodGet, nodeB+"/on-b", user, nil)
	if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "page /on-b") {
		t.Fatalf("session from A on B: %s %.200s", resp.Status, body)
	}
	_, before := statusOf(t, b, nodeB)
	time.Sleep(50 * time.Millisecond)
	expectApp(t, b.navigate("/click-on-a"), "/click-on-a") // user activity on A
	_, after := statusOf(t, b, nodeB)
	if after["idle_expires_at"].(float64) <= before["idle_expires_at"].(float64) {
		t.Fatalf("activity on A did not count on B: %v → %v", before["idle_expires_at"], after["idle_expires_at"])
	}
	// sign out on A → refused on B
	_, csrf := b.page("/.sessiongate/logout")
	readBody(t, b.post("/.sessiongate/logout", url.Values{"csrf": {csrf}}))
	if code, s := statusOf(t, b, nodeB); code != http.StatusUnauthorized {
		t.Fatalf("after sign-out on A, B answered %d %v", code, s)
	}
	hits := st.app.hits.Load()
	resp = b.do(http.MethodGet, nodeB+"/after-logout", map[string]string{"Sec-Fetch-Mode": "cors"}, nil)
	if readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || st.app.hits.Load() != hits {
		t.Fatalf("after sign-out on A: B %s, app hits +%d", resp.Status, st.app.hits.Load()-hits)
	}

	// revoke on A (My devices of another device) → refused on B
	phone, laptop := st.newBrowser("a"), st.newBrowser("a")
	expectApp(t, phone.signIn("/", "alice", "pw-alice"), "/")
	expectApp(t, laptop.signIn("/", "alice", "pw-alice"), "/")
	if code, _ := statusOf(t, phone, nodeB); code != 200 {
		t.Fatalf("phone on B: %d", code)
	}
	_, csrf = laptop.page("/.sessiongate/sessions")
	readBody(t, laptop.post("/.sessiongate/sessions", url.Values{"csrf": {csrf}, "action": {"end_others"}}))
	if code, s := statusOf(t, phone, nodeB); code != http.StatusUnauthorized || s["reason"] != "revoked" {
		t.Fatalf("revoked on A, B answered %d %v", code, s)
	}
	if code, _ := statusOf(t, laptop, nodeB); code != 200 {
		t.Fatalf("the laptop itself must stay signed in on B: %d", code)
	}
}

// The identity provider is down: a sign-in shows a clear page with a retry
// link (no crash); live sessions keep working; after the provider rotates
// its signing key, new sign-ins still verify.
func TestIdentityProviderFaults(t *testing.T) {
	down := &atomic.Bool{}
	st := startStackWith(t, stackOptions{idpDown: down}, site{name: "main"})

	// down before the first sign-in: discovery fails
	down.Store(true)
	b := st.newBrowser("main")
	resp := b.navigate("/patients")
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "identity provider cannot be reached") ||
		!strings.Contains(body, "/.sessiongate/login") {
		t.Fatalf("provider down at sign-in: %s %.600s", resp.Status, body)
	}
	down.Store(false)
	time.Sleep(1100 * time.Millisecond) // a failed discovery is not retried for a second
	expectApp(t, b.signIn("/patients", "alice", "pw-alice"), "/patients")

	// down while sessions live: they keep working (no provider call per request)
	down.Store(true)
	for i := range 5 {
		expectApp(t, b.navigate(fmt.Sprintf("/while-down/%d", i)), fmt.Sprintf("/while-down/%d", i))
	}
	if code, _ := statusOf(t, b, st.sites["main"]); code != 200 {
		t.Fatalf("status while the provider is down: %d", code)
	}
	// a new sign-in while down: the gateway still sends the browser to the
	// provider (discovery is cached); the provider going down between the
	// login form and the code exchange gives the clear page with a retry link
	down.Store(false)
	b2 := st.newBrowser("main")
	loginPage := b2.navigate("/patients")
	c := *b2.client
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/.sessiongate/callback") {
			down.Store(true)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	resp, err := submitLoginWith(&c, loginPage, "clinician", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(body, "identity provider cannot be reached") || !strings.Contains(body, "/.sessiongate/login") {
		t.Fatalf("provider down at the code exchange: %s %.600s", resp.Status, body)
	}
	if b2.cookie("sessiongate") != nil {
		t.Fatal("a session cookie was set although the sign-in failed")
	}
	down.Store(false)

	// key rotation: tokens signed with the new key verify (the gateway refetches the keys)
	oldKid := st.idp.SigningKeyID()
	if err := st.idp.RotateSigningKey(); err != nil {
		t.Fatal(err)
	}
	if st.idp.SigningKeyID() == oldKid {
		t.Fatal("key did not rotate")
	}
	b3 := st.newBrowser("main")
	expectApp(t, b3.signIn("/patients", "clinician", "demo"), "/patients")
	// and a back-channel logout token signed with the new key is accepted
	tok, err := st.idp.LogoutToken(testClientID, "demo-clinician-0001", "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.PostForm(st.sites["main"]+"/.sessiongate/backchannel-logout", url.Values{"logout_token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, r); r.StatusCode != http.StatusOK {
		t.Fatalf("logout token signed with the rotated key: %s %s", r.Status, body)
	}
	expectSignedOut(t, b3.navigate("/patients"), "backchannel", "sign-in service")
}
