package logstore

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/internal/component"
)

// metrics counts everything that moves through the store.
type metrics struct {
	pushes           *prometheus.CounterVec
	rejected         *prometheus.CounterVec
	discarded        *prometheus.CounterVec
	lines            prometheus.Counter
	bytes            prometheus.Counter
	duplicates       prometheus.Counter
	fsyncSeconds     prometheus.Histogram
	walReplayed      prometheus.Counter
	walCorrupt       prometheus.Counter
	chunksFlushed    prometheus.Counter
	flushErrors      prometheus.Counter
	corruptChunks    prometheus.Counter
	retentionDeleted prometheus.Counter
	querySeconds     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, s *Store) (*metrics, error) {
	f := component.NewMetrics("logstore")
	m := &metrics{
		pushes:     f.CounterVec("push_requests_total", "Push requests by HTTP status code.", "code"),
		rejected:   f.CounterVec("rejected_pushes_total", "Pushes refused, by reason.", "reason"),
		discarded:  f.CounterVec("discarded_lines_total", "Lines refused by the ingestion limits, by Loki's reason (as loki_discarded_samples_total).", "reason"),
		lines:      f.Counter("ingested_lines_total", "Log lines accepted by pushes; those found to be exact copies are also counted in duplicate_lines_total (lines stored = ingested − duplicates)."),
		bytes:      f.Counter("ingested_bytes_total", "Bytes of log lines received in accepted pushes."),
		duplicates: f.Counter("duplicate_lines_total", "Lines dropped at ingest as exact duplicates (same stream, timestamp and line)."),
		fsyncSeconds: f.Histogram("wal_fsync_seconds", "Time a push waited for the WAL fsync.",
			prometheus.ExponentialBuckets(0.0001, 4, 8)),
		walReplayed:      f.Counter("wal_replayed_records_total", "WAL records replayed at start."),
		walCorrupt:       f.Counter("wal_corrupt_records_total", "Torn or corrupt WAL records dropped at replay (never acknowledged writes)."),
		chunksFlushed:    f.Counter("chunks_flushed_total", "Chunk files written."),
		flushErrors:      f.Counter("chunk_flush_errors_total", "Chunk writes that failed (data stays in memory and WAL; retried)."),
		corruptChunks:    f.Counter("corrupt_chunks_total", "Chunk files found unreadable at start and renamed *.corrupt."),
		retentionDeleted: f.Counter("retention_deleted_chunks_total", "Chunk files deleted by retention."),
		querySeconds: f.HistogramVec("request_seconds", "HTTP request latency by route.",
			prometheus.ExponentialBuckets(0.0005, 4, 10), "route"),
	}
	f.GaugeFunc("disk_bytes", "Bytes of chunk files and WAL on disk.", func() float64 { return float64(s.DiskBytes()) })
	f.GaugeFunc("streams", "Streams in the index, all tenants.", func() float64 {
		n := 0
		for _, t := range s.allTenants() {
			t.mu.RLock()
			n += len(t.streams)
			t.mu.RUnlock()
		}
		return float64(n)
	})
	if err := f.Register(reg); err != nil {
		return nil, err
	}
	return m, nil
}
