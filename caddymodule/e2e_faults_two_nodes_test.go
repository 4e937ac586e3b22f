package caddymodule_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/gateway"
	"github.com/sessiongate/sessiongate/internal/devidp"
	"github.com/sessiongate/sessiongate/session"
)

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
	store := session.NewRedisStore(client, session.Options{})
	t.Cleanup(func() { _ = store.Close() })
	gw, err := gateway.New(gateway.Options{Settings: cfg, Store: store, Sealer: sealer,
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

// eventually polls cond every millisecond for up to a second (the local copy
// follows another node's write within the invalidation latency) and reports
// how long it took.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > time.Second {
			t.Fatalf("%s: not within 1 s", what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// Two gateway nodes on one Redis: a session from node A works on node B;
// activity on A counts on B; sign-out and revocation on A are refused on B
// (within the invalidation latency: node B serves checks from its local copy).
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
	took := eventually(t, "activity on A counts on B", func() bool {
		_, after := statusOf(t, b, nodeB)
		return after["idle_expires_at"].(float64) > before["idle_expires_at"].(float64)
	})
	t.Logf("activity on A counted on B after %v", took)
	// sign out on A → refused on B
	_, csrf := b.page("/.sessiongate/logout")
	readBody(t, b.post("/.sessiongate/logout", url.Values{"csrf": {csrf}}))
	took = eventually(t, "sign-out on A refused on B", func() bool {
		code, _ := statusOf(t, b, nodeB)
		return code == http.StatusUnauthorized
	})
	t.Logf("sign-out on A refused on B after %v", took)
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
	eventually(t, "revoked on A refused on B", func() bool {
		code, s := statusOf(t, phone, nodeB)
		return code == http.StatusUnauthorized && s["reason"] == "revoked"
	})
	if code, _ := statusOf(t, laptop, nodeB); code != 200 {
		t.Fatalf("the laptop itself must stay signed in on B: %d", code)
	}
}
