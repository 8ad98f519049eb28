package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/internal/timegrammar"
)

// TimeRange selects records by time: [From, To) in UTC; a zero side is open.
type TimeRange struct {
	From, To time.Time
}

// IsZero reports whether the range selects everything.
func (r TimeRange) IsZero() bool { return r.From.IsZero() && r.To.IsZero() }

func (r TimeRange) String() string {
	side := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.UTC().Format(time.RFC3339)
	}
	return side(r.From, "the beginning") + " to " + side(r.To, "now")
}

// ParseTimeRange turns the command-line flags into a range: since (e.g. "1h", "7d") means
// [now-since, now); from and to are absolute times (see ParseTime). since and from/to are
// exclusive; all empty selects everything.
func ParseTimeRange(since, from, to string, now time.Time) (TimeRange, error) {
	if since != "" && (from != "" || to != "") {
		return TimeRange{}, fmt.Errorf("--since cannot be combined with --from/--to")
	}
	var r TimeRange
	if since != "" {
		d, err := ParseDuration(since)
		if err != nil {
			return TimeRange{}, fmt.Errorf("--since: %w", err)
		}
		if d <= 0 {
			return TimeRange{}, fmt.Errorf("--since: %q must be positive", since)
		}
		return TimeRange{From: now.Add(-d).UTC(), To: now.UTC()}, nil
	}
	var err error
	if from != "" {
		if r.From, err = ParseTime(from, now); err != nil {
			return TimeRange{}, fmt.Errorf("--from: %w", err)
		}
	}
	if to != "" {
		if r.To, err = ParseTime(to, now); err != nil {
			return TimeRange{}, fmt.Errorf("--to: %w", err)
		}
	}
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return TimeRange{}, fmt.Errorf("--from %s is not before --to %s", from, to)
	}
	return r, nil
}

// ParseDuration reads flowtap's one duration grammar (internal/timegrammar, as the log
// store's Loki API: "90m", "36h", "7d", "1w", "1d12h") and Go's fractional forms ("1.5h").
func ParseDuration(s string) (time.Duration, error) {
	if d, err := timegrammar.ParseDuration(s); err == nil {
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 15m, 6h, 7d, 1w)", s)
	}
	return d, nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTime accepts RFC 3339 ("2024-05-01T10:00:00Z"), the same without zone or seconds
// (taken as UTC), a date, Unix seconds, "now", or "now-DUR" ("now-2h").
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now.UTC(), nil
	}
	if rest, ok := strings.CutPrefix(s, "now-"); ok {
		d, err := ParseDuration(rest)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d).UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) >= 9 {
		return time.Unix(n, 0).UTC(), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q (want RFC 3339 like 2024-05-01T10:00:00Z, a date, Unix seconds or now-1h)", s)
}
