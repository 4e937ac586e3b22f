// Package testredis runs a real redis-server for tests.
//
// Each Start launches a private redis-server on a free loopback port with its
// data directory in the test's temporary directory, and stops it when the
// test ends. Tests never touch a server already running on the machine (such
// as one on port 6379).
//
// When the environment variable SESSIONGATE_TEST_REDIS_URL is set, Start
// returns that server instead (for CI setups that provide Redis as a
// service); such a server is not managed, so Stop and Restart skip the test.
package testredis

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the environment variable that points the tests at an
// existing Redis instead of a private redis-server.
const EnvURL = "SESSIONGATE_TEST_REDIS_URL"

// Options configures a managed server.
type Options struct {
	// Persistence turns on the append-only file (fsync on every write) in the
	// server's temporary directory, so data survives Stop and Restart.
	Persistence bool
	// Args are more redis-server arguments (cluster mode, replicaof).
	Args []string
	// SentinelConfig runs the server as a sentinel with this configuration
	// file (which the sentinel rewrites as it learns).
	SentinelConfig string
}

// Server is a redis-server for one test.
type Server struct {
	// URL is the server's URL, e.g. "redis://127.0.0.1:PORT/0".
	URL string
	// Addr is the server's host:port.
	Addr string

	managed bool
	opts    Options
	bin     string
	dir     string
	port    int

	mu   sync.Mutex
	proc *process // nil while stopped
}

// Start returns a fresh redis-server for t, stopped at t.Cleanup, or the
// server named by SESSIONGATE_TEST_REDIS_URL.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options. Options are ignored for a server named by
// SESSIONGATE_TEST_REDIS_URL.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if raw := os.Getenv(EnvURL); raw != "" {
		opt, err := redis.ParseURL(raw)
		if err != nil {
			t.Fatalf("testredis: %s=%q: %v", EnvURL, raw, err)
		}
		return &Server{URL: raw, Addr: opt.Addr}
	}

	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testredis: redis-server not found on PATH (%v); run `make test`, which installs it, "+
			"or set %s to the URL of a Redis to use", err, EnvURL)
	}
	s := &Server{managed: true, opts: o, bin: bin, dir: t.TempDir()}
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("testredis: stop at cleanup: %v", err)
		}
	})

	const attempts = 5
	var lastErr error
	for range attempts {
		port, err := FreePort()
		if err != nil {
			t.Fatalf("testredis: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.URL = "redis://" + s.Addr + "/0"
		p, err := s.launch()
		if err == nil {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return s
		}
		lastErr = err // most likely the port was taken meanwhile: try another
	}
	t.Fatalf("testredis: could not start redis-server after %d attempts: %v", attempts, lastErr)
	return nil
}

// Port is the server's port, as text (for --replicaof).
func (s *Server) Port() string { return strconv.Itoa(s.port) }

// Managed reports whether this package runs the server (false when
// SESSIONGATE_TEST_REDIS_URL is used).
func (s *Server) Managed() bool { return s.managed }

// Stop shuts the server down (SIGTERM, then SIGKILL if it lingers) and waits
// until its port refuses connections. Stopping a stopped server does nothing.
// It skips the test for an unmanaged server.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if !s.managed {
		t.Skip("testredis: needs a managed redis-server (unset " + EnvURL + ")")
	}
	if err := s.stop(); err != nil {
		t.Fatalf("testredis: stop: %v", err)
	}
}

// Kill ends the server at once with SIGKILL, as a crash or a power cut
// would (nothing is saved, replicas get nothing more), and waits until its
// port refuses connections. It skips the test for an unmanaged server.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if !s.managed {
		t.Skip("testredis: needs a managed redis-server (unset " + EnvURL + ")")
	}
	if err := s.stopWith(syscall.SIGKILL); err != nil {
		t.Fatalf("testredis: kill: %v", err)
	}
}

// Crash is Kill for use off the test's goroutine: it returns the error
// instead of failing the test.
func (s *Server) Crash() error {
	if !s.managed {
		return errors.New("testredis: needs a managed redis-server (unset " + EnvURL + ")")
	}
	return s.stopWith(syscall.SIGKILL)
}

// Restart starts the server again on the same port with the same data
// directory (stopping it first if it runs), and waits until it answers PING.
// It skips the test for an unmanaged server.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if !s.managed {
		t.Skip("testredis: needs a managed redis-server (unset " + EnvURL + ")")
	}
	if err := s.stop(); err != nil {
		t.Fatalf("testredis: restart: %v", err)
	}
	var err error
	for range 10 { // the port may linger briefly; it is ours, so keep trying
		var p *process
		if p, err = s.launch(); err == nil {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("testredis: restart on %s: %v", s.Addr, err)
}

// Client returns a new go-redis client for the server, closed at t.Cleanup.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatalf("testredis: parse %q: %v", s.URL, err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// FreePort returns a loopback TCP port that was free a moment ago (never
// 6379, so that a test never meets a developer's own Redis).
func FreePort() (int, error) {
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		if port != 6379 {
			return port, nil
		}
	}
	return 0, errors.New("find a free port: only got 6379")
}
