package caddymodule_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// failoverStack is Caddy with two gateway nodes, "a" and "b", on one HA
// store, behind a third site, "lb", that is Caddy's own load balancer
// (round robin). Each node has its own Redis client: their store lines name
// the sentinels or cluster nodes in another order, so Caddy does not share
// one client between them, and behind Sentinel each listens to another
// sentinel for the switch of master.
type failoverStack struct {
	*stack
	lb, a, b string
}

func startFailoverStack(t *testing.T, storeA, storeB string) *failoverStack {
	t.Helper()
	siteA := site{name: "a", store: storeA}
	siteB := site{name: "b", store: storeB}
	st := startStack(t, siteA, siteB)
	hostA, hostB := strings.TrimPrefix(st.sites["a"], "http://"), strings.TrimPrefix(st.sites["b"], "http://")
	st.load(siteA, siteB, site{name: "lb", raw: fmt.Sprintf("reverse_proxy %s %s {\n\t\tlb_policy round_robin\n\t}", hostA, hostB)})
	return &failoverStack{stack: st, lb: st.sites["lb"], a: st.sites["a"], b: st.sites["b"]}
}

// readmeStore returns the store line of the README's High availability
// section for kind ("sentinel" or "cluster"), as printed, with its example
// addresses replaced, in order, by addrs: what a practice would write.
func readmeStore(t *testing.T, kind string, addrs []string) string {
	t.Helper()
	section := readmeHighAvailability(t)
	hostPort := regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`)
	for _, line := range strings.Split(section, "\n") {
		line = strings.TrimSpace(line)
		v, ok := strings.CutPrefix(line, "store redis ")
		if !ok || strings.HasSuffix(v, "{") || (kind == "cluster") != strings.HasPrefix(v, "redis+cluster://") {
			continue
		}
		i := 0
		v = hostPort.ReplaceAllStringFunc(v, func(string) string { i++; return addrs[min(i, len(addrs))-1] })
		if i != len(addrs) {
			t.Fatalf("the README's %s store line names %d servers, the test has %d: %s", kind, i, len(addrs), line)
		}
		return "redis " + v
	}
	t.Fatalf("the README's High availability section has no %s store line", kind)
	return ""
}

// readmeHighAvailability returns the README's High availability section.
func readmeHighAvailability(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "### High availability")
	if !ok {
		t.Fatal("the README has no High availability section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// addrs returns the servers' addresses, in order.
func addrs(servers ...*testredis.Server) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.Addr)
	}
	return out
}

// device is one signed-in browser whose session cookies are replayed as
// they were at sign-in, after its sign-out too (what a copied cookie would
// try).
type device struct {
	b       *browser
	cookie  string // the Cookie header at sign-in
	csrf    string // the sign-out form's CSRF token
	devCSRF string // My devices' CSRF token
	handle  string // the device's handle on My devices
	mu      sync.Mutex
	asked   time.Time // when its person first clicked sign out; zero before
	ended   time.Time // when its sign-out was confirmed; zero while live
}

// times returns when the device's sign-out was asked for and confirmed.
func (d *device) times() (asked, ended time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asked, d.ended
}

func (d *device) endedAt() time.Time {
	_, ended := d.times()
	return ended
}

// answer is one request a device (or the anonymous client) sent.
type answer struct {
	dev        *device // nil: no cookie at all
	start, end time.Time
	status     int
	err        error
}

// traffic sends background requests (/api/queue) through the load balancer
// from every device and from a client without a cookie, every 20 ms each,
// and records every answer.
type traffic struct {
	mu      sync.Mutex
	answers []answer
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startTraffic(lb string, devs []*device) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	senders := append([]*device{nil}, devs...)
	for _, d := range senders {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-tr.stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/queue?n=%d", lb, i), nil)
				req.Header.Set("Sec-Fetch-Mode", "cors")
				req.Header.Set("Accept", "application/json")
				if d != nil {
					req.Header.Set("Cookie", d.cookie)
				}
				a := answer{dev: d, start: time.Now()}
				resp, err := client.Do(req)
				a.end, a.err = time.Now(), err
				if err == nil {
					a.status = resp.StatusCode
					resp.Body.Close()
				}
				tr.mu.Lock()
				tr.answers = append(tr.answers, a)
				tr.mu.Unlock()
			}
		}()
	}
	return tr
}

func (tr *traffic) halt() []answer {
	close(tr.stop)
	tr.wg.Wait()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.answers
}

// signInDevices signs n devices in through the load balancer, as alice.
func (fs *failoverStack) signInDevices(t *testing.T, n int) []*device {
	t.Helper()
	lbURL, _ := url.Parse(fs.lb)
	var devs []*device
	for range n {
		b := fs.newBrowser("lb")
		expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
		var parts []string
		for _, c := range b.client.Jar.Cookies(lbURL) {
			parts = append(parts, c.Name+"="+c.Value)
		}
		_, csrf := b.page("/.sessiongate/logout")
		body, devCSRF := b.page("/.sessiongate/sessions")
		_, handle := devices(t, body)
		devs = append(devs, &device{b: b, cookie: strings.Join(parts, "; "), csrf: csrf, devCSRF: devCSRF, handle: handle})
	}
	return devs
}

// signOut signs d out through the load balancer, clicking again after a
// 503 as a person would, and records when it was confirmed. It returns how
// many tries were refused.
func signOut(t *testing.T, d *device) int {
	t.Helper()
	return endDevice(t, d, d, "/.sessiongate/logout", url.Values{"csrf": {d.csrf}})
}

// revokeFrom signs d out from another device, by's My devices page.
func revokeFrom(t *testing.T, by, d *device) int {
	t.Helper()
	return endDevice(t, by, d, "/.sessiongate/sessions", url.Values{"csrf": {by.devCSRF}, "action": {"end"}, "device": {d.handle}})
}

// endDevice posts form to path from by's browser until it is not refused
// (503), and records when d's end was confirmed.
func endDevice(t *testing.T, by, d *device, path string, form url.Values) int {
	t.Helper()
	client := by.b.noRedirects()
	d.mu.Lock()
	d.asked = time.Now()
	d.mu.Unlock()
	for refused := 0; ; refused++ {
		req, _ := http.NewRequest(http.MethodPost, by.b.base+path, strings.NewReader(form.Encode()))
		for k, v := range formHeaders(by.b) {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err == nil {
			readBody(t, resp)
			if resp.StatusCode == http.StatusSeeOther {
				if loc := resp.Header.Get("Location"); strings.Contains(loc, "ended=") && !strings.HasSuffix(loc, "ended=1") {
					t.Fatalf("My devices ended no device: %s", loc)
				}
				d.mu.Lock()
				d.ended = time.Now()
				d.mu.Unlock()
				return refused
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("%s answered %s", path, resp.Status)
			}
		}
		if refused > 200 {
			t.Fatalf("%s refused 200 times (last: %v)", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// failoverFigures are what a failover cost the devices.
type failoverFigures struct {
	requests, letThrough, wrongSignOuts, refused, transportErrors int
	firstRefused, lastRefused                                     time.Duration // after the trigger
	signOutsRefused                                               int
}

func (f failoverFigures) String() string {
	return fmt.Sprintf("%d requests; let through without a live session: %d; live sessions refused as signed out: %d; "+
		"503: %d (from %v to %v after the trigger); transport errors: %d; sign-out clicks refused (503): %d",
		f.requests, f.letThrough, f.wrongSignOuts, f.refused, f.firstRefused.Round(time.Millisecond),
		f.lastRefused.Round(time.Millisecond), f.transportErrors, f.signOutsRefused)
}

// tally reads the answers: a 200 for no cookie, or for a device's cookie
// sent after its sign-out was confirmed, was let through; a 401 or 302 that
// came back before the device's person asked to sign out is a wrong
// sign-out (once asked, the store may end the session before the answer
// reaches the person).
func tally(answers []answer, trigger time.Time) failoverFigures {
	var f failoverFigures
	for _, a := range answers {
		f.requests++
		if a.err != nil {
			f.transportErrors++
			continue
		}
		var asked, ended time.Time
		if a.dev != nil {
			asked, ended = a.dev.times()
		}
		signedOut := a.dev == nil || (!ended.IsZero() && a.start.After(ended))
		switch a.status {
		case http.StatusOK:
			if signedOut {
				f.letThrough++
			}
		case http.StatusServiceUnavailable:
			f.refused++
			at := a.end.Sub(trigger)
			if f.firstRefused == 0 || at < f.firstRefused {
				f.firstRefused = at
			}
			f.lastRefused = max(f.lastRefused, at)
		case http.StatusUnauthorized, http.StatusFound:
			if !signedOut && (asked.IsZero() || a.end.Before(asked)) {
				f.wrongSignOuts++
			}
		}
	}
	return f
}

// failoverRun drives one failover under traffic: devices are signed out one
// by one (by themselves, or from the last device's My devices) from just
// before the trigger until well after it, while all send requests; settle
// waits until the store is whole again.
func (fs *failoverStack) failoverRun(t *testing.T, devices, signOuts int, trigger, settle func()) failoverFigures {
	t.Helper()
	devs := fs.signInDevices(t, devices)
	tr := startTraffic(fs.lb, devs)
	time.Sleep(500 * time.Millisecond)
	var start time.Time
	refused := 0
	for i := range signOuts {
		if i == 1 {
			start = time.Now()
			trigger()
		}
		if i%2 == 0 {
			refused += signOut(t, devs[i])
		} else { // from the last device's My devices page
			refused += revokeFrom(t, devs[len(devs)-1], devs[i])
		}
		time.Sleep(150 * time.Millisecond)
	}
	settle()
	time.Sleep(time.Second)
	f := tally(tr.halt(), start)
	f.signOutsRefused = refused
	t.Logf("%s", f)
	if f.letThrough != 0 || f.wrongSignOuts != 0 {
		t.Errorf("during the failover: %s", f)
	}
	// afterwards, on each node directly: every ended cookie refused, every
	// live device served (no session lost)
	for _, node := range []string{fs.a, fs.b} {
		for _, d := range devs {
			code := replay(t, node, d.cookie)
			if live := d.endedAt().IsZero(); (live && code != http.StatusOK) || (!live && code == http.StatusOK) {
				t.Errorf("after the failover, %s answered %d to a device (signed out: %v)", node, code, !live)
			}
		}
	}
	return f
}

// replay sends one background request with cookie to base.
func replay(t *testing.T, base, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/queue", nil)
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	readBody(t, resp)
	return resp.StatusCode
}

// failoverRounds is how many times each failover test repeats its
// failovers: 1, or SESSIONGATE_FAILOVER_ROUNDS (make failover).
func failoverRounds(t *testing.T) int {
	t.Helper()
	if v := os.Getenv("SESSIONGATE_FAILOVER_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SESSIONGATE_FAILOVER_ROUNDS=%q: want a whole number ≥ 1", v)
		}
		return n
	}
	return 1
}

// Two gateway nodes behind Caddy's load balancer on a Sentinel set, under
// traffic from signed-in devices: a graceful SENTINEL FAILOVER, then the
// new master killed hard (and the old one back as its replica). Around each
// trigger devices are signed out through the balancer, by themselves (Log
// out) or from another device (My devices). Nothing is let through (no
// cookie, or a signed-out cookie replayed), no live session is refused as
// signed out (only 503 while the store is unsure), every sign-out stays
// done on both nodes afterwards, and no live session is lost.
func TestFailoverSentinelTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("Sentinel set and two nodes: not with -short")
	}
	s := testredis.StartSentinel(t)
	t.Setenv("REDIS_PASSWORD", "") // the README's example reads it; the test's servers have none
	sn := s.Sentinels
	fs := startFailoverStack(t, readmeStore(t, "sentinel", addrs(sn[0], sn[1], sn[2])),
		readmeStore(t, "sentinel", addrs(sn[1], sn[2], sn[0])))
	master, replica := s.Master, s.Replica
	for round := range failoverRounds(t) {
		t.Logf("round %d, graceful: SENTINEL FAILOVER", round+1)
		fs.failoverRun(t, 6, 4, func() { s.Failover(t) }, func() {
			s.WaitMaster(t, replica)
			testredis.WaitInSync(t, master, replica)
		})
		master, replica = replica, master
		t.Logf("round %d, hard: the master killed", round+1)
		fs.failoverRun(t, 6, 4, func() { master.Kill(t) }, func() {
			s.WaitMaster(t, replica)
			master.Restart(t)
			testredis.WaitInSync(t, master, replica)
		})
		master, replica = replica, master
	}
}

// The same on a Cluster with a replica per master: the master that holds
// alice's sessions is killed hard and its replica promoted.
func TestFailoverClusterTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("six-node Cluster and two nodes: not with -short")
	}
	c := testredis.StartClusterWithReplicas(t)
	n := c.Nodes
	fs := startFailoverStack(t, readmeStore(t, "cluster", addrs(n[0], n[1], n[2])),
		readmeStore(t, "cluster", addrs(n[1], n[2], n[0])))
	key := "sg:{" + aliceUserKey(fs.stack) + "}"
	for round := range failoverRounds(t) {
		victim := c.MasterOf(t, key)
		t.Logf("round %d: the master of alice's sessions (%s) killed", round+1, victim.Addr)
		fs.failoverRun(t, 6, 4, func() { victim.Kill(t) }, func() {
			waitClusterMaster(t, c, key, victim)
			victim.Restart(t)
			testredis.WaitInSync(t, victim, c.MasterOf(t, key))
		})
	}
}

// aliceUserKey is the store's user key of the test user alice.
func aliceUserKey(st *stack) string { return session.UserKey(st.idp.Issuer(), "u-alice") }

// waitClusterMaster waits until a node other than old holds key's slot.
func waitClusterMaster(t *testing.T, c *testredis.Cluster, key string, old *testredis.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for c.MasterOf(t, key) == old {
		if time.Now().After(deadline) {
			t.Fatalf("no replica promoted in place of %s within 30s", old.Addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
