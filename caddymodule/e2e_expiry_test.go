package caddymodule_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestIdleExpiryAndSignInAgain(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	b := st.newBrowser("idle")
	expectApp(t, b.signIn("/patients", "alice", "pw-alice"), "/patients")
	time.Sleep(2200 * time.Millisecond)
	resp := b.navigate("/patients?id=3")
	expectSignedOut(t, resp, "idle", "after 2 seconds of inactivity")
	if resp.Request.URL.Query().Get("rd") != "/patients?id=3" {
		t.Errorf("original URL not kept: %s", resp.Request.URL)
	}
	// Going back to the app directly must not silently sign the last user in
	// (the provider still has an SSO session): the password is asked again.
	resp = b.navigate("/patients")
	readBody(t, resp)
	if reqs := st.idp.AuthorizeRequests(); !strings.Contains(resp.Request.URL.Path, "/login") ||
		reqs[len(reqs)-1].Prompt != "login" || !reqs[len(reqs)-1].LoginFormShown {
		t.Fatalf("after a security sign-out the password must be asked again: %s %+v", resp.Request.URL, reqs[len(reqs)-1])
	}
	// "Sign in again" forces the password (prompt=login) and returns to the page
	before := len(st.idp.AuthorizeRequests())
	resp = b.navigate("/.sessiongate/login?rd=" + url.QueryEscape("/patients?id=3") + "&prompt=login")
	reqs := st.idp.AuthorizeRequests()
	if len(reqs) != before+1 || reqs[len(reqs)-1].Prompt != "login" || !reqs[len(reqs)-1].LoginFormShown {
		t.Fatalf("sign in again must send prompt=login and show the form: %+v", reqs[len(reqs)-1])
	}
	time.Sleep(1100 * time.Millisecond) // auth_time has one-second resolution
	final, err := submitLogin(b, resp, "alice", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	expectApp(t, final, "/patients")
	if final.Request.URL.RequestURI() != "/patients?id=3" {
		t.Errorf("returned to %s", final.Request.URL.RequestURI())
	}
}

func TestAbsoluteExpiryDespiteConstantActivity(t *testing.T) {
	st := startStack(t, site{name: "abs", extra: "idle_timeout 2s\n\t\twarn_before 1s\n\t\tabsolute_timeout 3s\n\t\tabsolute_warn_before 1s"})
	b := st.newBrowser("abs")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	start := time.Now()
	for time.Since(start) < 2500*time.Millisecond {
		expectApp(t, b.navigate("/chart"), "/chart")
		time.Sleep(400 * time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(3100 * time.Millisecond)))
	expectSignedOut(t, b.navigate("/chart"), "absolute", "session limit was reached")
}

func TestBackgroundPollingDoesNotExtendSession(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	b := st.newBrowser("idle")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	start := time.Now()
	ok := 0
	for time.Since(start) < 1700*time.Millisecond {
		resp := b.background(http.MethodGet, "/api/queue", nil)
		if resp.StatusCode == http.StatusOK {
			ok++
		}
		readBody(t, resp)
		time.Sleep(250 * time.Millisecond)
	}
	if ok == 0 {
		t.Fatal("polling within the idle window must pass")
	}
	time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
	resp := b.background(http.MethodGet, "/api/queue", nil)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("polling must not keep the session alive: %s %s", resp.Status, body)
	}
	var e struct{ Error, Reason, Login string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != "session_expired" || e.Reason != "idle" || e.Login == "" {
		t.Fatalf("401 body: %s (%v)", body, err)
	}
	// a meta refresh (navigation without user activation) does not count either
}

func TestMetaRefreshDoesNotExtendSession(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	b := st.newBrowser("idle")
	expectApp(t, b.signIn("/", "alice", "pw-alice"), "/")
	refresh := map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html"}
	start := time.Now()
	for time.Since(start) < 1600*time.Millisecond {
		expectApp(t, b.do(http.MethodGet, "/board", refresh, nil), "/board")
		time.Sleep(400 * time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
	expectSignedOut(t, b.do(http.MethodGet, "/board", refresh, nil), "idle", "inactivity")
}

func TestTwoDevicesHaveIndependentTimers(t *testing.T) {
	st := startStack(t, site{name: "idle", extra: "idle_timeout 2s\n\t\twarn_before 1s"})
	laptop, tablet := st.newBrowser("idle"), st.newBrowser("idle")
	expectApp(t, laptop.signIn("/", "alice", "pw-alice"), "/")
	expectApp(t, tablet.signIn("/", "alice", "pw-alice"), "/")
	start := time.Now()
	for time.Since(start) < 2500*time.Millisecond {
		expectApp(t, laptop.navigate("/chart"), "/chart")
		time.Sleep(400 * time.Millisecond)
	}
	expectSignedOut(t, tablet.navigate("/chart"), "idle", "inactivity")
	expectApp(t, laptop.navigate("/chart"), "/chart")
}
