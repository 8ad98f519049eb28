package timegrammar

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"1w": 7 * 24 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute,
		"1y": 365 * 24 * time.Hour, "1h30m15s": time.Hour + 30*time.Minute + 15*time.Second, "250ms": 250 * time.Millisecond,
		"15": 15 * time.Second, "0.5": 500 * time.Millisecond, "3µs": 3 * time.Microsecond, "2ns": 2,
	}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "h", "1x", "1.5h", "-1h", "1h-", "99999999999y", "1e400"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		} else if !strings.Contains(err.Error(), "cannot parse") {
			t.Errorf("ParseDuration(%q): %v is not Loki's wording", in, err)
		}
	}
}

// FuzzParseDuration: no input panics, and one more second appended to a unit form adds
// one second.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1w", "1d12h", "15", "0.5", "µs", "9223372036854775807ns", "1y1y1y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil || strings.Contains(s, ".") || strings.Trim(s, "0123456789") == "" {
			return
		}
		if d2, err := ParseDuration(s + "1s"); err == nil && d2 != d+time.Second {
			t.Errorf("%q = %v but %q = %v", s, d, s+"1s", d2)
		}
	})
}
