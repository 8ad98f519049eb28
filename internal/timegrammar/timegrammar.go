// Package timegrammar is flowtap's one duration grammar, shared by the log store's Loki
// API (query parameters such as step and since) and the query commands (--since, now-DUR):
// Prometheus-style units ns, us/µs, ms, s, m, h, d (24 h), w (7 d) and y (365 d), which may
// be concatenated ("1d12h", "1w"), or a plain number of seconds ("15", "0.5") as Loki
// accepts it. Errors use Loki's wording.
package timegrammar

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// ParseDuration reads a duration in the grammar of the package doc.
func ParseDuration(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		d := f * float64(time.Second)
		if d > math.MaxInt64 || d < math.MinInt64 || math.IsNaN(d) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", v)
		}
		return time.Duration(d), nil
	}
	var total time.Duration
	s := v
	if s == "" {
		return 0, fmt.Errorf("cannot parse %q to a valid duration", v)
	}
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration", v)
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cannot parse %q to a valid duration", v)
		}
		s = s[i:]
		j := 0
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		unit, ok := units[s[:j]]
		if !ok {
			return 0, fmt.Errorf("cannot parse %q to a valid duration", v)
		}
		if n > math.MaxInt64/int64(unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", v)
		}
		total += time.Duration(n) * unit
		s = s[j:]
	}
	return total, nil
}

var units = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour,
}
