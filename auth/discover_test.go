package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Discovery holds no lock across the network (#15 point 9): while one slow
// discovery is under way, another caller gives up when its own context ends
// instead of waiting for the fetch; and the retry pause follows the
// injected clock, not time.Since.
func TestDiscoveryWaitsOnlyAsLongAsTheCaller(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		<-release
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	rp := New(Config{Issuer: srv.URL, ClientID: "c", Now: func() time.Time { return now }})

	slow := make(chan error, 1)
	go func() { _, err := rp.discover(context.Background()); slow <- err }()
	for fetches.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := rp.discover(ctx)
	if !errors.Is(err, ErrProviderUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("second caller: %v after %v; want ErrProviderUnavailable when its context ends", err, time.Since(start))
	}
	close(release)
	if err := <-slow; !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("slow discovery: %v", err)
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches: concurrent callers started their own", fetches.Load())
	}
	// a failed discovery is not retried within a second of the injected clock
	if _, err := rp.discover(context.Background()); err == nil || fetches.Load() != 1 {
		t.Fatalf("retried at once: %v, %d fetches", err, fetches.Load())
	}
	now = now.Add(1100 * time.Millisecond)
	_, _ = rp.discover(context.Background())
	if fetches.Load() != 2 {
		t.Fatalf("not retried a second later (injected clock): %d fetches", fetches.Load())
	}
}
