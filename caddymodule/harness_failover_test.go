package caddymodule_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

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
