package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/logstore"
	"github.com/flowtap/flowtap/pipeline"
)

func newLogstoreCmd() *cobra.Command {
	cfg := logstore.DefaultConfig()
	var fsync string
	rejectOld := cfg.Limits.RejectOldSamples == nil || *cfg.Limits.RejectOldSamples
	cmd := &cobra.Command{
		Use:   "logstore",
		Short: "Run the embedded Loki-compatible log store",
		Long: `logstore serves Grafana Loki's HTTP API (push, query, query_range, labels, series,
index/stats) over a durable local store: a write-ahead log acknowledged before each push
returns, compressed per-stream chunks, and a per-tenant label index. Point loki-client-go,
Promtail, Alloy, logcli or Grafana at it. It serves until SIGTERM and flushes on exit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Fsync = logstore.FsyncPolicy(fsync)
			cfg.Limits.RejectOldSamples = &rejectOld
			s, err := logstore.New(cfg, pipeline.Deps{Registry: pipeline.NewRegistry()})
			if err != nil {
				return err
			}
			slog.Info("logstore starting", "listen", cfg.Listen, "data", cfg.DataDir, "fsync", cfg.Fsync, "auth", cfg.AuthEnabled)
			if err := s.Run(cmd.Context()); err != nil {
				return fmt.Errorf("logstore: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP listen address of the Loki API")
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (WAL and chunk files)")
	f.DurationVar(&cfg.Retention, "retention", cfg.Retention, "delete chunks whose newest line is older than this (0 keeps all)")
	f.BoolVar(&cfg.AuthEnabled, "auth", cfg.AuthEnabled, "require the X-Scope-OrgID tenant header (otherwise every request is tenant \"fake\")")
	f.StringVar(&fsync, "fsync", string(cfg.Fsync), "WAL fsync before acknowledging a push: always, interval or never")
	f.DurationVar(&cfg.FsyncInterval, "fsync-interval", cfg.FsyncInterval, "fsync period with --fsync interval")
	f.StringVar(&cfg.ChunkEncoding, "chunk-encoding", cfg.ChunkEncoding, "chunk block compression: zstd (smaller) or s2 (faster queries)")
	f.Int64Var(&cfg.MaxPushBytes, "max-push-bytes", cfg.MaxPushBytes, "refuse push bodies larger than this with 413")
	f.IntVar(&cfg.MaxQuerySeries, "max-query-series", cfg.MaxQuerySeries, "most series a metric query may return")
	f.IntVar(&cfg.MaxEntriesLimit, "max-entries-limit", cfg.MaxEntriesLimit, "largest limit a log query may ask for")
	f.DurationVar(&cfg.MaxQueryLength, "max-query-length", cfg.MaxQueryLength, "longest time range of a query (0: unlimited)")
	f.DurationVar(&cfg.QueryTimeout, "query-timeout", cfg.QueryTimeout, "time limit of one query")
	// Loki's per-tenant ingestion limits (limits_config), for every tenant; 0 is no limit.
	l := &cfg.Limits
	f.IntVar(&l.MaxGlobalStreamsPerUser, "max-streams-per-tenant", l.MaxGlobalStreamsPerUser, "most active streams of a tenant; a push creating more is refused with 429 (Loki's max_global_streams_per_user; 0: unlimited)")
	f.IntVar(&l.MaxLabelNameLength, "max-label-name-length", l.MaxLabelNameLength, "refuse (400) a stream with a longer label name (0: unlimited)")
	f.IntVar(&l.MaxLabelValueLength, "max-label-value-length", l.MaxLabelValueLength, "refuse (400) a stream with a longer label value (0: unlimited)")
	f.IntVar(&l.MaxLabelNamesPerSeries, "max-label-names-per-series", l.MaxLabelNamesPerSeries, "refuse (400) a stream with more label names (0: unlimited)")
	f.IntVar(&l.MaxLineBytes, "max-line-size", l.MaxLineBytes, "refuse (400) a line longer than this many bytes (Loki's max_line_size; 0: unlimited)")
	f.BoolVar(&rejectOld, "reject-old-samples", rejectOld, "refuse (400) lines older than --reject-old-samples-max-age")
	f.DurationVar(&l.RejectOldSamplesMaxAge, "reject-old-samples-max-age", l.RejectOldSamplesMaxAge, "age beyond which lines are refused with --reject-old-samples (cut to --retention when that is shorter)")
	f.DurationVar(&l.CreationGracePeriod, "creation-grace-period", l.CreationGracePeriod, "refuse (400) lines timestamped further than this in the future (0: no limit)")
	f.Float64Var(&l.IngestionRateMB, "ingestion-rate-mb", l.IngestionRateMB, "per-tenant ingestion rate in MiB/s of line bytes; a push beyond it is refused with 429 (0: unlimited)")
	f.Float64Var(&l.IngestionBurstSizeMB, "ingestion-burst-size-mb", l.IngestionBurstSizeMB, "per-tenant ingestion burst in MiB (at least the rate)")
	return cmd
}
