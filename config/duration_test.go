package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDurationUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{`"15m"`, 15 * time.Minute},
		{`"9h"`, 9 * time.Hour},
		{`"1h30m"`, 90 * time.Minute},
		{`"90s"`, 90 * time.Second},
		{`"7d"`, 7 * 24 * time.Hour},
		{`"1d"`, 24 * time.Hour},
		{`" 15m "`, 15 * time.Minute},
		{`900000000000`, 15 * time.Minute},
		{`0`, 0},
	}
	for _, tc := range tests {
		var d Duration
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Errorf("unmarshal %s: %v", tc.in, err)
			continue
		}
		if d.Std() != tc.want {
			t.Errorf("unmarshal %s = %s, want %s", tc.in, d, tc.want)
		}
	}
}

func TestDurationUnmarshalJSONErrors(t *testing.T) {
	for _, in := range []string{
		`"15 minutes"`, `"fifteen"`, `"-5m"`, `"-7d"`, `"-1.5d"`, `"d"`, `"7 d"`, `"1x2d"`,
		`""`, `1.5`, `true`, `null`, `"15m`, `{}`,
	} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("unmarshal %s = %s, want an error", in, d)
		}
	}
}

func TestDurationJSONRoundTrip(t *testing.T) {
	for _, v := range []time.Duration{
		15 * time.Minute, 9 * time.Hour, 2 * time.Minute, 90 * time.Second,
		7 * 24 * time.Hour, 1500 * time.Millisecond, time.Nanosecond, 0,
	} {
		b, err := json.Marshal(Duration(v))
		if err != nil {
			t.Fatalf("marshal %s: %v", v, err)
		}
		if len(b) == 0 || b[0] != '"' {
			t.Errorf("marshal %s = %s, want a JSON string", v, b)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s (from %s): %v", b, v, err)
		}
		if back.Std() != v {
			t.Errorf("round trip %s → %s → %s", v, b, back)
		}
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"15m": 15 * time.Minute, "7d": 168 * time.Hour, "30d": 720 * time.Hour,
		"1h30m": 90 * time.Minute, "0": 0, "0d": 0,
		// Caddy's forms (caddy.ParseDuration): fractional days, days with other units
		"1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour, "1h2d": 49 * time.Hour, "0.5d30m": 12*time.Hour + 30*time.Minute,
		"+1d": 24 * time.Hour,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"15 minutes", "-1m", "-1d", "-1.5d", "1.5.5d", "d", "", "7days", strings.Repeat("1", 1025) + "s"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an error", in, got)
		}
	}
}

// A day count too large for a time.Duration must be an error, the way
// time.ParseDuration rejects "5124096h", not wrap around to a small value.
// That holds for negative counts too: "-213503d" must not wrap around to a
// positive 23h34m.
func TestParseDurationDaysOverflow(t *testing.T) {
	for _, in := range []string{"106752d", "213504d", "9999999999d", "-106752d", "-213503d", "-9999999999d"} {
		got, err := ParseDuration(in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an overflow error", in, got)
		}
	}
	// the largest representable whole number of days still works
	if got, err := ParseDuration("106751d"); err != nil || got != 106751*24*time.Hour {
		t.Errorf("ParseDuration(106751d) = %s, %v", got, err)
	}
}
