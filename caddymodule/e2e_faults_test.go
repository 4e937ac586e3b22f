package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
