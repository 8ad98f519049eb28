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
// Resumption: objects are imported in key order, and the state file records how far the
// import got: the last object completed and the records already produced of the next one.
// Records are produced synchronously, a chunk at a time, and the state is written (fsx,
// atomically) only after Kafka acknowledged the chunk (acks=all). A restart therefore never
// loses a record, and skips exactly what Kafka acknowledged and the state recorded: after a
// graceful stop (SIGINT, SIGTERM, a cancelled context) the effect is exactly once. After a
// hard kill between an acknowledgement and the state write, at most that one chunk is
// produced again; its messages are byte-identical (deterministic encoding, keys and order),
// so the log store, which drops identical entries as Loki does, keeps one copy, and the lake
// holds the chunk twice. Checkpointing after acknowledgements was chosen over relying on
// downstream de-duplication because the lake names its files by Kafka offsets, which a
// re-produced record does not keep.
//
// Bad input never aborts the import: an unreadable object, and every bad line, is reported
// by key and line and counted, and the import goes on.
package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/flowmsg"
	"github.com/flowtap/flowtap/internal/fsx"
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
	Bytes       int64 // object bytes read
	Elapsed     time.Duration
	BadExamples []string // the first bad lines/objects, "key:line: error"
}

// Importer runs one import.
type Importer struct {
	cfg       Config
	log       *slog.Logger
	store     objstore.Store
	writer    *kafkago.Writer
	format    *flowlog.Format
	state     state
	stats     Stats
	free      chan *chunk // chunks the writer is done with, for reuse
	bytesRead atomic.Int64
	prog      *progress
	// checkpointed is called after each state write (tests stop an import mid-way with it).
	checkpointed func(state)
}

// state is the resumption point: every object with a key ≤ Done is complete, and the first
// Records records of object Current are in Kafka.
type state struct {
	Source  string `json:"source"`
	Done    string `json:"done,omitempty"`
	Current string `json:"current,omitempty"`
	Records int64  `json:"records,omitempty"`
}

// New checks cfg and opens the source; it does no network I/O.
func New(cfg Config, log *slog.Logger) (*Importer, error) {
	if log == nil {
		log = slog.Default()
	}
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
	im := &Importer{cfg: cfg, log: log.With("component", "import"), free: make(chan *chunk, 4)}
	if cfg.Format != "" {
		if im.format, err = flowlog.ParseFormat(cfg.Format); err != nil {
			return nil, fmt.Errorf("import: --format: %w", err)
		}
	}
	if im.store, err = objstore.Open(cfg.Source, cfg.S3); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im.writer = &kafkago.Writer{
		Addr: kafkago.TCP(cfg.Brokers...),
		// The same partition per key as kafka.Producer (FNV-1a), so one ENI's records stay
		// in order whoever produced them.
		Balancer: &kafkago.Hash{},
		// kafka.Producer's request sizes: the embedded broker refuses record batches above
		// 1 MB, and smaller requests to the partitions overlap better.
		BatchSize:    4096,
		BatchBytes:   1 << 20,
		BatchTimeout: time.Millisecond,
		RequiredAcks: kafkago.RequireAll,
		Compression:  codec,
		MaxAttempts:  5,
		WriteTimeout: 30 * time.Second,
		ReadTimeout:  30 * time.Second,
		Transport:    &kafkago.Transport{DialTimeout: 5 * time.Second, ClientID: "flowtap-import"},
	}
	return im, nil
}

// Run imports every selected object not done yet and returns what it did. It stops early,
// after checkpointing, when ctx ends; the error is then ctx's.
func (im *Importer) Run(ctx context.Context) (st Stats, err error) {
	t0 := time.Now()
	defer func() { st.Elapsed, st.Bytes = time.Since(t0), im.bytesRead.Load() }()
	defer im.writer.Close()
	if err := im.loadState(); err != nil {
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
	im.log.Info("import", "source", im.store.String(), "objects", len(todo), "bytes", total, "skipped", im.stats.Skipped)
	if im.cfg.Progress != nil {
		im.prog = newProgress(im.cfg.Progress, len(todo), total)
		defer im.prog.finish(&im.stats)
	}
	// Reading and parsing overlap with producing: the reader hands chunks to the writer,
	// which produces each, waits for the acknowledgement, then checkpoints it.
	chunks := make(chan *chunk, 2)
	werr := make(chan error, 1)
	go func() { werr <- im.produce(chunks) }()
	var rerr error
	for _, o := range todo {
		skip := int64(0)
		if o.Key == im.state.Current {
			skip = im.state.Records
			im.stats.Resumed += skip
		}
		if rerr = im.importObject(ctx, o, skip, chunks); rerr != nil {
			break
		}
		im.stats.Objects++
	}
	close(chunks)
	if err := <-werr; err != nil {
		return im.stats, err
	}
	return im.stats, rerr
}

// chunk is a run of encoded messages of one object; done is how many records of the object
// are in Kafka once the chunk is, and last says the object is then complete.
type chunk struct {
	key  string
	size int64
	done int64
	last bool
	flowmsg.Batch
}

// produce writes chunks in order and checkpoints after each acknowledgement. After a failed
// write it only drains the channel: nothing after a gap may be checkpointed.
func (im *Importer) produce(chunks <-chan *chunk) error {
	var failed error
	for c := range chunks {
		if failed != nil {
			continue
		}
		if len(c.Msgs) > 0 {
			// The write has its own deadline rather than the run's context: a stop must
			// not abandon a chunk half-written, so that the checkpoint matches Kafka.
			wctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			err := im.writer.WriteMessages(wctx, c.Msgs...)
			cancel()
			if err != nil {
				failed = fmt.Errorf("import: %s: produce: %w (state kept at %s record %d; rerun to resume)", c.key, err, im.state.Current, im.state.Records)
				continue
			}
		}
		if c.last {
			im.state.Done, im.state.Current, im.state.Records = c.key, "", 0
		} else {
			im.state.Current, im.state.Records = c.key, c.done
		}
		if err := im.saveState(); err != nil {
			failed = err
			continue
		}
		if im.prog != nil {
			im.prog.records(int64(len(c.Msgs)), im.bytesRead.Load())
			if c.last {
				im.prog.objectDone(c.size)
			}
		}
		select {
		case im.free <- c:
		default:
		}
	}
	return failed
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

// importObject reads one object, skipping its first skip records, and hands its records to
// the writer in chunks. A bad object or line is reported and counted, not returned.
func (im *Importer) importObject(ctx context.Context, o objstore.Object, skip int64, out chan<- *chunk) error {
	c := im.newChunk(o)
	c.done = skip
	defer func() {
		if c != nil {
			out <- c // what was read so far (possibly nothing), and the object's end
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
	var n int64 // records (and events) of this object read so far
	var rec flowlog.Record
	for {
		it, err := src.next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			if src.fatal {
				im.badObject(o.Key, err)
				break
			}
			im.badLine(err)
			continue
		}
		n++
		if n <= skip {
			continue
		}
		im.add(c, &rec, it)
		c.done = n
		if len(c.Msgs) >= im.cfg.ChunkRecords {
			out <- c
			c = im.newChunk(o)
			c.done = n
		}
		if n&63 == 0 && ctx.Err() != nil {
			return ctx.Err() // c is sent, not last: the object resumes after record n
		}
	}
	c.done, c.last = n, true
	return nil
}

func (im *Importer) newChunk(o objstore.Object) *chunk {
	var c *chunk
	select {
	case c = <-im.free:
	default:
		// Sized once for a whole chunk: growing the buffer while messages point into it
		// would copy it again and again and keep the old arrays alive.
		c = &chunk{}
		c.Msgs = make([]kafkago.Message, 0, im.cfg.ChunkRecords+1)
		c.Buf = make([]byte, 0, im.cfg.ChunkRecords*512)
	}
	// Very large buffers are dropped to bound memory.
	if cap(c.Buf) > 256<<20 {
		c.Buf = nil
	}
	c.Reset()
	*c = chunk{key: o.Key, size: o.Size, Batch: c.Batch}
	return c
}

// add encodes one record or event as kafka.Producer would.
func (im *Importer) add(c *chunk, rec *flowlog.Record, it flowlog.Item) {
	if it.Event != "" {
		c.AddEvent(im.cfg.Topics, it.Event, it.LogStream, it.Owner, "", it.Data)
		im.stats.Events++
		return
	}
	c.AddRecord(im.cfg.Topics, rec)
	im.stats.Records++
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

func (im *Importer) loadState() error {
	im.state = state{Source: im.store.String()}
	if im.cfg.StateFile == "" {
		return nil
	}
	data, err := os.ReadFile(im.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("import: state: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("import: state file %s: %w (delete it to start over)", im.cfg.StateFile, err)
	}
	if st.Source != im.state.Source {
		return fmt.Errorf("import: state file %s belongs to source %s, not %s", im.cfg.StateFile, st.Source, im.state.Source)
	}
	im.state = st
	if st.Done != "" || st.Current != "" {
		im.log.Info("resuming", "done_through", st.Done, "current", st.Current, "records", st.Records)
	}
	return nil
}

func (im *Importer) saveState() error {
	if im.cfg.StateFile == "" {
		return nil
	}
	data, _ := json.Marshal(im.state)
	if err := fsx.WriteFile(im.cfg.StateFile, append(data, '\n')); err != nil {
		return fmt.Errorf("import: state: %w", err)
	}
	if im.checkpointed != nil {
		im.checkpointed(im.state)
	}
	return nil
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
