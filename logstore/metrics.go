package logstore

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
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
	const ns, sub = "flowtap", "logstore"
	m := &metrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "push_requests_total",
			Help: "Push requests by HTTP status code."}, []string{"code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rejected_pushes_total",
			Help: "Pushes refused, by reason."}, []string{"reason"}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "discarded_lines_total",
			Help: "Lines refused by the ingestion limits, by Loki's reason (as loki_discarded_samples_total)."}, []string{"reason"}),
		lines: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "ingested_lines_total",
			Help: "Log lines stored."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "ingested_bytes_total",
			Help: "Bytes of log lines received in accepted pushes."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "duplicate_lines_total",
			Help: "Lines dropped at ingest as exact duplicates (same stream, timestamp and line)."}),
		fsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "wal_fsync_seconds",
			Help: "Time a push waited for the WAL fsync.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8)}),
		walReplayed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "wal_replayed_records_total",
			Help: "WAL records replayed at start."}),
		walCorrupt: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "wal_corrupt_records_total",
			Help: "Torn or corrupt WAL records dropped at replay (never acknowledged writes)."}),
		chunksFlushed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "chunks_flushed_total",
			Help: "Chunk files written."}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "chunk_flush_errors_total",
			Help: "Chunk writes that failed (data stays in memory and WAL; retried)."}),
		corruptChunks: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "corrupt_chunks_total",
			Help: "Chunk files found unreadable at start and renamed *.corrupt."}),
		retentionDeleted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "retention_deleted_chunks_total",
			Help: "Chunk files deleted by retention."}),
		querySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "request_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"route"}),
	}
	cs := []prometheus.Collector{m.pushes, m.rejected, m.discarded, m.lines, m.bytes, m.duplicates, m.fsyncSeconds, m.walReplayed,
		m.walCorrupt, m.chunksFlushed, m.flushErrors, m.corruptChunks, m.retentionDeleted, m.querySeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "disk_bytes",
			Help: "Bytes of chunk files and WAL on disk."}, func() float64 { return float64(s.DiskBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "streams",
			Help: "Streams in the index, all tenants."}, func() float64 {
			n := 0
			for _, t := range s.allTenants() {
				t.mu.RLock()
				n += len(t.streams)
				t.mu.RUnlock()
			}
			return float64(n)
		}),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("logstore: register metrics: %w", err)
		}
	}
	return m, nil
}
