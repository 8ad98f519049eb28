// Package importer brings a team's existing AWS flow logs into the pipeline: the objects AWS
// delivered to S3 (VPC and Transit Gateway flow logs as gzip text with header lines, or as
// AWS's Parquet; plain, hourly, hive and hive-hourly key layouts; CloudWatch Logs exports
// too), read from s3://bucket/prefix or a local copy, are produced to the same Kafka topics
// and in the same message encoding as generated or mirrored records, so that they land in
// the lake and the log store like them.
//
// Selection: objects are filtered by account, region and time range using their key
// (lake.ParsePartition); keys outside AWS's layout are imported unless a filter is set.
//
// Resumption: objects are imported in key order, a chunk (ChunkRecords records) at a time,
// and the state file records how far the import got: the last object completed and the
// records already produced of the next one. Every message carries a flowtap-import header,
// "<import id> <object key hash> <record number>", the import id being drawn when the state
// file is created. With each checkpoint the state also records the end offsets of the
// topics' partitions taken before any later record was produced. So a run resuming after
// any stop, a SIGKILL included, reads what was appended to those partitions since (at most
// a chunk or two) and skips the records of its import that are already there: every record
// reaches Kafka exactly once, without de-duplication downstream. The checkpoint is written
// in the background (fsx, atomically) after Kafka acknowledged the chunk (acks=all); any
// checkpoint on disk, however late, is a valid resumption point.
//
// Throughput: reading and parsing (one goroutine, in object order), encoding (one goroutine
// per core, a chunk each) and producing overlap. An encoder turns each record into its JSON
// message and appends it at once, in Kafka's record format, to its partition's record set
// (FNV-1a of the key, as kafka.Producer); a set is compressed into a record batch of at most
// 1 MB uncompressed (4 MB with lz4 or zstd) when full or when the chunk ends
// (rawbatch.Records, much cheaper than kafka-go's Produce). One partition's requests are sent one at a time, in
// order, and the partitions in parallel, so the order of one key's records holds.
//
// Bad input never aborts the import: an unreadable object, and every bad line, is reported
// by key and line and counted, and the import goes on.
package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks/parquet"
)

// Config configures an import.
type Config struct {
	// Source is a directory or s3://bucket/prefix holding AWS's flow log objects.
	Source string
	S3     objstore.Options

	Brokers     []string
	Topics      kafka.Topics
	Compression string // zstd, gzip, snappy, lz4 or none

	// Accounts and Regions keep only objects under these accounts or regions (empty: all).
	Accounts, Regions []string
	// From and To keep only objects whose key's day or hour overlaps [From, To) (zero: open).
	From, To time.Time

	// StateFile records progress; empty disables resumption.
	StateFile string
	// Format is the format of headerless text lines that match no AWS default ("" to rely
	// on header lines).
	Format string
	// ChunkRecords is how many records are produced per acknowledged chunk (a checkpoint).
	ChunkRecords int
	// Progress receives a one-line progress display, redrawn in place (nil: none).
	Progress io.Writer
}

// DefaultConfig imports into the embedded broker's topics, checkpointing every 16 Ki records.
func DefaultConfig() Config {
	return Config{
		Brokers:      []string{"127.0.0.1:9092"},
		Topics:       kafka.DefaultTopics(),
		Compression:  "lz4",
		ChunkRecords: 16 << 10,
	}
}

// Stats counts what an import did.
type Stats struct {
	Objects     int   // objects imported in this run (bad ones included)
	Skipped     int   // objects skipped: done by an earlier run, or filtered out
	Records     int64 // flow records produced
	Events      int64 // VPN log events produced
	BadLines    int64 // lines or events that did not parse, each reported
	BadObjects  int   // objects that could not be read, each reported
	Resumed     int64 // records of a partly imported object skipped on resumption
	Present     int64 // records found in Kafka on resumption (produced by a killed run), not produced again
	Bytes       int64 // object bytes read
	Elapsed     time.Duration
	BadExamples []string // the first bad lines/objects, "key:line: error"
}

// Importer runs one import.
type Importer struct {
	cfg       Config
	log       *slog.Logger
	store     objstore.Store
	out       *producer
	format    *flowlog.Format
	state     state
	id        string // state.ID, read by the encoders
	stats     Stats
	bytesRead atomic.Int64
	prog      *progress
	// present holds the records of this import that a killed run produced after its last
	// checkpoint: per object key hash, their record numbers; presentTotal counts them.
	present      map[uint64]map[int64]bool
	presentTotal int64
	// checkpointed is called after each state write (tests stop an import mid-way with it).
	checkpointed func(state)
	// handed is called as the reader hands a chunk over (tests stop an import with it).
	handed func(key string, done int64)
}

// New checks cfg and opens the source; it does no network I/O. It logs to d.Log (the default
// logger when nil).
func New(cfg Config, d component.Deps) (*Importer, error) {
	log := d.WithDefaults().Log
	if cfg.Source == "" {
		return nil, errors.New("import: no source")
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("import: no Kafka brokers")
	}
	if cfg.ChunkRecords <= 0 {
		cfg.ChunkRecords = DefaultConfig().ChunkRecords
	}
	if !cfg.From.IsZero() && !cfg.To.IsZero() && !cfg.From.Before(cfg.To) {
		return nil, fmt.Errorf("import: empty time range %s to %s", cfg.From.Format(time.RFC3339), cfg.To.Format(time.RFC3339))
	}
	codec, err := kafka.ParseCompression(cfg.Compression)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im := &Importer{cfg: cfg, log: log.With("component", "import")}
	if cfg.Format != "" {
		if im.format, err = flowlog.ParseFormat(cfg.Format); err != nil {
			return nil, fmt.Errorf("import: --format: %w", err)
		}
	}
	if im.store, err = objstore.Open(cfg.Source, cfg.S3); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im.out = newProducer(cfg.Brokers, codec, []string{cfg.Topics.VPC, cfg.Topics.TGW, cfg.Topics.VPN})
	return im, nil
}

// Run imports every selected object not done yet and returns what it did. It stops early,
// after checkpointing, when ctx ends; the error is then ctx's.
func (im *Importer) Run(ctx context.Context) (st Stats, err error) {
	t0 := time.Now()
	defer func() { st.Elapsed, st.Bytes = time.Since(t0), im.bytesRead.Load() }()
	defer im.out.close()
	if err := im.loadState(); err != nil {
		return im.stats, err
	}
	if err := im.out.connect(ctx); err != nil {
		return im.stats, err
	}
	if err := im.prepareResume(ctx); err != nil {
		return im.stats, err
	}
	objs, err := im.store.List(ctx, "")
	if err != nil {
		return im.stats, fmt.Errorf("import: list %s: %w", im.store, err)
	}
	var todo []objstore.Object
	var total int64
	for _, o := range objs {
		if !im.selected(o.Key) || (im.state.Done != "" && o.Key <= im.state.Done) {
			im.stats.Skipped++
			continue
		}
		todo = append(todo, o)
		total += o.Size
	}
	im.countPresent(todo)
	im.log.Info("import", "source", im.store.String(), "objects", len(todo), "bytes", total, "skipped", im.stats.Skipped)
	if im.cfg.Progress != nil {
		im.prog = newProgress(im.cfg.Progress, len(todo), total)
		defer im.prog.finish(&im.stats)
	}
	// The reader hands chunks of parsed records to the encoders and, in the same order, to
	// the sender, which produces each once encoded, waits for the acknowledgement, then
	// checkpoints it.
	resumeKey, resumeAt := im.state.Current, im.state.Records // the sender moves im.state on
	p := im.startPipeline()
	var rerr error
	for _, o := range todo {
		skip := int64(0)
		if o.Key == resumeKey {
			skip = resumeAt
			im.stats.Resumed += skip
		}
		if rerr = im.importObject(ctx, o, skip, p); rerr != nil {
			break
		}
		im.stats.Objects++
	}
	if err := p.finish(); err != nil {
		return im.stats, err
	}
	return im.stats, rerr
}

// selected applies the account, region and time filters to a key.
func (im *Importer) selected(key string) bool {
	switch {
	case strings.HasSuffix(key, ".log.gz"), strings.HasSuffix(key, ".log"), strings.HasSuffix(key, ".parquet"),
		strings.HasSuffix(key, ".gz"), strings.HasSuffix(key, ".txt"):
	default:
		return false // manifests, AWS's test objects, our own state
	}
	filtered := len(im.cfg.Accounts) > 0 || len(im.cfg.Regions) > 0 || !im.cfg.From.IsZero() || !im.cfg.To.IsZero()
	p, ok := lake.ParsePartition(key)
	if !ok {
		return !filtered
	}
	if len(im.cfg.Accounts) > 0 && !slices.Contains(im.cfg.Accounts, p.Account) {
		return false
	}
	if len(im.cfg.Regions) > 0 && !slices.Contains(im.cfg.Regions, p.Region) {
		return false
	}
	return p.Overlaps(im.cfg.From, im.cfg.To)
}

// importObject reads one object, skipping its first skip records and those a killed run
// produced, and hands its records to the pipeline in chunks. A bad object or line is
// reported and counted, not returned.
func (im *Importer) importObject(ctx context.Context, o objstore.Object, skip int64, p *pipeline) error {
	c := p.newChunk(o)
	c.done = skip
	defer func() {
		if c != nil {
			p.send(c) // what was read so far (possibly nothing), and the object's end
		}
	}()
	rc, err := im.store.Get(ctx, o.Key)
	if err != nil {
		if ctx.Err() != nil {
			c.last = false
			return ctx.Err()
		}
		im.badObject(o.Key, err)
		c.last = true
		return nil
	}
	defer rc.Close()
	src := &objectSource{key: o.Key, format: im.format}
	if strings.HasSuffix(o.Key, ".parquet") {
		data, err := io.ReadAll(rc)
		im.bytesRead.Add(int64(len(data)))
		if err == nil {
			src.recs, _, err = parquet.ReadRecords(bytes.NewReader(data), int64(len(data)))
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			im.badObject(o.Key, err)
			c.last = true
			return nil
		}
	} else {
		cr := &countingReader{r: rc, n: &im.bytesRead}
		if src.rd, err = flowlog.NewReader(cr, o.Key, im.format); err != nil {
			im.badObject(o.Key, err)
			c.last = true
			return nil
		}
	}
	present := im.present[c.object]
	var n int64 // records (and events) of this object read so far
	for {
		rec := c.slot()
		it, err := src.next(rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			if src.fatal {
				im.badObject(o.Key, err)
				break
			}
			if n >= skip { // before, the run that produced those records reported it
				im.badLine(err)
			}
			continue
		}
		n++
		if n <= skip {
			continue
		}
		c.done = n
		if present[n] {
			im.stats.Present++
			continue
		}
		if it.Event != "" {
			c.addEvent(n, it)
			im.stats.Events++
		} else {
			c.addRecord(n)
			im.stats.Records++
		}
		if c.count() >= im.cfg.ChunkRecords {
			p.send(c)
			c = p.newChunk(o)
			c.done = n
		}
		if n&63 == 0 && ctx.Err() != nil {
			return ctx.Err() // c is sent, not last: the object resumes after record n
		}
	}
	c.done, c.last = n, true
	return nil
}

func (im *Importer) badObject(key string, err error) {
	im.stats.BadObjects++
	im.log.Warn("bad object", "key", key, "err", err)
	im.example(fmt.Sprintf("%s: %v", key, err))
}

func (im *Importer) badLine(err error) {
	im.stats.BadLines++
	im.log.Warn("bad line", "err", err) // flowlog's errors name the key and line
	im.example(err.Error())
}

func (im *Importer) example(s string) {
	if len(im.stats.BadExamples) < 20 {
		im.stats.BadExamples = append(im.stats.BadExamples, s)
	}
}

// objectSource yields the records of one object: parsed from text, or read from Parquet.
type objectSource struct {
	key    string
	format *flowlog.Format
	rd     *flowlog.Reader
	recs   []flowlog.Record
	i      int
	fatal  bool // the last error ends the object (a corrupt gzip stream)
	errs   int
}

func (s *objectSource) next(rec *flowlog.Record) (flowlog.Item, error) {
	if s.rd == nil {
		if s.i >= len(s.recs) {
			return flowlog.Item{}, io.EOF
		}
		*rec = s.recs[s.i]
		s.i++
		return flowlog.Item{}, nil
	}
	it, err := s.rd.Next(rec)
	if err != nil && err != io.EOF {
		s.errs++
		// A line error lets the reader go on; a read error (decompression, I/O) ends it.
		s.fatal = errors.Is(err, flowlog.ErrRead) || s.errs > 1_000_000
	}
	return it, err
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
