package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/ingest"
)

// CollectConfig configures `flowtap collect`. Keys are the flag names.
type CollectConfig struct {
	Collector ingest.Config `yaml:",inline"`
	// IntervalSeconds is the aggregation interval: 60 or 600.
	IntervalSeconds int    `yaml:"interval"`
	Sessions        string `yaml:"sessions"`
	// Health and Metrics are addresses of the one HTTP server (/healthz, /metrics,
	// /debug/pprof); it listens on both when they differ.
	Health  string `yaml:"health"`
	Metrics string `yaml:"metrics"`
}

// DefaultCollectConfig is ingest's default collector, 60-second windows, no HTTP.
func DefaultCollectConfig() CollectConfig {
	return CollectConfig{Collector: ingest.DefaultConfig(), IntervalSeconds: 60}
}

// RunCollect is `flowtap collect`: the collector writing to w, under supervision, with the
// HTTP server whose /healthz is 200 only while the collector receives.
func RunCollect(ctx context.Context, cfg CollectConfig, sup SupervisorConfig, d Deps, w flowlog.RecordWriter) error {
	if cfg.IntervalSeconds != 60 && cfg.IntervalSeconds != 600 {
		return fmt.Errorf("--interval %d: must be 60 or 600 seconds", cfg.IntervalSeconds)
	}
	d = withDefaults(d)
	ccfg := cfg.Collector
	ccfg.Interval = time.Duration(cfg.IntervalSeconds) * time.Second
	ccfg.HealthAddr = "" // served by the process's one HTTP server
	var opts []ingest.Option
	if cfg.Sessions != "" {
		s, err := ingest.LoadSessions(cfg.Sessions)
		if err != nil {
			return fmt.Errorf("--sessions: %w", err)
		}
		opts = append(opts, ingest.WithSessions(s))
	}
	col, err := ingest.New(ccfg, w, d, opts...)
	if err != nil {
		return err
	}
	p, err := newProcess(sup, d, cfg.Health, cfg.Metrics)
	if err != nil {
		return err
	}
	p.sup.Start(Component{Name: "collector", Run: col.Run, Once: true, Serving: col.Receiving})
	return p.wait(ctx)
}
