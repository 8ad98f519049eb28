package logstore

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
)

// limitsConfig is testConfig with Loki's default limits back on.
func limitsConfig() Config {
	cfg := testConfig()
	cfg.Limits = DefaultLimits()
	return cfg
}

func pushHTTP(t *testing.T, ts *testStore, tenant string, streams ...push.Stream) (int, string) {
	t.Helper()
	return do(t, "POST", ts.url+"/loki/api/v1/push", tenant, "application/x-protobuf", protoBody(t, streams...))
}

// Lines older than reject_old_samples_max_age (default one week) are refused with Loki's
// 400 and wording, as are lines beyond the creation grace period; the push is refused
// whole (see Store.Push). A tenant override changes the age.
func TestOldAndFutureSamplesRejectedAsLoki(t *testing.T) {
	cfg := limitsConfig()
	cfg.AuthEnabled = true
	cfg.Overrides = map[string]Limits{"strict": {RejectOldSamplesMaxAge: time.Hour}}
	ts := startStore(t, cfg)
	now := time.Now()
	old := now.Add(-40 * 24 * time.Hour)
	code, body := pushHTTP(t, ts, "a", push.Stream{Labels: `{job="old"}`, Entries: []push.Entry{
		{Timestamp: old, Line: "forty days ago"},
		{Timestamp: now, Line: "now"},
		{Timestamp: now.Add(time.Hour), Line: "an hour ahead"},
	}})
	wantOld := fmt.Sprintf("entry for stream '{job=\"old\"}' has timestamp too old: %s, oldest acceptable timestamp is: ", old.UTC().Format(time.RFC3339))
	wantNew := fmt.Sprintf("entry for stream '{job=\"old\"}' has timestamp too new: %s", now.Add(time.Hour).UTC().Format(time.RFC3339))
	if code != http.StatusBadRequest || !strings.HasPrefix(body, wantOld) || !strings.Contains(body, "\n"+wantNew) {
		t.Fatalf("old and future lines: %d %q\nwant 400 %q… and %q", code, body, wantOld, wantNew)
	}
	if got := selectAll(t, ts.Store, "a", `{job="old"}`); len(got) != 0 {
		t.Fatalf("refused push stored %v", got)
	}
	// A backfill two hours old is fine by default but not for the strict tenant.
	twoHours := []push.Entry{{Timestamp: now.Add(-2 * time.Hour), Line: "backfill"}}
	if code, body := pushHTTP(t, ts, "a", push.Stream{Labels: `{job="b"}`, Entries: twoHours}); code != http.StatusNoContent {
		t.Fatalf("two-hour-old line, default tenant: %d %s", code, body)
	}
	if code, body := pushHTTP(t, ts, "strict", push.Stream{Labels: `{job="b"}`, Entries: twoHours}); code != http.StatusBadRequest || !strings.Contains(body, "has timestamp too old") {
		t.Fatalf("two-hour-old line, tenant with a one-hour max age: %d %s", code, body)
	}
}

// A line of exactly max_line_size is stored, one byte more refuses the push with Loki's
// 400 and wording, counted as line_too_long.
func TestLineSizeLimit(t *testing.T) {
	cfg := limitsConfig()
	cfg.MaxLineBytes = 100
	ts := startStore(t, cfg)
	now := time.Now()
	if code, body := pushHTTP(t, ts, "", push.Stream{Labels: `{job="l"}`, Entries: []push.Entry{{Timestamp: now, Line: strings.Repeat("a", 100)}}}); code != http.StatusNoContent {
		t.Fatalf("line of the limit: %d %s", code, body)
	}
	code, body := pushHTTP(t, ts, "", push.Stream{Labels: `{job="l"}`, Entries: []push.Entry{
		{Timestamp: now.Add(time.Second), Line: "short"}, {Timestamp: now.Add(time.Second), Line: strings.Repeat("b", 101)}}})
	want := "Max entry size '100' bytes exceeded for stream '{job=\"l\"}' while adding an entry with length '101' bytes"
	if code != http.StatusBadRequest || body != want {
		t.Fatalf("line over the limit: %d %q, want 400 %q", code, body, want)
	}
	if got := selectAll(t, ts.Store, DefaultTenant, `{job="l"}`)[`{job="l"}`]; len(got) != 1 {
		t.Fatalf("stored %d lines, want the first push's 1", len(got))
	}
	if n := testutilCounter(ts.m.discarded.WithLabelValues("line_too_long")); n != 1 {
		t.Fatalf("line_too_long discarded %v, want 1", n)
	}
}

// Label limits: names per series (15), name length (1024), value length (2048), with
// Loki's wording; nothing of the refused stream is stored.
func TestLabelLimits(t *testing.T) {
	ts := startStore(t, limitsConfig())
	now := time.Now()
	many := make([]string, 16)
	for i := range many {
		many[i] = fmt.Sprintf(`l%02d="v"`, i)
	}
	longName := strings.Repeat("n", 1025)
	longValue := strings.Repeat("v", 2049)
	cases := []struct{ labels, want string }{
		{"{" + strings.Join(many, ", ") + "}", fmt.Sprintf("entry for stream '{%s}' has 16 label names; limit 15", strings.Join(many, ", "))},
		{`{` + longName + `="x"}`, fmt.Sprintf("stream '{%s=\"x\"}' has label name too long: '%s'", longName, longName)},
		{`{job="` + longValue + `"}`, fmt.Sprintf("stream '{job=\"%s\"}' has label value too long: '%s'", longValue, longValue)},
	}
	for _, c := range cases {
		code, body := pushHTTP(t, ts, "", push.Stream{Labels: c.labels, Entries: []push.Entry{{Timestamp: now, Line: "x"}}})
		if code != http.StatusBadRequest || body != c.want {
			t.Fatalf("labels %.40s…: %d %.200q, want 400 %.200q", c.labels, code, body, c.want)
		}
	}
	if got := selectAll(t, ts.Store, DefaultTenant, `{__name__=~".*"}`); len(got) != 0 {
		t.Fatalf("refused streams stored: %d", len(got))
	}
	// 15 names and the longest name and value are fine.
	ok := `{` + strings.Repeat("n", 1024) + `="` + strings.Repeat("v", 2048) + `", ` + strings.Join(many[:14], ", ") + `}`
	if code, body := pushHTTP(t, ts, "", push.Stream{Labels: ok, Entries: []push.Entry{{Timestamp: now, Line: "x"}}}); code != http.StatusNoContent {
		t.Fatalf("labels at the limits: %d %.200s", code, body)
	}
}

// A client pushing 100 000 new streams gets Loki's 429 once they would pass
// max_global_streams_per_user: none of them is created (the index stays at the limit),
// active streams keep taking pushes, other tenants are unaffected, and once streams go
// idle and are flushed new ones are accepted again.
func TestStreamLimitRefusesFlood(t *testing.T) {
	cfg := limitsConfig()
	cfg.AuthEnabled = true
	cfg.MaxGlobalStreamsPerUser = 200
	cfg.ChunkIdlePeriod = time.Hour
	ts := startStore(t, cfg)
	now := time.Now()
	const flood = 100000
	streams := make([]push.Stream, flood)
	for i := range streams {
		streams[i] = push.Stream{Labels: fmt.Sprintf(`{job="flood", id="%d"}`, i), Entries: []push.Entry{{Timestamp: now, Line: "x"}}}
	}
	if code, body := pushHTTP(t, ts, "a", streams[:150]...); code != http.StatusNoContent {
		t.Fatalf("150 streams within the limit: %d %s", code, body)
	}
	code, body := pushHTTP(t, ts, "a", streams...)
	if code != http.StatusTooManyRequests || !strings.HasPrefix(body, "Maximum active stream limit exceeded when trying to create stream {") ||
		!strings.HasSuffix(body, "reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'a'") {
		t.Fatalf("flood: %d %.300s", code, body)
	}
	if code, body := pushHTTP(t, ts, "a", streams[150:200]...); code != http.StatusNoContent {
		t.Fatalf("up to the limit: %d %s", code, body)
	}
	ta := ts.tenantIfExists("a")
	ta.mu.RLock()
	indexed, aliases := len(ta.streams), len(ta.aliases)
	ta.mu.RUnlock()
	if indexed != 200 || aliases > 200 || ta.activeStreams() != 200 {
		t.Fatalf("after the flood: %d streams indexed, %d aliases, %d active; want 200", indexed, aliases, ta.activeStreams())
	}
	if got := selectAll(t, ts.Store, "a", `{job="flood"}`); len(got) != 200 {
		t.Fatalf("%d streams stored, want the 200 pushed within the limit", len(got))
	}
	// An active stream still takes pushes; a new one does not; tenant b is not limited by a.
	if code, body := pushHTTP(t, ts, "a", push.Stream{Labels: streams[0].Labels, Entries: []push.Entry{{Timestamp: now.Add(time.Second), Line: "y"}}}); code != http.StatusNoContent {
		t.Fatalf("push to an active stream: %d %s", code, body)
	}
	if code, _ := pushHTTP(t, ts, "a", push.Stream{Labels: `{job="new"}`, Entries: []push.Entry{{Timestamp: now, Line: "y"}}}); code != http.StatusTooManyRequests {
		t.Fatalf("new stream at the limit: %d", code)
	}
	if code, body := pushHTTP(t, ts, "b", push.Stream{Labels: `{job="new"}`, Entries: []push.Entry{{Timestamp: now, Line: "y"}}}); code != http.StatusNoContent {
		t.Fatalf("other tenant: %d %s", code, body)
	}
	// Streams flushed and idle for chunk_idle_period stop counting.
	ts.FlushAll()
	ta.deactivateIdle(time.Now().Add(2*time.Hour), cfg.ChunkIdlePeriod)
	if code, body := pushHTTP(t, ts, "a", push.Stream{Labels: `{job="new"}`, Entries: []push.Entry{{Timestamp: now, Line: "y"}}}); code != http.StatusNoContent {
		t.Fatalf("new stream after the others went idle: %d %s", code, body)
	}
}

// The ingestion rate limit refuses a whole push beyond the tenant's token bucket (429,
// Loki's wording), and a push larger than the burst is never accepted.
func TestIngestionRateLimit(t *testing.T) {
	cfg := limitsConfig()
	cfg.IngestionRateMB = 1.0 / 1024 // 1 KiB/s
	cfg.IngestionBurstSizeMB = 2.0 / 1024
	ts := startStore(t, cfg)
	now := time.Now()
	line := strings.Repeat("r", 700)
	one := push.Stream{Labels: `{job="rate"}`, Entries: []push.Entry{{Timestamp: now, Line: line}}}
	if code, body := pushHTTP(t, ts, "", one); code != http.StatusNoContent {
		t.Fatalf("first push within the burst: %d %s", code, body)
	}
	three := push.Stream{Labels: `{job="rate"}`, Entries: []push.Entry{{Timestamp: now.Add(1), Line: line}, {Timestamp: now.Add(2), Line: line}, {Timestamp: now.Add(3), Line: line}}}
	code, body := pushHTTP(t, ts, "", three)
	want := "Ingestion rate limit exceeded for user fake (limit: 1024 bytes/sec) while attempting to ingest '3' lines totaling '2100' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased"
	if code != http.StatusTooManyRequests || body != want {
		t.Fatalf("push beyond the rate: %d %q, want 429 %q", code, body, want)
	}
	if got := selectAll(t, ts.Store, DefaultTenant, `{job="rate"}`)[`{job="rate"}`]; len(got) != 1 {
		t.Fatalf("stored %d lines, want 1 (the refused push stores nothing)", len(got))
	}
}

// A push whose Content-Type is neither JSON nor protobuf is decoded as protobuf, as
// Loki does, so a JSON body sent as text/plain is refused (400) and stores nothing.
func TestTextPlainPushRefused(t *testing.T) {
	ts := startStore(t, testConfig())
	body := []byte(`{"streams":[{"stream":{"job":"plain"},"values":[["1700000000000000000","hello"]]}]}`)
	code, msg := do(t, "POST", ts.url+"/loki/api/v1/push", "", "text/plain", body)
	if code != http.StatusBadRequest {
		t.Fatalf("text/plain JSON push: %d %q, want 400", code, msg)
	}
	if got := selectAll(t, ts.Store, DefaultTenant, `{job="plain"}`); len(got) != 0 {
		t.Fatalf("text/plain push stored %v", got)
	}
	if code, msg := do(t, "POST", ts.url+"/loki/api/v1/push", "", "application/json; charset=utf-8", body); code != http.StatusNoContent {
		t.Fatalf("the same body as application/json: %d %s", code, msg)
	}
}

// With a retention shorter than reject_old_samples_max_age, lines older than the
// retention are refused: nothing is acknowledged that retention would delete at once.
func TestOldSampleAgeFollowsShorterRetention(t *testing.T) {
	cfg := limitsConfig()
	cfg.Retention = 24 * time.Hour
	ts := startStore(t, cfg)
	now := time.Now()
	code, body := pushHTTP(t, ts, "", push.Stream{Labels: `{job="r"}`, Entries: []push.Entry{{Timestamp: now.Add(-25 * time.Hour), Line: "x"}}})
	if code != http.StatusBadRequest || !strings.Contains(body, "has timestamp too old") {
		t.Fatalf("line older than the retention: %d %s", code, body)
	}
	if code, body := pushHTTP(t, ts, "", push.Stream{Labels: `{job="r"}`, Entries: []push.Entry{{Timestamp: now.Add(-23 * time.Hour), Line: "y"}}}); code != http.StatusNoContent {
		t.Fatalf("line within the retention: %d %s", code, body)
	}
}
