package bench

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lossText words a throughput change.
func lossText(loss float64) string {
	if loss < 0 {
		return fmt.Sprintf("no loss (%.1f%% more)", -loss)
	}
	return fmt.Sprintf("%.1f%% loss", loss)
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**MISS**"
}

func near(v, want float64) bool { return v > want-0.005 && v < want+0.005 }

// copyBackground are the commands the local copies send on their own, about
// 40 a second per store whatever the load (lease probe, tracking connection,
// subscription).
var copyBackground = []string{"info", "time", "blpop", "client|list", "client|id", "client|tracking",
	"subscribe", "client", "ping", "hello"}

// withoutBackground leaves the local copies' own commands out of m.
func withoutBackground(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if !slices.Contains(copyBackground, k) {
			out[k] = v
		}
	}
	return out
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func perRequest(m map[string]int64, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return float64(sum(m)) / float64(requests)
}

func perRequestOf(m map[string]int64, requests int64, names ...string) float64 {
	if requests == 0 {
		return 0
	}
	var n int64
	for _, k := range names {
		n += m[k]
	}
	return float64(n) / float64(requests)
}

// callList renders command counts per request, most frequent first;
// commands seen less than once per 100 requests (a pool opening a
// connection: HELLO, CLIENT) are listed as totals.
func callList(m map[string]int64, requests int64) string {
	if sum(m) == 0 || requests == 0 {
		return "0 commands"
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(x, y string) int {
		if m[x] != m[y] {
			return int(m[y] - m[x])
		}
		return strings.Compare(x, y)
	})
	var per, rare []string
	for _, k := range keys {
		v := float64(m[k]) / float64(requests)
		if v >= 0.01 {
			per = append(per, fmt.Sprintf("%s %.3f", strings.ToUpper(k), v))
		} else {
			rare = append(rare, fmt.Sprintf("%s %d", strings.ToUpper(k), m[k]))
		}
	}
	out := strings.Join(per, ", ") + " per request"
	if len(per) == 0 {
		out = "none per request"
	}
	if len(rare) > 0 {
		out += " (plus, in all, " + strings.Join(rare, ", ") + ": connection set-up)"
	}
	return out
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1e3, 'f', 3, 64) }

// signedMS formats d in milliseconds with a sign.
func signedMS(d time.Duration) string {
	s := ms(d)
	if d >= 0 {
		s = "+" + s
	}
	return s
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// thousands formats n with thin separators ("12,345").
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
