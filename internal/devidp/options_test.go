package devidp

import (
	"net/http"
	"slices"
	"testing"
)

func TestRedirectURIRules(t *testing.T) {
	noLoopback := func(o *Options) { o.AllowLoopbackRedirects = false }
	h := newHarness(t, "", noLoopback)
	resp, err := h.browser.Get(h.oauth.AuthCodeURL("st"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Host == h.rpURL().Host {
		t.Errorf("unregistered loopback redirect accepted without AllowLoopbackRedirects: %d %s", resp.StatusCode, resp.Request.URL)
	}

	h = newHarness(t, "", nil)
	for _, bad := range []string{
		"http://evil.example.test/callback",
		"https://127.0.0.1.evil.example.test/cb",
		"http://127.0.0.1:1@evil.example.test/cb",
	} {
		cfg := *h.oauth
		cfg.RedirectURL = bad
		resp, err := h.browser.Get(cfg.AuthCodeURL("st"))
		if err != nil {
			t.Fatalf("%s: %v", bad, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_uri %s: status %d at %s", bad, resp.StatusCode, resp.Request.URL)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]Options{
		"no issuer":       {},
		"relative":        {Issuer: "/idp"},
		"colon subject":   {Issuer: "http://127.0.0.1:1", Users: []User{{Subject: "a:b", Username: "x"}}},
		"dup user":        {Issuer: "http://127.0.0.1:1", Users: []User{{Subject: "a", Username: "x"}, {Subject: "b", Username: "x"}}},
		"client no id":    {Issuer: "http://127.0.0.1:1", Clients: []Client{{}}},
		"dup client":      {Issuer: "http://127.0.0.1:1", Clients: []Client{{ID: "c"}, {ID: "c"}}},
		"query in issuer": {Issuer: "http://127.0.0.1:1/?x=1"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}

func TestDemoUsers(t *testing.T) {
	users := DemoUsers()
	if len(users) != 3 {
		t.Fatalf("%d demo users", len(users))
	}
	want := [][]string{{"clinicians"}, {"front-desk"}, {"practice-managers", "clinicians"}}
	for i, u := range users {
		if !slices.Equal(u.Groups, want[i]) || u.Password == "" || u.Subject == "" {
			t.Errorf("user %d = %+v", i, u)
		}
	}
	users[0].Groups[0] = "changed"
	if DemoUsers()[0].Groups[0] != "clinicians" {
		t.Error("DemoUsers shares state between calls")
	}
}
