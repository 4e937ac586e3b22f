package caddymodule_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRenewAsksForFreshCredentials: /renew sends the browser to the
// provider with prompt=login and max_age=0 (so the callback checks
// auth_time), and the status tells the banner where it is; with
// renew_in_place off there is neither.
func TestRenewAsksForFreshCredentials(t *testing.T) {
	abs := "absolute_timeout 1h\n\t\tabsolute_warn_before 10m"
	st := startStack(t, site{name: "on", extra: abs}, site{name: "off", extra: abs + "\n\t\trenew_in_place off"})
	for _, name := range []string{"on", "off"} {
		b := st.newBrowser(name)
		b.signIn("/chart", "alice", "pw-alice")
		req, err := http.NewRequest(http.MethodGet, b.base+"/.sessiongate/renew?popup=1&rd=%2Fchart", nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range navigationHeaders() {
			req.Header.Set(k, v)
		}
		resp, err := b.noRedirects().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status := b.background("GET", "/.sessiongate/status", nil)
		body := readBody(t, status)
		if name == "off" {
			if resp.StatusCode != http.StatusNotFound || strings.Contains(body, `"renew_url"`) {
				t.Errorf("renew_in_place off: /renew %d, status %s", resp.StatusCode, body)
			}
			continue
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("prompt") != "login" || loc.Query().Get("max_age") != "0" {
			t.Errorf("/renew: %d to %v, want the provider with prompt=login and max_age=0", resp.StatusCode, loc)
		}
		if !strings.Contains(body, `"renew_url":"/.sessiongate/renew"`) {
			t.Errorf("status without renew_url: %s", body)
		}
	}
}
