package testredis

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.URL, "redis://127.0.0.1:") || !strings.HasSuffix(s.URL, "/0") {
		t.Errorf("URL = %q", s.URL)
	}
	if s.Managed() && strings.HasSuffix(s.Addr, ":6379") {
		t.Fatal("managed server on port 6379")
	}
	c := s.Client(t)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if !s.Managed() {
		t.Skip("unmanaged server: Stop/Restart not tested")
	}

	s.Stop(t)
	if conn, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		_ = conn.Close()
		t.Fatal("port still accepts connections after Stop")
	}
	s.Stop(t) // stopping twice is harmless

	s.Restart(t)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	// Without persistence the data is gone.
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET after Restart without persistence: %v", err)
	}
	s.Restart(t) // restarting a running server works too
	if err := s.Client(t).Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after second Restart: %v", err)
	}
}

func TestPersistenceSurvivesRestart(t *testing.T) {
	s := StartWith(t, Options{Persistence: true})
	if !s.Managed() {
		t.Skip("unmanaged server")
	}
	c := s.Client(t)
	ctx := t.Context()
	if err := c.Set(ctx, "kept", "yes", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	s.Stop(t)
	s.Restart(t)
	got, err := c.Get(ctx, "kept").Result()
	if err != nil || got != "yes" {
		t.Fatalf("GET after Restart = %q, %v; want yes", got, err)
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	if !a.Managed() {
		t.Skip("unmanaged server")
	}
	if a.Addr == b.Addr {
		t.Fatalf("two servers on %s", a.Addr)
	}
	ctx := t.Context()
	if err := a.Client(t).Set(ctx, "only-a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.Client(t).Get(ctx, "only-a").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("key leaked between servers: %v", err)
	}
}

func TestUnmanagedSkipsStop(t *testing.T) {
	outer := Start(t) // a real server to point the variable at
	t.Setenv(EnvURL, outer.URL)
	s := Start(t)
	if s.Managed() || s.URL != outer.URL || s.Addr != outer.Addr {
		t.Fatalf("server from %s = %+v", EnvURL, s)
	}
	t.Run("Stop", func(t *testing.T) {
		s.Stop(t)
		t.Error("Stop did not skip")
	})
	t.Run("Restart", func(t *testing.T) {
		s.Restart(t)
		t.Error("Restart did not skip")
	})
	if err := s.Client(t).Ping(t.Context()).Err(); err != nil {
		t.Errorf("PING through unmanaged server: %v", err)
	}
}
