package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that is written in JSON either as a duration
// string ("15m", "9h", "1h30m", "7d", "1d12h") or as an integer number of
// nanoseconds: the forms caddy.Duration accepts, read by ParseDuration.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d the way ParseDuration reads it back.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or an integer number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("duration: %w", err)
		}
		v, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("duration %s: want a string like \"15m\" or integer nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// maxDurationText bounds the text ParseDuration reads (Caddy's bound too).
const maxDurationText = 1024

// ParseDuration reads a duration the way Caddy's own durations read
// (caddy.ParseDuration): a Go duration ("90s", "15m", "1h30m") in which a
// number may also carry a "d" unit of 24 hours, whole or fractional and
// combined with other units ("7d", "1.5d", "1d12h"). Unlike Caddy's,
// negative durations are refused: no sessiongate option can use one.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxDurationText {
		return 0, fmt.Errorf("invalid duration: longer than %d bytes", maxDurationText)
	}
	goForm, err := daysToHours(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", s, err)
	}
	v, err := time.ParseDuration(goForm)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (examples: 90s, 15m, 9h, 7d, 1d12h): %w", s, err)
	}
	if v < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return v, nil
}

// daysToHours rewrites each number with a "d" unit as the same number of
// hours, so that time.ParseDuration can read the rest.
func daysToHours(s string) (string, error) {
	var b strings.Builder
	run := 0 // where the current run of number characters began
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'd':
			days, err := strconv.ParseFloat(s[run:i], 64)
			if err != nil {
				return "", fmt.Errorf("%q is not a number of days", s[run:i])
			}
			b.WriteString(strconv.FormatFloat(days*24, 'f', -1, 64))
			b.WriteByte('h')
			run = i + 1
		case !isNumberChar(c):
			b.WriteString(s[run : i+1])
			run = i + 1
		}
	}
	b.WriteString(s[run:])
	return b.String(), nil
}

// isNumberChar reports a character that may belong to a duration's number.
func isNumberChar(c byte) bool { return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' }
