package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// replayed is a device's session cookie as it was, sent by hand after the
// device's own jar may have dropped it: what a stolen or replayed cookie
// would do.
type replayed struct {
	t      *testing.T
	cookie string
}

func replayOf(t *testing.T, b *browser) replayed {
	t.Helper()
	u, _ := url.Parse(b.base)
	var parts []string
	for _, c := range b.client.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return replayed{t: t, cookie: strings.Join(parts, "; ")}
}

// status asks node base for the session's status with the replayed cookie.
func (r replayed) status(base string) (int, string) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/.sessiongate/status", nil)
	req.Header.Set("Cookie", r.cookie)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	var s struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal([]byte(readBody(r.t, resp)), &s)
	return resp.StatusCode, s.Reason
}

// refusedOn waits until node base refuses the replayed session with reason,
// for at most a second, and returns how long that took.
func (r replayed) refusedOn(base, reason string) time.Duration {
	r.t.Helper()
	return r.refusedWithin(base, reason, time.Second)
}

// refusedWithin is refusedOn with another bound.
func (r replayed) refusedWithin(base, reason string, bound time.Duration) time.Duration {
	r.t.Helper()
	start := time.Now()
	for {
		code, why := r.status(base)
		if code == http.StatusUnauthorized {
			if why != reason {
				r.t.Fatalf("refused for %q, want %q", why, reason)
			}
			return time.Since(start)
		}
		if time.Since(start) > bound {
			r.t.Fatalf("node %s still lets the session in %v after it ended on the other node (%d)", base, bound, code)
		}
		time.Sleep(time.Millisecond)
	}
}

// Every way a session ends on node A — sign-out, My devices, a manager's
// revocation, back-channel logout, max_sessions, the manager's absolute
// limit — is enforced by node B, which serves checks from its local copy
// (and, with `local_cache off`, by a round trip each): two sites in one Caddy
// whose store URLs differ only in form, so that each has its own store,
// Redis clients and copy, as two gateway nodes have.
func TestLocalCopyRevocationPathsOnTwoNodes(t *testing.T) {
	for _, tc := range []struct{ name, block string }{
		{"local copy", ""},
		{"local_cache off", " {\n\t\t\tlocal_cache off\n\t\t}"},
	} {
		t.Run(tc.name, func(t *testing.T) { revocationPathsOnTwoNodes(t, tc.block) })
	}
}

func revocationPathsOnTwoNodes(t *testing.T, storeBlock string) {
	st := startStack(t)
	opts := "admin_group practice-managers\n\t\tidle_timeout 3s\n\t\tabsolute_timeout_choices 3s 9h\n\t\twarn_before 1s\n\t\tabsolute_warn_before 1s"
	nodeA := site{name: "a", extra: opts + "\n\t\tmax_sessions 2", store: "redis " + st.redis.URL + storeBlock}
	nodeB := site{name: "b", extra: opts, store: "redis " + strings.TrimSuffix(st.redis.URL, "/0") + storeBlock}
	if nodeA.store == nodeB.store {
		t.Fatalf("the two nodes would share one store: %s", nodeA.store)
	}
	st.load(nodeA, nodeB)
	a, b := st.sites["a"], st.sites["b"]
	signedIn := func(user, password string) (*browser, replayed) {
		t.Helper()
		dev := st.newBrowser("a")
		expectApp(t, dev.signIn("/", user, password), "/")
		r := replayOf(t, dev)
		for range 2 { // node B holds it in its copy
			if code, _ := r.status(b); code != http.StatusOK {
				t.Fatalf("a session from node A on node B: %d", code)
			}
		}
		return dev, r
	}
	var took []time.Duration

	// sign-out
	dev, r := signedIn("alice", "pw-alice")
	_, csrf := dev.page("/.sessiongate/logout")
	readBody(t, dev.post("/.sessiongate/logout", url.Values{"csrf": {csrf}}))
	took = append(took, r.refusedOn(b, "logout"))

	// My devices: the laptop signs the phone out
	_, phone := signedIn("alice", "pw-alice")
	laptop, _ := signedIn("alice", "pw-alice")
	_, csrf = laptop.page("/.sessiongate/sessions")
	readBody(t, laptop.post("/.sessiongate/sessions", url.Values{"csrf": {csrf}, "action": {"end_others"}}))
	took = append(took, phone.refusedOn(b, "revoked"))

	// a manager revokes the clinician by name
	_, clinician := signedIn("clinician", "demo")
	mgr, _ := signedIn("manager", "demo")
	_, csrf = mgr.page("/.sessiongate/admin")
	if resp := mgr.post("/.sessiongate/admin", url.Values{"csrf": {csrf}, "action": {"revoke"}, "user": {"clinician"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %s %.200s", resp.Status, readBody(t, resp))
	}
	took = append(took, clinician.refusedOn(b, "admin"))

	// the provider's back-channel logout
	_, alice := signedIn("alice", "pw-alice")
	token, err := st.idp.LogoutToken(testClientID, "u-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(a+"/.sessiongate/backchannel-logout", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout: %v %v", resp, err)
	}
	readBody(t, resp)
	took = append(took, alice.refusedOn(b, "backchannel"))

	// max_sessions 2 on node A: a third sign-in ends the oldest
	_, oldest := signedIn("alice", "pw-alice")
	signedIn("alice", "pw-alice")
	signedIn("alice", "pw-alice")
	took = append(took, oldest.refusedOn(b, "elsewhere"))

	// the manager's absolute limit: 3 s, set on node A, ends on node B the
	// sessions signed in longer ago (kept from idling out by a click at 1.5 s)
	clin, older := signedIn("clinician", "demo")
	time.Sleep(1500 * time.Millisecond)
	expectApp(t, clin.navigate("/still-here"), "/still-here")
	mgr, _ = signedIn("manager", "demo")
	time.Sleep(1600 * time.Millisecond)
	_, csrf = mgr.page("/.sessiongate/admin")
	if resp := mgr.post("/.sessiongate/admin", url.Values{"csrf": {csrf}, "action": {"policy"}, "absolute": {"3s"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("set the absolute limit: %s %.200s", resp.Status, readBody(t, resp))
	}
	limitWait := time.Second // announced to node B's follower
	if storeBlock != "" {
		limitWait = 3 * time.Second // without the copy, node B re-reads the setting every 2 s
	}
	took = append(took, older.refusedWithin(b, "absolute", limitWait))

	slices.Sort(took)
	t.Logf("node B refused after %v (node A's response to B's first refusal, polling every 1 ms over HTTP)", took)
}
