package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

// redisServer is a private redis-server on a free loopback port.
type redisServer struct {
	URL, Addr string
	Version   string
	cmd       *exec.Cmd
	done      chan struct{}
	dir       string
	client    *redis.Client // the harness's own connection (INFO, MONITOR setup)
}

// startRedis launches bin (redis-server) without persistence on a free
// loopback port and waits until it answers.
func startRedis(ctx context.Context, bin string) (*redisServer, error) {
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return nil, fmt.Errorf("redis-server not found (install it, e.g. `make deps`): %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "sessiongate-bench-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis: temp dir: %w", err)
	}
	port, err := testredis.FreePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &redisServer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, done: make(chan struct{})}
	s.URL = "redis://" + s.Addr + "/0"
	logFile, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redis: log file: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--daemonize", "no")
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	setSysProcAttr(s.cmd)
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redis: start %s: %w", bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	s.client = redis.NewClient(&redis.Options{Addr: s.Addr})
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.client.Ping(ctx).Err()
		if err == nil {
			break
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			s.Stop()
			return nil, fmt.Errorf("redis-server exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on %s did not answer: %w", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	info, err := s.info(ctx, "server")
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Version = info["redis_version"]
	return s, nil
}

// Stop ends the server and removes its directory.
func (s *redisServer) Stop() {
	if s.client != nil {
		_ = s.client.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	_ = os.RemoveAll(s.dir)
}

// info returns the fields of one INFO section.
func (s *redisServer) info(ctx context.Context, section string) (map[string]string, error) {
	raw, err := s.client.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("redis INFO %s: %w", section, err)
	}
	return parseInfo(raw), nil
}

// parseInfo parses INFO output into field → value.
func parseInfo(raw string) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// commandCalls returns the calls of every command from INFO commandstats.
// Commands that Lua scripts run (redis.call) are counted there too.
func (s *redisServer) commandCalls(ctx context.Context) (map[string]int64, error) {
	info, err := s.info(ctx, "commandstats")
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info), nil
}

// parseCommandStats turns cmdstat_<name>:calls=N,... fields into name → N.
func parseCommandStats(info map[string]string) map[string]int64 {
	out := map[string]int64{}
	for k, v := range info {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		for field := range strings.SplitSeq(v, ",") {
			if n, ok := strings.CutPrefix(field, "calls="); ok {
				calls, err := strconv.ParseInt(n, 10, 64)
				if err == nil {
					out[name] = calls
				}
			}
		}
	}
	return out
}

// diffCalls returns after − before for every command that changed.
func diffCalls(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		if n := v - before[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// usedMemory returns INFO memory's used_memory.
func (s *redisServer) usedMemory(ctx context.Context) (int64, error) {
	info, err := s.info(ctx, "memory")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(info["used_memory"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis used_memory %q: %w", info["used_memory"], err)
	}
	return n, nil
}

// cpuTime returns the server's user + system CPU time (INFO cpu).
func (s *redisServer) cpuTime(ctx context.Context) (time.Duration, error) {
	info, err := s.info(ctx, "cpu")
	if err != nil {
		return 0, err
	}
	var total float64
	for _, k := range []string{"used_cpu_sys", "used_cpu_user"} {
		v, err := strconv.ParseFloat(info[k], 64)
		if err != nil {
			return 0, fmt.Errorf("redis %s %q: %w", k, info[k], err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second)), nil
}

// monitor counts the commands clients send to the server (MONITOR), leaving
// out those that Lua scripts run: these are the round trips.
type monitor struct {
	conn net.Conn
	mu   sync.Mutex
	seen map[string]int64
	done chan error
}

// startMonitor opens a MONITOR connection.
func (s *redisServer) startMonitor() (*monitor, error) {
	c, err := net.DialTimeout("tcp", s.Addr, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("redis MONITOR: %w", err)
	}
	br := bufio.NewReader(c)
	if _, err := c.Write([]byte("MONITOR\r\n")); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis MONITOR: %w", err)
	}
	line, err := br.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "+OK" {
		_ = c.Close()
		return nil, fmt.Errorf("redis MONITOR answered %q: %w", line, errors.Join(err, errMalformed))
	}
	m := &monitor{conn: c, seen: map[string]int64{}, done: make(chan error, 1)}
	go func() {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				m.done <- err
				return
			}
			if name, ok := monitorCommand(line); ok {
				m.mu.Lock()
				m.seen[name]++
				m.mu.Unlock()
			}
		}
	}()
	return m, nil
}

// monitorCommand returns the command of a MONITOR line sent by a client
// (lines of commands run by a Lua script name the client "lua").
func monitorCommand(line string) (string, bool) {
	// +1700000000.123456 [0 127.0.0.1:41234] "evalsha" "…" …
	open := strings.IndexByte(line, '[')
	end := strings.IndexByte(line, ']')
	if open < 0 || end < open {
		return "", false
	}
	if strings.HasSuffix(line[open:end], " lua") {
		return "", false
	}
	rest := strings.TrimSpace(line[end+1:])
	rest = strings.TrimPrefix(rest, `"`)
	name, _, _ := strings.Cut(rest, `"`)
	return strings.ToLower(name), name != ""
}

// stop waits briefly for the last lines and returns the counts.
func (m *monitor) stop() map[string]int64 {
	time.Sleep(200 * time.Millisecond)
	_ = m.conn.Close()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen
}
