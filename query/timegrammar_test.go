package query

import (
	"testing"
	"time"
)

// The query commands accept every duration the log store's Loki API accepts (one grammar).
func TestQueryDurationsMatchLogStore(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	r, err := ParseTimeRange("1w", "", "", now)
	if err != nil || !r.From.Equal(now.Add(-7*24*time.Hour)) {
		t.Fatalf("--since 1w = %v, %v", r, err)
	}
	for in, want := range map[string]time.Duration{"1y": 365 * 24 * time.Hour, "2w3d": 17 * 24 * time.Hour, "1.5h": 90 * time.Minute, "3600": time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if tm, err := ParseTime("now-1w", now); err != nil || !tm.Equal(now.Add(-7*24*time.Hour)) {
		t.Errorf("now-1w = %v, %v", tm, err)
	}
}
