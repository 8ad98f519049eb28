package logql

import (
	"testing"
	"time"
)

// TestParseDuration: LogQL durations are Go's (fractions, signs) or flowtap's one grammar
// (d, w, y, concatenated), and a bare number is not one.
func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1.5h": 90 * time.Minute, "-5m": -5 * time.Minute, "0": 0, "300ms": 300 * time.Millisecond,
		"1d12h": 36 * time.Hour, "1w": 7 * 24 * time.Hour, "2y": 2 * 365 * 24 * time.Hour,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "15", "0.5", "5x", "d", "1.5d", "99999999999y"} {
		if d, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, d)
		}
	}
}
