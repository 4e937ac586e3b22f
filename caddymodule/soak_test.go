package caddymodule_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

// soakSettings: SESSIONGATE_SOAK is the duration (default a short run for
// `make test`; `make soak` runs minutes), SESSIONGATE_SOAK_SESSIONS the
// number of live sessions.
func soakSettings(t *testing.T) (time.Duration, int) {
	d, n := 8*time.Second, 2000
	if v := os.Getenv("SESSIONGATE_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d > 10*time.Minute {
			t.Fatalf("SESSIONGATE_SOAK=%q: want a duration of at most 10m", v)
		}
	}
	if v := os.Getenv("SESSIONGATE_SOAK_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("SESSIONGATE_SOAK_SESSIONS=%q", v)
		}
	}
	return d, n
}

type soakSession struct {
	ref    session.Ref
	cookie string
	csrf   string
	ended  bool // ended on purpose before the traffic starts
}

// Thousands of sessions and mixed traffic through Caddy: live sessions are
// never refused, ended and forged ones never pass, and the process does not
// grow goroutines or heap.
func TestSoakMixedTraffic(t *testing.T) {
	duration, n := soakSettings(t)
	st := startStack(t, site{name: "main"})
	base := st.sites["main"]
	ctx := context.Background()
	client, err := session.NewRedisClient(st.redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	store := session.NewRedisStore(client, session.Options{})
	defer store.Close()
	sealer, err := auth.NewBoundSealer([]string{testCookieSecret}, st.idp.Issuer()+" "+testClientID)
	if err != nil {
		t.Fatal(err)
	}
	limits := session.LimitTable{Default: session.Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}}
	sessions := make([]*soakSession, n)
	for i := range sessions {
		s := &session.Session{ID: session.NewID(), UserKey: session.UserKey(st.idp.Issuer(), fmt.Sprintf("soak-%d", i/4)),
			Subject: fmt.Sprintf("soak-%d", i/4), Name: "Soak User", Email: "soak@example.test", Groups: []string{"clinicians"},
			IdPSessionID: fmt.Sprintf("sid-%d", i), Device: "Go on Linux", IP: "127.0.0.1"}
		if _, err := store.Create(ctx, s, limits, session.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		v, err := sealer.Seal("sessiongate-session", s.Ref())
		if err != nil {
			t.Fatal(err)
		}
		sessions[i] = &soakSession{ref: s.Ref(), cookie: "sessiongate=" + v, csrf: sealer.Token("csrf", s.ID)}
		if i%50 == 0 {
			sessions[i].ended = true
			if err := store.End(ctx, s.Ref(), session.ReasonRevoked); err != nil {
				t.Fatal(err)
			}
		}
	}

	var requests, wrong atomic.Int64
	var firstWrong atomic.Value
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	run := func(stop <-chan struct{}, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := sessions[rng.IntN(n)]
			kind := rng.IntN(100)
			var req *http.Request
			switch {
			case kind < 55: // an app's background poll
				req, _ = http.NewRequest(http.MethodGet, base+"/api/poll", nil)
				req.Header.Set("Sec-Fetch-Mode", "cors")
			case kind < 75: // a link click (the banner reports the click itself)
				req, _ = http.NewRequest(http.MethodGet, base+"/chart", nil)
				req.Header.Set("Sec-Fetch-Mode", "navigate")
				req.Header.Set("Sec-Fetch-User", "?1")
				req.Header.Set("Accept", "text/html")
			case kind < 88: // the banner's status check
				req, _ = http.NewRequest(http.MethodGet, base+"/.sessiongate/status", nil)
			case kind < 95: // the banner's activity report
				req, _ = http.NewRequest(http.MethodPost, base+"/.sessiongate/activity", nil)
				req.Header.Set("Origin", base)
				req.Header.Set("X-Sessiongate-CSRF", s.csrf)
			default: // a forged cookie
				req, _ = http.NewRequest(http.MethodGet, base+"/api/poll", nil)
				req.Header.Set("Cookie", "sessiongate="+strings.Repeat("A", 40+rng.IntN(200)))
				req.Header.Set("Sec-Fetch-Mode", "cors")
			}
			forged := kind >= 95
			if !forged {
				req.Header.Set("Cookie", s.cookie)
			}
			resp, err := hc.Do(req)
			requests.Add(1)
			if err != nil {
				wrong.Add(1)
				firstWrong.CompareAndSwap(nil, err.Error())
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			want := http.StatusOK
			if forged || s.ended {
				want = http.StatusUnauthorized
				if req.Header.Get("Sec-Fetch-Mode") == "navigate" {
					want = http.StatusFound
				}
			}
			if resp.StatusCode != want {
				wrong.Add(1)
				firstWrong.CompareAndSwap(nil, fmt.Sprintf("%s %s (ended %v, forged %v): %d, want %d",
					req.Method, req.URL.Path, s.ended, forged, resp.StatusCode, want))
			}
		}
	}
	phase := func(d time.Duration) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() { defer wg.Done(); run(stop, uint64(w)+uint64(time.Now().UnixNano())) }()
		}
		time.Sleep(d)
		close(stop)
		wg.Wait()
		hc.CloseIdleConnections()
	}
	measure := func() (goroutines int, heap uint64) {
		time.Sleep(300 * time.Millisecond) // let closed connections' goroutines end
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}

	phase(min(2*time.Second, duration/4)) // warm-up: pools, caches, scripts loaded
	g0, h0 := measure()
	phase(duration)
	g1, h1 := measure()
	t.Logf("%d requests over %d sessions; goroutines %d → %d; heap %.1f → %.1f MiB", requests.Load(), n,
		g0, g1, float64(h0)/(1<<20), float64(h1)/(1<<20))
	if wrong.Load() > 0 {
		t.Fatalf("%d wrong answers of %d; first: %v", wrong.Load(), requests.Load(), firstWrong.Load())
	}
	if g1 > g0+20 {
		t.Fatalf("goroutines grew from %d to %d", g0, g1)
	}
	if h1 > h0+h0/2+16<<20 {
		t.Fatalf("heap grew from %d to %d bytes", h0, h1)
	}
	// no session was lost: every one not ended on purpose is still valid
	lost := 0
	for _, s := range sessions {
		res, err := store.Check(ctx, s.ref, limits, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Valid == s.ended {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d sessions lost or revived", lost)
	}
}
