package text

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
)

// Config configures the text Sink.
type Config struct {
	lake.Target
	// VPCFormat and TGWFormat are LogFormat strings ("" for AWS's defaults).
	VPCFormat string
	TGWFormat string
	// GzipLevel is the compression level (0: default).
	GzipLevel int
}

// DefaultConfig returns AWS's defaults.
func DefaultConfig() Config {
	return Config{Target: lake.DefaultTarget()}
}

// Sink writes each Kafka batch as gzip text files, one per (kind, account, region,
// bucket), named from the batch's topic, partition and offsets so that a redelivered
// batch rewrites the same files.
type Sink struct {
	cfg      Config
	store    objstore.Store
	style    lake.Style
	vpc, tgw *flowlog.Format
	files    prometheus.Counter
	records  prometheus.Counter
	bytes    prometheus.Counter
}

// New validates cfg and wires the sink writing to store; it does no I/O. Metrics go to
// d.Registry.
func New(cfg Config, store objstore.Store, d component.Deps) (*Sink, error) {
	reg := d.WithDefaults().Registry
	style, err := lake.ParseStyle(cfg.Layout)
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	s := &Sink{cfg: cfg, store: store, style: style}
	if s.vpc, s.tgw, err = sinks.ParseFormats(cfg.VPCFormat, cfg.TGWFormat); err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	s.cfg.Naming = s.cfg.Naming.WithDefaults()
	f := component.NewMetrics("sink_text")
	s.files = f.Counter("files_total", "Text files committed.")
	s.records = f.Counter("records_total", "Records written to committed text files.")
	s.bytes = f.Counter("bytes_total", "Compressed bytes of committed text files.")
	if err := f.Register(reg); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is "text".
func (s *Sink) Name() string { return "text" }

// BatchIdentity is lake.BatchIdentity of b: the part of object names that makes a
// redelivered batch land on the same keys.
func BatchIdentity(b *sinks.Batch) string {
	return lake.BatchIdentity(b.Topic, b.Partition, b.FirstOffset, b.LastOffset)
}

// Write writes b's records as one file per group and returns once all are committed.
func (s *Sink) Write(ctx context.Context, b *sinks.Batch) error {
	id := BatchIdentity(b)
	for _, g := range lake.Split(b.Records, s.cfg.DefaultAccount, s.cfg.DefaultRegion) {
		format, flowLogID := s.vpc, s.cfg.FlowLogID
		if g.Kind == flowlog.KindTGW {
			format, flowLogID = s.tgw, s.cfg.TGWFlowLogID
		}
		// Columns this build does not know (records read from newer AWS files) follow the
		// configured ones, under their own names in the header, as AWS appends new fields.
		format = format.WithExtras(g.ExtraNames(b.Records)...)
		key := lake.Key(s.cfg.Prefix, s.style, g.Account, g.Region, flowLogID, g.Bucket.Unix(), g.Identity(id), Ext)
		fw, err := Create(ctx, s.store, key, format, s.cfg.GzipLevel)
		if err != nil {
			return err
		}
		for _, i := range g.Index {
			if err := fw.Write(&b.Records[i]); err != nil {
				fw.Abort()
				return err
			}
		}
		if err := fw.Close(ctx); err != nil {
			return err
		}
		s.files.Inc()
		s.records.Add(float64(fw.Records()))
		s.bytes.Add(float64(fw.Size()))
	}
	return nil
}

// Close does nothing: every Write commits its files.
func (s *Sink) Close() error { return nil }
