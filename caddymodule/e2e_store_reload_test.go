package caddymodule_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStoreDownFailsClosedAndRecovers(t *testing.T) {
	st := startStack(t, site{name: "main"})
	if !st.redis.Managed() {
		t.Skip("needs a managed redis-server")
	}
	b := st.newBrowser("main")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	hits := st.app.hits.Load()
	st.redis.Stop(t)
	resp := b.navigate("/chart")
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Sign-in service unavailable") {
		t.Fatalf("store down, navigation: %s %.300s", resp.Status, body)
	}
	resp = b.background(http.MethodGet, "/api/queue", nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("store down, background: %s %s", resp.Status, body)
	}
	if got := st.app.hits.Load(); got != hits {
		t.Fatalf("%d requests reached the app while the store was down", got-hits)
	}
	st.redis.Restart(t) // no persistence: sessions are gone, users sign in again
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp = b.navigate("/chart")
		readBody(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		t.Fatal("service did not resume after Redis came back")
	}
	expectApp(t, b.signIn("/chart", "alice", "pw-alice"), "/chart")
}

func TestReloadAppliesNewPolicyAndKeepsMemorySessions(t *testing.T) {
	st := startStack(t, site{name: "mem", store: "memory"})
	b := st.newBrowser("mem")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	st.load(site{name: "mem", store: "memory", extra: "idle_timeout 1s\n\t\twarn_before 500ms"})
	expectApp(t, b.navigate("/after-reload"), "/after-reload") // survived the reload
	time.Sleep(1200 * time.Millisecond)
	expectSignedOut(t, b.navigate("/x"), "idle", "after 1 second of inactivity")
}
