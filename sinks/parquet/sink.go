package parquet

import (
	"bufio"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go/compress"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
)

// Ext is the file name extension observed on AWS's Parquet objects.
const Ext = ".log.parquet"

// SourceKey is the footer metadata key holding the object's source:
// "topic/partition/first-last/kind/account/region/bucket".
const SourceKey = "flowtap.source"

// Config configures the Parquet Sink.
type Config struct {
	lake.Target
	// VPCFormat and TGWFormat choose the columns and their order ("" for fields 1–29 and
	// AWS's default TGW format; "all" for every field of the kind).
	VPCFormat string
	TGWFormat string
	// Compression is the page codec: gzip (AWS's, at DefaultGzipLevel), gzip-1 to gzip-9,
	// zstd, snappy or none.
	Compression string
	// RowGroupRows caps the rows of a row group.
	RowGroupRows int64
}

// DefaultConfig returns AWS's choices.
func DefaultConfig() Config {
	return Config{Target: lake.DefaultTarget(), Compression: "gzip", RowGroupRows: DefaultRowGroupRows}
}

// Sink writes each Kafka batch as Parquet objects, one per (kind, account, region,
// 5-minute bucket), named from the batch's topic, partition and offsets so that a
// redelivered batch rewrites the same objects. It is safe for concurrent Writes.
type Sink struct {
	cfg      Config
	store    objstore.Store
	style    lake.Style
	vpc, tgw *flowlog.Format
	codec    compress.Codec
	pools    [2]sync.Pool // idle *FileWriter per kind
	bufs     sync.Pool    // idle *bufio.Writer of objects

	objects prometheus.Counter
	rows    prometheus.Counter
	bytes   prometheus.Counter
	errors  prometheus.Counter
	latency prometheus.Histogram
	counted ledger // objects of failed attempts, not counted again when retried
}

// New validates cfg and wires the sink writing to store; it does no I/O. Metrics go to
// d.Registry.
func New(cfg Config, store objstore.Store, d component.Deps) (*Sink, error) {
	reg := d.WithDefaults().Registry
	def := DefaultConfig()
	fill := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	fill(&cfg.Layout, def.Layout)
	cfg.Naming = cfg.Naming.WithDefaults()
	if cfg.RowGroupRows <= 0 {
		cfg.RowGroupRows = def.RowGroupRows
	}
	s := &Sink{cfg: cfg, store: store}
	var err error
	if s.style, err = lake.ParseStyle(cfg.Layout); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	if s.codec, err = Codec(cfg.Compression); err != nil {
		return nil, err
	}
	if s.vpc, err = pickFormat(cfg.VPCFormat, DefaultVPCFormat, flowlog.AllVPC, flowlog.DefaultVPC); err != nil {
		return nil, fmt.Errorf("parquet: vpc_format: %w", err)
	}
	if s.tgw, err = pickFormat(cfg.TGWFormat, flowlog.DefaultTGW, flowlog.AllTGW, flowlog.DefaultTGW); err != nil {
		return nil, fmt.Errorf("parquet: tgw_format: %w", err)
	}
	f := component.NewMetrics("sink_parquet")
	s.objects = f.Counter("objects_total", "Parquet objects committed.")
	s.rows = f.Counter("rows_total", "Rows in committed Parquet objects.")
	s.bytes = f.Counter("bytes_total", "Bytes of committed Parquet objects.")
	s.errors = f.Counter("errors_total", "Batches that failed to become durable.")
	s.latency = f.Histogram("write_seconds", "Time to make one batch durable.", prometheus.ExponentialBuckets(0.001, 2, 16))
	if err := f.Register(reg); err != nil {
		return nil, err
	}
	return s, nil
}

// pickFormat reads a format setting of the Parquet sink: "" for def, "all" for every field
// of the kind, "default" for AWS's default format, or a LogFormat string.
func pickFormat(spec string, def, all, aws *flowlog.Format) (*flowlog.Format, error) {
	switch spec {
	case "all":
		return all, nil
	case "default":
		return aws, nil
	}
	return sinks.ParseFormat(spec, def)
}

// Name is "parquet".
func (s *Sink) Name() string { return "parquet" }

// Write makes b durable as one object per group and returns once every object is
// committed (fsynced, renamed and its directory fsynced, or acknowledged by S3).
func (s *Sink) Write(ctx context.Context, b *sinks.Batch) error {
	t0 := time.Now()
	err := s.write(ctx, b)
	if err != nil {
		s.errors.Inc()
		return err
	}
	s.latency.Observe(time.Since(t0).Seconds())
	return nil
}

// BatchIdentity is lake.BatchIdentity of b: the part of object names that makes a
// redelivered batch land on the same keys.
func BatchIdentity(b *sinks.Batch) string {
	return lake.BatchIdentity(b.Topic, b.Partition, b.FirstOffset, b.LastOffset)
}

func (s *Sink) write(ctx context.Context, b *sinks.Batch) (err error) {
	id := BatchIdentity(b)
	var committed []string
	defer func() { s.counted.settle(id, committed, err == nil) }()
	type object struct {
		key  string
		rows int
		size int64
	}
	var renamed []object
	var dirs []string // of renamed objects, to fsync once each
	for _, g := range lake.Split(b.Records, s.cfg.DefaultAccount, s.cfg.DefaultRegion) {
		format, flowLogID := s.vpc, s.cfg.FlowLogID
		if g.Kind == flowlog.KindTGW {
			format, flowLogID = s.tgw, s.cfg.TGWFlowLogID
		}
		key := lake.Key(s.cfg.Prefix, s.style, g.Account, g.Region, flowLogID, g.Bucket.Unix(), g.Identity(id), Ext)
		obj, err := s.store.Create(ctx, key)
		if err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		bw, _ := s.bufs.Get().(*bufio.Writer)
		if bw == nil {
			bw = bufio.NewWriterSize(obj, 256<<10)
		} else {
			bw.Reset(obj)
		}
		// Columns this build does not know (records read from newer AWS files) become
		// string columns of their own, after the configured ones.
		widened := format
		if g.Extras {
			widened = format.WithExtras(g.ExtraNames(b.Records)...)
		}
		var fw *FileWriter
		if widened == format {
			fw, _ = s.pools[g.Kind].Get().(*FileWriter)
		}
		if fw == nil {
			fw = NewFileWriter(bw, widened, WriterOptions{Codec: s.codec, RowGroupRows: s.cfg.RowGroupRows})
		} else {
			fw.Reset(bw)
		}
		// The source offsets let tools audit or de-duplicate the lake by Kafka position.
		fw.SetMetadata(SourceKey, g.Identity(id))
		for _, i := range g.Index {
			if err = fw.WriteRecord(&b.Records[i]); err != nil {
				break
			}
		}
		if err == nil {
			err = fw.Close()
		}
		if err == nil && widened == format {
			s.pools[g.Kind].Put(fw) // a writer that failed is dropped, not reused
		}
		if err == nil {
			err = bw.Flush()
		}
		bw.Reset(nil)
		s.bufs.Put(bw)
		if err != nil {
			obj.Abort()
			return fmt.Errorf("parquet: %s: %w", key, err)
		}
		size := obj.Size()
		if dc, ok := obj.(objstore.DeferredCommitter); ok {
			dir, err := dc.CommitDeferred(ctx)
			if err != nil {
				return fmt.Errorf("parquet: %w", err)
			}
			dirs = append(dirs, dir)
		} else if err := obj.Commit(ctx); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		renamed = append(renamed, object{key, len(g.Index), size})
	}
	// A local store's renames become durable with one fsync per directory, not per object
	// (the objects of a batch share a few directories); the batch is acknowledged after.
	if err := objstore.SyncDirs(dirs...); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	for _, o := range renamed {
		committed = append(committed, o.key)
		if !s.counted.seen(id, o.key) {
			s.objects.Inc()
			s.rows.Add(float64(o.rows))
			s.bytes.Add(float64(o.size))
		}
	}
	return nil
}

// Close does nothing: every Write commits its objects.
func (s *Sink) Close() error { return nil }
