package testredis

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timeouts of the server's life cycle.
const (
	readyTimeout = 5 * time.Second
	stopTimeout  = 5 * time.Second
)

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done is closed
}

// launch runs redis-server and waits until it answers PING.
func (s *Server) launch() (*process, error) {
	appendonly, fsync := "no", "everysec"
	if s.opts.Persistence {
		appendonly, fsync = "yes", "always"
	}
	logPath := filepath.Join(s.dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor

	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", appendonly,
		"--appendfsync", fsync,
		"--dir", s.dir,
		"--daemonize", "no",
	}
	if s.opts.SentinelConfig != "" {
		args = []string{s.opts.SentinelConfig, "--sentinel", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--dir", s.dir, "--daemonize", "no"}
	}
	cmd := exec.Command(s.bin, append(args, s.opts.Args...)...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	setSysProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitPing(s.Addr, p.done, readyTimeout); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("redis-server on %s: %w\n%s", s.Addr, err, logTail(logPath))
	}
	return p, nil
}

// stop ends the running process, if any, and waits until the port refuses
// connections.
func (s *Server) stop() error { return s.stopWith(syscall.SIGTERM) }

// stopWith ends the running process with sig, then as stop.
func (s *Server) stopWith(sig syscall.Signal) error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			return fmt.Errorf("redis-server (pid %d) on %s did not exit", p.cmd.Process.Pid, s.Addr)
		}
	}
	deadline := time.Now().Add(stopTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err != nil {
			return nil
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			return fmt.Errorf("port %s still accepts connections after redis-server exited", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPing waits until the server at addr answers PING with PONG, the
// process exits (done is closed) or timeout passes.
func waitPing(addr string, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		select {
		case <-done:
			return errors.New("redis-server exited before answering PING")
		default:
		}
		if lastErr = ping(addr); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %s: %w", timeout, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends one inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return fmt.Errorf("write PING: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read PING reply: %w", err)
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line) // e.g. -LOADING while reading the AOF
	}
	return nil
}

// logTail returns the end of the server log, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no redis-server log: " + err.Error() + ")"
	}
	const limit = 2000
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return "redis-server log:\n" + string(b)
}
