package caddymodule_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
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
