package logstore

import (
	"fmt"
	"time"
)

// Config configures a Store and its HTTP API.
type Config struct {
	// Listen is the HTTP address Run serves on; empty serves nothing (embed Handler instead).
	Listen string
	// DataDir holds the WAL and the chunk files (see the package doc for the layout).
	DataDir string
	// Retention deletes chunks whose newest entry is older than this; 0 keeps everything.
	Retention time.Duration
	// AuthEnabled requires X-Scope-OrgID on every request; otherwise the tenant is "fake".
	AuthEnabled bool
	// Fsync is the WAL fsync policy: always, interval or never.
	Fsync FsyncPolicy
	// FsyncInterval is the fsync period of the interval policy.
	FsyncInterval time.Duration
	// ChunkEncoding is the block compression: zstd (smaller) or s2 (faster reads).
	ChunkEncoding string
	// BlockSize is the uncompressed size at which a stream's head becomes a block.
	BlockSize int
	// ChunkTargetSize cuts a stream's chunk to a file once its blocks reach this size.
	ChunkTargetSize int
	// MaxChunkAge cuts a chunk this long after its first entry arrived.
	MaxChunkAge time.Duration
	// ChunkIdlePeriod cuts a chunk when its stream has had no push for this long.
	ChunkIdlePeriod time.Duration
	// WALSegmentSize starts a new WAL segment beyond this size.
	WALSegmentSize int64
	// MaxWALSize forces chunk cuts so that the WAL (and replay time) stays about this big.
	// A protobuf push is logged as sent (snappy): a WAL byte holds ~3 bytes of lines.
	MaxWALSize int64
	// MaxPushBytes refuses (413) push bodies larger than this, compressed or not.
	MaxPushBytes int64
	// Limits are the ingestion limits of every tenant (Loki's limits_config).
	Limits
	// Overrides are per-tenant limits; a zero field inherits Limits.
	Overrides map[string]Limits
	// ShutdownFlushTimeout bounds the flush of open chunks at shutdown; what is left
	// stays in the (fsynced) WAL and is replayed at the next start.
	ShutdownFlushTimeout time.Duration
	// MaxQuerySeries caps the series of a metric query (Loki's max_query_series).
	MaxQuerySeries int
	// MaxEntriesLimit caps the limit of a log query (Loki's max_entries_limit_per_query).
	MaxEntriesLimit int
	// MaxQueryLength caps the time range of a query (Loki's max_query_length); 0 = none.
	MaxQueryLength time.Duration
	// QueryTimeout bounds one query (Loki's query_timeout).
	QueryTimeout time.Duration
}

// DefaultConfig returns Loki-like defaults: 30 days retention, fsync per push, 1 MiB chunks.
func DefaultConfig() Config {
	return Config{
		Listen:               "127.0.0.1:3100",
		DataDir:              "data/logs",
		Retention:            720 * time.Hour,
		Fsync:                FsyncAlways,
		FsyncInterval:        time.Second,
		ChunkEncoding:        "zstd",
		BlockSize:            256 << 10,
		ChunkTargetSize:      1 << 20,
		MaxChunkAge:          2 * time.Hour,
		ChunkIdlePeriod:      30 * time.Minute,
		WALSegmentSize:       128 << 20,
		MaxWALSize:           1 << 30,
		MaxPushBytes:         64 << 20,
		Limits:               DefaultLimits(),
		ShutdownFlushTimeout: 5 * time.Second,
		MaxQuerySeries:       500,
		MaxEntriesLimit:      5000,
		MaxQueryLength:       721 * time.Hour,
		QueryTimeout:         time.Minute,
	}
}

func (c Config) validate() error {
	switch c.Fsync {
	case FsyncAlways, FsyncInterval, FsyncNever:
	default:
		return fmt.Errorf("logstore: fsync %q is not always, interval or never", c.Fsync)
	}
	if c.DataDir == "" {
		return fmt.Errorf("logstore: data_dir is empty")
	}
	if _, err := ParseCodec(c.ChunkEncoding); err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	if c.BlockSize <= 0 || c.ChunkTargetSize <= 0 || c.WALSegmentSize <= 0 || c.MaxPushBytes <= 0 {
		return fmt.Errorf("logstore: block_size, chunk_target_size, wal_segment_size and max_push_bytes must be positive")
	}
	for tenant := range c.Overrides {
		if err := ValidateTenant(tenant); err != nil {
			return fmt.Errorf("logstore: overrides: %w", err)
		}
	}
	if c.Fsync == FsyncInterval && c.FsyncInterval <= 0 {
		return fmt.Errorf("logstore: fsync_interval must be positive with fsync interval")
	}
	return nil
}
