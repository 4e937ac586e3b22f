package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// LoadWorkerFlag is the command-line flag that turns the harness binary into
// the load generator: it reads one LoadSpec as JSON on stdin, runs it and
// writes the LoadResult as JSON on stdout. The harness runs the load
// generator as a child process so that its allocations and garbage
// collection do not share a Go runtime with the Caddy under test.
const LoadWorkerFlag = "load-worker"

// LoadSpec is one load point: Conns keep-alive HTTP/1.1 connections, each
// sending Request, waiting for the whole response and sending it again.
type LoadSpec struct {
	// Addr is the server's host:port.
	Addr string `json:"addr"`
	// Request is the raw HTTP/1.1 request, sent byte for byte each time.
	Request string `json:"request"`
	// Conns is the number of concurrent connections.
	Conns int `json:"conns"`
	// Warmup runs before the measured window; its requests are not counted.
	Warmup time.Duration `json:"warmup"`
	// Duration is the measured window.
	Duration time.Duration `json:"duration"`
	// Status is the status code every response must have.
	Status int `json:"status"`
}

// LoadResult is what one load point measured.
type LoadResult struct {
	// Requests completed inside the measured window.
	Requests int64 `json:"requests"`
	// Total requests completed, warm-up included (for per-request Redis counts).
	Total int64 `json:"total"`
	// BodyBytes received inside the measured window (response bodies only).
	BodyBytes int64 `json:"body_bytes"`
	// Errors are connection failures (each one reconnects).
	Errors int64 `json:"errors"`
	// BadStatus counts responses whose status was not LoadSpec.Status.
	BadStatus int64 `json:"bad_status"`
	// LastBadStatus is the status of one such response.
	LastBadStatus int `json:"last_bad_status,omitempty"`
	// Window is the measured window's length.
	Window time.Duration `json:"window"`
	// Latencies are the latencies of the measured requests, in nanoseconds.
	Latencies []int64 `json:"latencies"`
	// CPU is the load generator's own CPU time (user + system); set by the
	// parent from the child's resource usage.
	CPU time.Duration `json:"-"`
}

// RunLoadWorker is the load generator process's main: one LoadSpec on in,
// one LoadResult on out.
func RunLoadWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	var spec LoadSpec
	if err := json.NewDecoder(in).Decode(&spec); err != nil {
		return fmt.Errorf("load worker: read spec: %w", err)
	}
	res, err := GenerateLoad(ctx, spec)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return fmt.Errorf("load worker: write result: %w", err)
	}
	return nil
}

// GenerateLoad runs spec in this process.
func GenerateLoad(ctx context.Context, spec LoadSpec) (*LoadResult, error) {
	if spec.Conns < 1 || spec.Duration <= 0 {
		return nil, fmt.Errorf("load: need at least one connection and a positive duration (got %d, %s)",
			spec.Conns, spec.Duration)
	}
	conns := make([]net.Conn, spec.Conns)
	for i := range conns {
		c, err := dialLoad(ctx, spec.Addr)
		if err != nil {
			for _, open := range conns[:i] {
				_ = open.Close()
			}
			return nil, err
		}
		conns[i] = c
	}
	start := time.Now()
	measureFrom := start.Add(spec.Warmup)
	end := measureFrom.Add(spec.Duration)
	results := make([]connResult, spec.Conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() { results[i] = runConn(ctx, conns[i], spec, measureFrom, end) })
	}
	wg.Wait()
	out := &LoadResult{Window: spec.Duration}
	n := 0
	for _, r := range results {
		n += len(r.latencies)
	}
	out.Latencies = make([]int64, 0, n)
	for _, r := range results {
		if r.fatal != nil {
			return nil, r.fatal
		}
		out.Requests += int64(len(r.latencies))
		out.Total += r.total
		out.BodyBytes += r.bodyBytes
		out.Errors += r.errors
		out.BadStatus += r.badStatus
		if r.lastBad != 0 {
			out.LastBadStatus = r.lastBad
		}
		out.Latencies = append(out.Latencies, r.latencies...)
	}
	return out, nil
}

func dialLoad(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("load: dial %s: %w", addr, err)
	}
	return c, nil
}

// connResult is one connection's share of a load point.
type connResult struct {
	latencies []int64
	total     int64
	bodyBytes int64
	errors    int64
	badStatus int64
	lastBad   int
	fatal     error
}

// maxConnErrors stops a connection that keeps failing: the server is broken
// and the point is worthless.
const maxConnErrors = 100

func runConn(ctx context.Context, c net.Conn, spec LoadSpec, measureFrom, end time.Time) (res connResult) {
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	req := []byte(spec.Request)
	br := bufio.NewReaderSize(c, 64<<10)
	res.latencies = make([]int64, 0, 8192)
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			return res
		}
		status, body, keep, err := roundTrip(c, br, req)
		t1 := time.Now()
		if err != nil {
			res.errors++
			if res.errors > maxConnErrors {
				res.fatal = fmt.Errorf("load: %d connection errors on one connection, last: %w", res.errors, err)
				return res
			}
			_ = c.Close()
			if c, err = dialLoad(ctx, spec.Addr); err != nil {
				res.fatal = err
				return res
			}
			br.Reset(c)
			continue
		}
		res.total++
		if status != spec.Status {
			res.badStatus++
			res.lastBad = status
		}
		if !t1.Before(measureFrom) && t1.Before(end) {
			res.latencies = append(res.latencies, int64(t1.Sub(t0)))
			res.bodyBytes += body
		}
		if !keep {
			_ = c.Close()
			if c, err = dialLoad(ctx, spec.Addr); err != nil {
				res.fatal = err
				return res
			}
			br.Reset(c)
		}
	}
	return res
}

// roundTrip writes req and reads one response, returning its status, the
// number of body bytes and whether the connection stays open.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (status int, body int64, keep bool, err error) {
	if _, err := c.Write(req); err != nil {
		return 0, 0, false, fmt.Errorf("write request: %w", err)
	}
	return readResponse(br)
}

// runLoadProcess runs spec in a child process (exe with -load-worker) and
// returns its result with the child's CPU time.
func runLoadProcess(ctx context.Context, exe string, spec LoadSpec) (*LoadResult, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("load: encode spec: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "-"+LoadWorkerFlag)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = os.Environ()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("load generator: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res LoadResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("load generator: decode result: %w", err)
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return &res, nil
}
