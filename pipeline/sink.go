package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/loki"
	"github.com/flowtap/flowtap/sinks/parquet"
	"github.com/flowtap/flowtap/sinks/text"
)

// SinkConfig configures `flowtap sink` (and the sinks of `up`): the consumer group and
// its destinations. Keys are the flag names.
type SinkConfig struct {
	Brokers            []string      `yaml:"kafka-brokers"`
	KafkaSASL          string        `yaml:"kafka-sasl-mechanism"` // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; "" = none
	KafkaUser          string        `yaml:"kafka-user"`
	KafkaPassword      string        `yaml:"kafka-password"` // or $FLOWTAP_KAFKA_PASSWORD
	Group              string        `yaml:"group"`
	Parquet            string        `yaml:"parquet"`
	Text               string        `yaml:"text"`
	LokiURL            string        `yaml:"loki-url"`
	LokiTenant         string        `yaml:"loki-tenant"`
	Layout             string        `yaml:"layout"`
	Prefix             string        `yaml:"prefix"`
	StateDir           string        `yaml:"state"`
	BatchAge           time.Duration `yaml:"batch-age"`
	S3Endpoint         string        `yaml:"s3-endpoint"`
	S3PathStyle        bool          `yaml:"s3-path-style"`
	ParquetFormat      string        `yaml:"parquet-format"`
	ParquetCompression string        `yaml:"parquet-compression"`
	FlowLogID          string        `yaml:"flow-log-id"`
	TGWFlowLogID       string        `yaml:"tgw-flow-log-id"`
	LokiStreamLabel    bool          `yaml:"loki-stream-label"`
	LokiVPNTunnelGroup string        `yaml:"loki-vpn-tunnel-log-group"`
	LokiVPNBGPGroup    string        `yaml:"loki-vpn-bgp-log-group"`
	LokiClientVPNGroup string        `yaml:"loki-client-vpn-log-group"`
	// HTTP serves /healthz, /metrics and /debug/pprof ("" = none).
	HTTP string `yaml:"metrics"`
}

// DefaultSinkConfig consumes the embedded broker in group flowtap-sink into nothing yet
// (a destination must be given).
func DefaultSinkConfig() SinkConfig {
	lk := loki.DefaultConfig()
	return SinkConfig{
		Brokers:            []string{"127.0.0.1:9092"},
		Group:              "flowtap-sink",
		Layout:             "hive",
		StateDir:           filepath.Join("data", "sink-state"),
		BatchAge:           60 * time.Second,
		ParquetCompression: "gzip",
		FlowLogID:          "fl-0f10ab7a9f10ab7a9",
		TGWFlowLogID:       "fl-0f20ab7a9f20ab7a9",
		LokiStreamLabel:    true,
		LokiVPNTunnelGroup: lk.VPNTunnelLogGroup,
		LokiVPNBGPGroup:    lk.VPNBGPLogGroup,
		LokiClientVPNGroup: lk.ClientVPNLogGroup,
	}
}

// Validate checks what needs no I/O: at least one destination, brokers, group, state.
func (c SinkConfig) Validate() error {
	if c.Parquet == "" && c.Text == "" && c.LokiURL == "" {
		return errors.New("no destination: give --parquet, --text and/or --loki-url")
	}
	if len(c.Brokers) == 0 || c.Group == "" || c.StateDir == "" {
		return errors.New("--kafka-brokers, --group and --state must not be empty")
	}
	if c.BatchAge <= 0 {
		return fmt.Errorf("--batch-age %v: must be positive", c.BatchAge)
	}
	return nil
}

// Sinks is the consumer-group runner with its destinations.
type Sinks struct {
	Runner *kafka.Runner
	Dest   []sinks.Sink
}

// NewSinks opens the configured destinations (a directory or S3 store each) and wires the
// runner; Close closes the destinations.
func NewSinks(cfg SinkConfig, d Deps) (*Sinks, error) {
	d = withDefaults(d)
	var out []sinks.Sink
	fail := func(err error) (*Sinks, error) {
		closeSinks(out, d)
		return nil, err
	}
	opts := objstore.Options{Endpoint: cfg.S3Endpoint, PathStyle: cfg.S3PathStyle, TempDir: filepath.Join(cfg.StateDir, "tmp")}
	// addStored opens the store at url and adds the sink newSink makes on it; an error
	// names the flag that configured the destination.
	addStored := func(flag, url string, newSink func(objstore.Store) (sinks.Sink, error)) error {
		store, err := objstore.Open(url, opts)
		if err == nil {
			var s sinks.Sink
			if s, err = newSink(store); err == nil {
				out = append(out, s)
				return nil
			}
		}
		return fmt.Errorf("%s: %w", flag, err)
	}
	if cfg.Parquet != "" {
		pc := parquet.DefaultConfig()
		pc.Layout, pc.Prefix, pc.VPCFormat, pc.Compression = cfg.Layout, cfg.Prefix, cfg.ParquetFormat, cfg.ParquetCompression
		pc.FlowLogID, pc.TGWFlowLogID = cfg.FlowLogID, cfg.TGWFlowLogID
		if err := addStored("--parquet", cfg.Parquet, func(st objstore.Store) (sinks.Sink, error) { return parquet.New(pc, st, d) }); err != nil {
			return fail(err)
		}
	}
	if cfg.Text != "" {
		tc := text.DefaultConfig()
		tc.Layout, tc.Prefix = cfg.Layout, cfg.Prefix
		tc.FlowLogID, tc.TGWFlowLogID = cfg.FlowLogID, cfg.TGWFlowLogID
		if err := addStored("--text", cfg.Text, func(st objstore.Store) (sinks.Sink, error) { return text.New(tc, st, d) }); err != nil {
			return fail(err)
		}
	}
	if cfg.LokiURL != "" {
		lc := loki.DefaultConfig()
		lc.URL, lc.Tenant, lc.StreamLabel = cfg.LokiURL, cfg.LokiTenant, cfg.LokiStreamLabel
		lc.VPNTunnelLogGroup, lc.VPNBGPLogGroup, lc.ClientVPNLogGroup = cfg.LokiVPNTunnelGroup, cfg.LokiVPNBGPGroup, cfg.LokiClientVPNGroup
		s, err := loki.New(lc, d)
		if err != nil {
			return fail(fmt.Errorf("--loki-url: %w", err))
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no destination: give --parquet, --text and/or --loki-url")
	}
	rc := kafka.DefaultRunnerConfig()
	rc.Brokers, rc.Group, rc.StateDir, rc.MaxAge = cfg.Brokers, cfg.Group, cfg.StateDir, cfg.BatchAge
	rc.SASL = cfg.SASL()
	r, err := kafka.NewRunner(rc, out, d)
	if err != nil {
		return fail(err)
	}
	return &Sinks{Runner: r, Dest: out}, nil
}

// Run consumes until ctx ends (see kafka.Runner.Run); the supervisor restarts it when
// it fails, e.g. when Kafka goes away.
func (s *Sinks) Run(ctx context.Context) error { return s.Runner.Run(ctx) }

// Close closes the destinations.
func (s *Sinks) Close(d Deps) { closeSinks(s.Dest, withDefaults(d)) }

func closeSinks(dest []sinks.Sink, d Deps) {
	for _, s := range dest {
		if err := s.Close(); err != nil {
			d.Log.Warn("closing sink", "sink", s.Name(), "err", err)
		}
	}
}

// RunSink is `flowtap sink`: the runner under supervision (restarted when Kafka goes away,
// so the process outlives a broker outage) and the HTTP server, until ctx ends.
func RunSink(ctx context.Context, cfg SinkConfig, sup SupervisorConfig, d Deps) error {
	d = withDefaults(d)
	s, err := NewSinks(cfg, d)
	if err != nil {
		return err
	}
	defer s.Close(d)
	p, err := newProcess(sup, d, cfg.HTTP)
	if err != nil {
		return err
	}
	p.sup.Start(Component{Name: "sinks", Run: s.Run, Check: kafkaReachable(cfg.Brokers)})
	return p.wait(ctx)
}

// SASL is the Kafka authentication of the sink (and of up's producer to external brokers).
func (c *SinkConfig) SASL() kafka.SASL {
	return kafka.SASL{Mechanism: c.KafkaSASL, Username: c.KafkaUser, Password: c.KafkaPassword}
}
