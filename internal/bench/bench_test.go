package bench

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestReplaceSection(t *testing.T) {
	section := SectionBegin + "\nnew\n" + SectionEnd + "\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"absent", "# Benchmarks\n\ntext\n", "# Benchmarks\n\ntext\n\n" + section},
		{"absent, no final newline", "# B\ntext", "# B\ntext\n\n" + section},
		{"empty", "", section},
		{"present", "# B\n\n" + SectionBegin + "\nold\nold\n" + SectionEnd + "\n\n## After\n",
			"# B\n\n" + section + "\n## After\n"},
	} {
		if got := ReplaceSection(tc.doc, section); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
		// idempotent
		once := ReplaceSection(tc.doc, section)
		if twice := ReplaceSection(once, section); twice != once {
			t.Errorf("%s: not idempotent:\n%q\n%q", tc.name, once, twice)
		}
	}
}

func TestReadResponse(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nT: 1\r\n\r\n" +
		"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(raw))
	for _, want := range []struct {
		status int
		body   int64
		keep   bool
	}{{200, 5, true}, {200, 7, true}, {401, 0, false}} {
		status, body, keep, err := readResponse(br)
		if err != nil || status != want.status || body != want.body || keep != want.keep {
			t.Fatalf("got %d %d %v %v, want %+v", status, body, keep, err, want)
		}
	}
	if _, _, _, err := readResponse(bufio.NewReader(strings.NewReader("garbage\r\n"))); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestParsers(t *testing.T) {
	got := parseBench("goos: linux\npkg: github.com/x/gateway\ncpu: Some CPU\n" +
		"BenchmarkHotPathServeHTTP-2   \t  52920\t      7495 ns/op\t    3360 B/op\t      31 allocs/op\nPASS\n")
	if len(got) != 1 || got[0] != (MicroResult{Package: "gateway", Name: "HotPathServeHTTP", NsPerOp: 7495,
		BPerOp: 3360, AllocsOp: 31}) {
		t.Fatalf("parseBench: %+v", got)
	}
	got = parseBench("pkg: github.com/x/session\nBenchmarkRedisStoreCheckParallel-2 \t 2164258\t 1717 ns/op\t " +
		"0.0001187 scripts/op\t 446 B/op\t 9 allocs/op\n")
	if len(got) != 1 || got[0] != (MicroResult{Package: "session", Name: "RedisStoreCheckParallel", NsPerOp: 1717,
		BPerOp: 446, AllocsOp: 9, Other: "0.0001187 scripts/op"}) {
		t.Fatalf("parseBench, a metric of the benchmark's own: %+v", got)
	}
	got = parseBench("pkg: github.com/x/session\nBenchmarkRedisStoreCheckParallel-2 \tredis: 2026/12/03 06:41:19 " +
		"pool.go:770: dial tcp 127.0.0.1:1: connect: connection refused\n  2164258\t 1717 ns/op\t 446 B/op\t " +
		"9 allocs/op\nPASS\n")
	if len(got) != 1 || got[0] != (MicroResult{Package: "session", Name: "RedisStoreCheckParallel", NsPerOp: 1717,
		BPerOp: 446, AllocsOp: 9}) {
		t.Fatalf("parseBench, a log line between the name and the figures: %+v", got)
	}
	if name, ok := monitorCommand(`+1700000000.1 [0 127.0.0.1:5555] "evalsha" "abc" "2"` + "\r\n"); !ok || name != "evalsha" {
		t.Fatalf("client line: %q %v", name, ok)
	}
	if _, ok := monitorCommand(`+1700000000.1 [0 lua] "HMGET" "k"` + "\r\n"); ok {
		t.Fatal("a script's command counted as a round trip")
	}
	calls := parseCommandStats(map[string]string{"cmdstat_evalsha": "calls=12,usec=3,usec_per_call=0.25,rejected_calls=0",
		"redis_version": "7"})
	if len(calls) != 1 || calls["evalsha"] != 12 {
		t.Fatalf("commandstats: %v", calls)
	}
	if p := percentile([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99); p != 10 {
		t.Fatalf("p99 = %d", p)
	}
	if p := percentile([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50); p != 5 {
		t.Fatalf("p50 = %d", p)
	}
	prof, err := parseProfileTop("Duration: 3.01s, Total samples = 5.20s (172.76%)\n" +
		"      flat  flat%   sum%        cum   cum%\n" +
		"     1.50s 28.85% 28.85%      1.50s 28.85%  internal/runtime/syscall/linux.Syscall6\n" +
		"         0     0% 28.85%      3.00s 57.69%  github.com/sessiongate/sessiongate/gateway.(*Gateway).ServeHTTP\n" +
		"         0     0% 28.85%      2.00s 38.46%  github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Handler).ServeHTTP\n")
	if err != nil || prof.Wall != 3.01 || prof.Seconds != 5.2 || prof.Syscalls != 28.85 ||
		prof.Proxy != 38.46 || prof.Gateway < 19.22 || prof.Gateway > 19.24 {
		t.Fatalf("profile: %+v %v", prof, err)
	}
}

func TestPairedComparesRoundByRound(t *testing.T) {
	ms := time.Millisecond
	// the machine slows down in round 2: (a) and (b) alike
	a := &Point{RoundRPS: []float64{1000, 500, 1000}, RoundP99: []time.Duration{2 * ms, 6 * ms, 2 * ms}}
	b := &Point{RoundRPS: []float64{900, 460, 800}, RoundP99: []time.Duration{3 * ms, 6 * ms, 5 * ms}}
	ratio, lo, hi, added := b.Paired(a)
	if ratio != 0.9 || lo != 0.8 || hi != 0.92 || added != ms {
		t.Fatalf("Paired = %.3f (%.3f–%.3f), %s; want 0.900 (0.800–0.920), 1ms", ratio, lo, hi, added)
	}
	// an even number of rounds takes the mean of the middle two
	a.RoundRPS, a.RoundP99 = a.RoundRPS[:2], a.RoundP99[:2]
	if ratio, _, _, added = b.Paired(a); ratio != 0.91 || added != ms/2 {
		t.Fatalf("Paired over 2 rounds = %.3f, %s; want 0.910, 500µs", ratio, added)
	}
	if ratio, _, _, _ = b.Paired(&Point{}); ratio != 0 {
		t.Fatalf("Paired without rounds = %.3f, want 0", ratio)
	}
}
