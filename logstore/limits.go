package logstore

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flowtap/flowtap/logstore/logql"
)

// Limits are Loki's per-tenant ingestion limits (limits_config), with Loki's defaults in
// DefaultConfig and Loki's error wording when a push exceeds them. At the top level of
// Config a zero limit is no limit; in Config.Overrides a zero field inherits the top level.
type Limits struct {
	// MaxGlobalStreamsPerUser caps a tenant's active streams (streams holding data not
	// yet flushed, or pushed within ChunkIdlePeriod); a push creating one more is refused
	// (429) for that stream. Loki: max_global_streams_per_user, 5000.
	MaxGlobalStreamsPerUser int
	// MaxLabelNameLength, MaxLabelValueLength and MaxLabelNamesPerSeries refuse (400) a
	// stream with a longer label name (1024), value (2048) or more label names (15).
	MaxLabelNameLength     int
	MaxLabelValueLength    int
	MaxLabelNamesPerSeries int
	// MaxLineBytes refuses (400) a longer line (Loki's max_line_size, 256 KB).
	MaxLineBytes int
	// RejectOldSamples refuses (400) entries older than RejectOldSamplesMaxAge (1 week),
	// so that nothing acknowledged is deleted by retention before its time. nil: true.
	RejectOldSamples       *bool
	RejectOldSamplesMaxAge time.Duration
	// CreationGracePeriod refuses (400) entries newer than now plus this (10 minutes).
	CreationGracePeriod time.Duration
	// IngestionRateMB and IngestionBurstSizeMB bound a tenant's accepted line bytes per
	// second (token bucket, MiB); a push beyond them is refused whole (429). 4 and 6.
	IngestionRateMB      float64
	IngestionBurstSizeMB float64
}

// DefaultLimits are Loki 3.5's defaults.
func DefaultLimits() Limits {
	yes := true
	return Limits{
		MaxGlobalStreamsPerUser: 5000,
		MaxLabelNameLength:      1024,
		MaxLabelValueLength:     2048,
		MaxLabelNamesPerSeries:  15,
		MaxLineBytes:            256 << 10,
		RejectOldSamples:        &yes,
		RejectOldSamplesMaxAge:  7 * 24 * time.Hour,
		CreationGracePeriod:     10 * time.Minute,
		IngestionRateMB:         4,
		IngestionBurstSizeMB:    6,
	}
}

// merge returns l with o's non-zero fields.
func (l Limits) merge(o Limits) Limits {
	pick := func(a, b int) int {
		if b != 0 {
			return b
		}
		return a
	}
	l.MaxGlobalStreamsPerUser = pick(l.MaxGlobalStreamsPerUser, o.MaxGlobalStreamsPerUser)
	l.MaxLabelNameLength = pick(l.MaxLabelNameLength, o.MaxLabelNameLength)
	l.MaxLabelValueLength = pick(l.MaxLabelValueLength, o.MaxLabelValueLength)
	l.MaxLabelNamesPerSeries = pick(l.MaxLabelNamesPerSeries, o.MaxLabelNamesPerSeries)
	l.MaxLineBytes = pick(l.MaxLineBytes, o.MaxLineBytes)
	if o.RejectOldSamples != nil {
		l.RejectOldSamples = o.RejectOldSamples
	}
	if o.RejectOldSamplesMaxAge != 0 {
		l.RejectOldSamplesMaxAge = o.RejectOldSamplesMaxAge
	}
	if o.CreationGracePeriod != 0 {
		l.CreationGracePeriod = o.CreationGracePeriod
	}
	if o.IngestionRateMB != 0 {
		l.IngestionRateMB = o.IngestionRateMB
	}
	if o.IngestionBurstSizeMB != 0 {
		l.IngestionBurstSizeMB = o.IngestionBurstSizeMB
	}
	return l
}

func (l Limits) rejectOld() bool { return l.RejectOldSamples == nil || *l.RejectOldSamples }

// limitsFor is the tenant's limits: the top level with the tenant's override. An
// old-sample age beyond the retention is cut to the retention, so that no line is
// acknowledged that retention would delete at once.
func (s *Store) limitsFor(tenantID string) Limits {
	l := s.cfg.Limits
	if o, ok := s.cfg.Overrides[tenantID]; ok {
		l = l.merge(o)
	}
	if r := s.cfg.Retention; r > 0 && l.rejectOld() && (l.RejectOldSamplesMaxAge <= 0 || l.RejectOldSamplesMaxAge > r) {
		l.RejectOldSamplesMaxAge = r
	}
	return l
}

// validateLabels applies the label limits to a parsed stream; raw is the label string as
// pushed, which Loki's messages quote.
func (l Limits) validateLabels(raw string, ls logql.Labels) error {
	if n := len(ls); l.MaxLabelNamesPerSeries > 0 && n > l.MaxLabelNamesPerSeries {
		return fmt.Errorf("entry for stream '%s' has %d label names; limit %d", raw, n, l.MaxLabelNamesPerSeries)
	}
	for _, lb := range ls {
		if l.MaxLabelNameLength > 0 && len(lb.Name) > l.MaxLabelNameLength {
			return fmt.Errorf("stream '%s' has label name too long: '%s'", raw, lb.Name)
		}
		if l.MaxLabelValueLength > 0 && len(lb.Value) > l.MaxLabelValueLength {
			return fmt.Errorf("stream '%s' has label value too long: '%s'", raw, lb.Value)
		}
	}
	return nil
}

// lokiTimeFormat is how Loki prints timestamps in validation errors.
const lokiTimeFormat = time.RFC3339

// entryBounds are a push's limits on its entries, worked out once: an entry within them
// passes validateEntry, one outside is refused by it.
type entryBounds struct {
	oldest, newest time.Time // zero: no bound
	maxLine        int       // 0: none
}

func (l Limits) entryBounds(now time.Time) entryBounds {
	var b entryBounds
	if l.rejectOld() && l.RejectOldSamplesMaxAge > 0 {
		b.oldest = now.Add(-l.RejectOldSamplesMaxAge)
	}
	if l.CreationGracePeriod > 0 {
		b.newest = now.Add(l.CreationGracePeriod)
	}
	b.maxLine = l.MaxLineBytes
	return b
}

func (b *entryBounds) within(ts time.Time, lineLen int) bool {
	return (b.oldest.IsZero() || !ts.Before(b.oldest)) && (b.newest.IsZero() || !ts.After(b.newest)) &&
		(b.maxLine <= 0 || lineLen <= b.maxLine)
}

// validateEntry applies the age, future and size limits to one entry, with Loki's
// reason (the discarded-samples label) and message.
func (l Limits) validateEntry(key string, ts time.Time, lineLen int, now time.Time) (reason string, err error) {
	if l.rejectOld() && l.RejectOldSamplesMaxAge > 0 {
		if oldest := now.Add(-l.RejectOldSamplesMaxAge); ts.Before(oldest) {
			return "greater_than_max_sample_age", fmt.Errorf("entry for stream '%s' has timestamp too old: %s, oldest acceptable timestamp is: %s",
				key, ts.UTC().Format(lokiTimeFormat), oldest.UTC().Format(lokiTimeFormat))
		}
	}
	if l.CreationGracePeriod > 0 && ts.After(now.Add(l.CreationGracePeriod)) {
		return "too_far_in_future", fmt.Errorf("entry for stream '%s' has timestamp too new: %s", key, ts.UTC().Format(lokiTimeFormat))
	}
	if l.MaxLineBytes > 0 && lineLen > l.MaxLineBytes {
		return "line_too_long", fmt.Errorf("Max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes",
			l.MaxLineBytes, key, lineLen)
	}
	return "", nil
}

// maxGroupedErrors bounds the validation messages of one refused push, as a push of
// 100 000 bad streams must not answer with 100 000 lines.
const maxGroupedErrors = 20

// groupedErrors collects a push's validation errors into one 400 answer.
type groupedErrors struct {
	msgs  []string
	count int
}

func (g *groupedErrors) add(err error) {
	g.count++
	if len(g.msgs) < maxGroupedErrors {
		g.msgs = append(g.msgs, err.Error())
	}
}

func (g *groupedErrors) err() *Error {
	if g.count == 0 {
		return nil
	}
	msg := strings.Join(g.msgs, "\n")
	if g.count > len(g.msgs) {
		msg += fmt.Sprintf("\n(and %d more errors)", g.count-len(g.msgs))
	}
	return &Error{Code: http.StatusBadRequest, Msg: msg}
}

// rateLimiter is a token bucket of bytes per second per tenant, like Loki's ingestion
// rate limiter: a push larger than the burst is never allowed.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes n bytes from the tenant's bucket if it holds them.
func (r *rateLimiter) allow(tenantID string, rate, burst float64, n int, now time.Time) bool {
	if rate <= 0 {
		return true
	}
	if burst < rate {
		burst = rate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buckets == nil {
		r.buckets = map[string]*bucket{}
	}
	b := r.buckets[tenantID]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		r.buckets[tenantID] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(burst, b.tokens+el*rate)
		b.last = now
	}
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}

const bytesInMB = 1 << 20
