package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// TestCleanupLeavesNoGoroutine provisions the handler with every piece of
// background work running — the organization timer follower (admin_group),
// the long-lived response watcher (an upgraded request in flight), and, on
// Redis, the reachability probe (Redis down) or the memory store's sweeper —
// then calls Cleanup: the goroutine count must come back to the baseline,
// and the watched response must have been cut off.
func TestCleanupLeavesNoGoroutine(t *testing.T) {
	port, err := testredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	for _, store := range []config.StoreConfig{
		{Kind: config.StoreMemory},
		// nothing listens there: the first check opens the breaker and starts the probe
		{Kind: config.StoreRedis, URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)},
	} {
		t.Run(store.Kind, func(t *testing.T) {
			baseline := settledGoroutines(t, -1)
			h := &Handler{Settings: config.Settings{
				Issuer: "https://idp.invalid/realms/x", ClientID: "leak", AdminGroup: "managers",
				CookieSecrets: []string{strings.Repeat("s", 40)}, Store: store,
			}}
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			if err := h.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			// a signed-in request, so that the upgrade reaches the watcher
			cookie := sessionCookieFor(t, h, store.Kind == config.StoreMemory)
			ended := make(chan error, 1)
			started := make(chan struct{})
			go func() {
				r := httptest.NewRequest(http.MethodGet, "http://app.test/ws", nil)
				r.Header.Set("Upgrade", "websocket")
				r.Header.Set("Connection", "Upgrade")
				r.AddCookie(cookie)
				ended <- h.ServeHTTP(httptest.NewRecorder(), r, caddyhttp.HandlerFunc(
					func(w http.ResponseWriter, r *http.Request) error {
						close(started)
						<-r.Context().Done()
						return context.Cause(r.Context())
					}))
			}()
			if store.Kind == config.StoreMemory {
				select {
				case <-started:
				case err := <-ended:
					t.Fatalf("the upgraded request was not passed on: %v", err)
				case <-time.After(5 * time.Second):
					t.Fatal("the upgraded request never reached the app")
				}
			} else if err := <-ended; err != nil {
				// Redis is down: the request is refused (503) and the probe runs
				t.Fatalf("refused request returned %v", err)
			}
			if err := h.Cleanup(); err != nil {
				t.Fatal(err)
			}
			if store.Kind == config.StoreMemory {
				select {
				case err := <-ended:
					if !errors.Is(err, context.Canceled) && !strings.Contains(fmt.Sprint(err), "stopped") {
						t.Fatalf("the watched response ended with %v, want the gateway's stop", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("Cleanup left the watched response running")
				}
			}
			settledGoroutines(t, baseline)
		})
	}
}

// sessionCookieFor creates a session in the handler's store and returns its
// cookie, sealed as the handler's gateway seals it. Without a usable store
// (Redis down) it returns a cookie that forces a store call.
func sessionCookieFor(t *testing.T, h *Handler, create bool) *http.Cookie {
	t.Helper()
	sealer, err := auth.NewBoundSealer(h.CookieSecrets, h.Issuer+" "+h.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	s := &session.Session{ID: session.NewID(), UserKey: session.UserKey(h.Issuer, "u1"), Subject: "u1"}
	if create {
		if _, err := h.store.Create(context.Background(), s, h.gw.Limits(), session.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	} else {
		s.CreatedAt = time.Now()
	}
	v, err := sealer.Seal("sessiongate-session", s.Ref()) // the gateway's seal key for session cookies
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: "sessiongate", Value: v}
}

// settledGoroutines waits until at most want goroutines run (want < 0: until
// the count stops changing) and returns the count; on timeout it fails with
// every goroutine's stack.
func settledGoroutines(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	last := -1
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if want < 0 && n == last || want >= 0 && n <= want {
			return n
		}
		last = n
		if time.Now().After(deadline) {
			var b bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("%d goroutines, want at most %d:\n%s", n, want, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
