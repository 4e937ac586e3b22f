package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/sessiongate/sessiongate/config"
)

// TestDurationsReadLikeCaddys compares config.ParseDuration with Caddy's own
// caddy.ParseDuration: every text reads to the same value, or both refuse
// it — except negative durations, which only sessiongate refuses.
func TestDurationsReadLikeCaddys(t *testing.T) {
	for _, in := range []string{
		"15m", "9h", "1h30m", "90s", "500ms", "0", "7d", "30d", "1d12h", "1.5d", "0.5d", ".5d", "1h2d",
		"2d3h4m5s", "1d1d", "+1d", "1.25d", "0.1d", "3d12h30m", "1d ", " 2d",
		"d", "1.5.5d", "7 d", "7days", "fifteen", "", "1x", "1e3d", "1dd", "h", "1",
		"-1d", "-5m", "-1.5d",
	} {
		want, cerr := caddy.ParseDuration(strings.TrimSpace(in)) // Caddyfile tokens carry no spaces
		got, err := config.ParseDuration(in)
		switch {
		case cerr == nil && want < 0:
			if err == nil {
				t.Errorf("%q: read as %s; a negative duration must be refused", in, got)
			}
		case (cerr == nil) != (err == nil):
			t.Errorf("%q: Caddy reads %s (%v), sessiongate %s (%v)", in, want, cerr, got, err)
		case err == nil && got != want:
			t.Errorf("%q: Caddy reads %s, sessiongate %s", in, want, got)
		}
	}
}
