package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/broker"
)

// Dead-letter headers: why a message was set aside and where it came from.
const (
	HeaderDLQReason    = "flowtap-dlq-reason"
	HeaderDLQTopic     = "flowtap-dlq-topic"
	HeaderDLQPartition = "flowtap-dlq-partition"
	HeaderDLQOffset    = "flowtap-dlq-offset"
)

// RunnerConfig configures the consumer-group runner.
type RunnerConfig struct {
	Brokers []string `yaml:"brokers"`
	Group   string   `yaml:"group"`
	// Topics holds flow records (VPC, TGW) encoded by the Producer. The VPN topic holds raw
	// VPN events, not records, and is not read here.
	Topics          []string `yaml:"topics"`
	DeadLetterTopic string   `yaml:"dead_letter_topic"`

	// A batch is cut when it reaches MaxRecords or MaxBytes (message values), or when its
	// first message is MaxAge old.
	MaxRecords int           `yaml:"max_records"`
	MaxBytes   int64         `yaml:"max_bytes"`
	MaxAge     time.Duration `yaml:"max_age"`

	// StateDir keeps one intent file per partition (see the package doc).
	StateDir string `yaml:"state_dir"`

	// A failing sink is retried after SinkBackoffMin·2^n, capped at SinkBackoffMax.
	SinkBackoffMin time.Duration `yaml:"sink_backoff_min"`
	SinkBackoffMax time.Duration `yaml:"sink_backoff_max"`

	SessionTimeout time.Duration `yaml:"session_timeout"`
	FetchMaxWait   time.Duration `yaml:"fetch_max_wait"`
}

// DefaultRunnerConfig reads the VPC and TGW topics of the embedded broker in group
// "flowtap-sink", cutting batches at 100 000 records, 64 MiB or 60 s.
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{
		Brokers:         []string{"127.0.0.1:9092"},
		Group:           "flowtap-sink",
		Topics:          []string{broker.TopicVPC, broker.TopicTGW},
		DeadLetterTopic: broker.TopicDeadLetter,
		MaxRecords:      100_000,
		MaxBytes:        64 << 20,
		MaxAge:          60 * time.Second,
		StateDir:        "data/sink-state",
		SinkBackoffMin:  500 * time.Millisecond,
		SinkBackoffMax:  30 * time.Second,
		SessionTimeout:  10 * time.Second,
		FetchMaxWait:    500 * time.Millisecond,
	}
}

// Runner consumes the record topics in a consumer group and hands batches of consecutive
// records of one partition to every sink, committing offsets only after all succeeded.
type Runner struct {
	cfg   RunnerConfig
	sinks []sinks.Sink
	log   *slog.Logger
	m     *consumerMetrics

	reader  *kafkago.Reader
	dlq     *kafkago.Writer
	intents map[tp]Intent
	parts   map[tp]*partState
	msgs    chan kafkago.Message
	// beforeCommit, when set (tests), runs after every sink succeeded and before the commit;
	// an error aborts the batch as if the process died there.
	beforeCommit func(*sinks.Batch) error
}

type tp struct {
	topic     string
	partition int
}

// Intent is the batch a runner was about to hand to its sinks: kept on disk so that a
// restart re-forms exactly that batch and the sinks rewrite the same objects.
type Intent struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	First     int64  `json:"first"`
	Last      int64  `json:"last"`
}

type partState struct {
	key      tp
	batch    sinks.Batch
	n        int // messages in the batch, records and dead-lettered ones
	bytes    int64
	started  time.Time
	last     kafkago.Message // the batch's last message, committed after the sinks
	boundary *Intent         // a batch to re-form exactly, from an earlier run
}

// NewRunner validates cfg and wires the runner; it does no I/O.
func NewRunner(cfg RunnerConfig, out []sinks.Sink, reg prometheus.Registerer, log *slog.Logger) (*Runner, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: runner: no brokers")
	}
	if cfg.Group == "" || len(cfg.Topics) == 0 || cfg.DeadLetterTopic == "" || cfg.StateDir == "" {
		return nil, fmt.Errorf("kafka: runner: group, topics, dead-letter topic and state dir are required (got %q, %v, %q, %q)",
			cfg.Group, cfg.Topics, cfg.DeadLetterTopic, cfg.StateDir)
	}
	if len(out) == 0 {
		return nil, errors.New("kafka: runner: no sinks")
	}
	def := DefaultRunnerConfig()
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = def.MaxRecords
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = def.MaxBytes
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = def.MaxAge
	}
	if cfg.SinkBackoffMin <= 0 {
		cfg.SinkBackoffMin = def.SinkBackoffMin
	}
	if cfg.SinkBackoffMax < cfg.SinkBackoffMin {
		cfg.SinkBackoffMax = cfg.SinkBackoffMin
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = def.SessionTimeout
	}
	if cfg.FetchMaxWait <= 0 {
		cfg.FetchMaxWait = def.FetchMaxWait
	}
	if log == nil {
		log = slog.Default()
	}
	m := newConsumerMetrics()
	if reg != nil {
		if err := m.register(reg); err != nil {
			return nil, fmt.Errorf("kafka: runner metrics: %w", err)
		}
	}
	return &Runner{cfg: cfg, sinks: out, log: log.With("component", "kafka-runner", "group", cfg.Group), m: m}, nil
}

type slogPrintf struct{ log *slog.Logger }

// Printf logs kafka-go's reader errors. An idle long-poll fetch that outlives its deadline
// ("i/o timeout") is retried by the reader at once and is not worth a warning.
func (l slogPrintf) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.HasSuffix(msg, "i/o timeout") {
		l.log.Debug(msg)
		return
	}
	l.log.Warn(msg)
}

// Run consumes until ctx ends. A batch whose sinks have not all succeeded when ctx ends is
// not committed; the next run re-forms it from its intent.
func (r *Runner) Run(ctx context.Context) error {
	if err := os.MkdirAll(r.stateDir(), 0o755); err != nil {
		return fmt.Errorf("kafka: runner: state dir: %w", err)
	}
	intents, err := loadIntents(r.stateDir())
	if err != nil {
		return err
	}
	r.intents = intents
	r.parts = map[tp]*partState{}
	r.reader = kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:           r.cfg.Brokers,
		GroupID:           r.cfg.Group,
		GroupTopics:       r.cfg.Topics,
		MinBytes:          1,
		MaxBytes:          16 << 20,
		MaxWait:           r.cfg.FetchMaxWait,
		CommitInterval:    0, // synchronous, explicit commits only
		StartOffset:       kafkago.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    r.cfg.SessionTimeout,
		RebalanceTimeout:  r.cfg.SessionTimeout,
		JoinGroupBackoff:  500 * time.Millisecond,
		ReadBackoffMin:    100 * time.Millisecond,
		ReadBackoffMax:    time.Second,
		ErrorLogger:       slogPrintf{r.log},
	})
	r.dlq = &kafkago.Writer{
		Addr:         kafkago.TCP(r.cfg.Brokers...),
		Topic:        r.cfg.DeadLetterTopic,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		BatchTimeout: time.Millisecond,
		MaxAttempts:  3,
		Transport:    &kafkago.Transport{DialTimeout: 2 * time.Second, ClientID: "flowtap-deadletter"},
	}
	defer func() {
		if err := r.reader.Close(); err != nil {
			r.log.Warn("reader close", "err", err)
		}
		if err := r.dlq.Close(); err != nil {
			r.log.Warn("dead-letter writer close", "err", err)
		}
	}()

	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	r.msgs = make(chan kafkago.Message, 1024)
	go func() {
		defer close(r.msgs)
		for {
			m, err := r.reader.FetchMessage(fetchCtx)
			if err != nil {
				if fetchCtx.Err() == nil {
					r.log.Error("fetch failed; consumer stops", "err", err)
				}
				return
			}
			select {
			case r.msgs <- m:
			case <-fetchCtx.Done():
				return
			}
		}
	}()

	tick := min(r.cfg.MaxAge/4, time.Second)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-r.msgs:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("kafka: runner: fetch loop ended")
			}
			if err := r.handle(ctx, m); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		case now := <-ticker.C:
			for _, st := range r.parts {
				if st.n > 0 && st.boundary == nil && now.Sub(st.started) >= r.cfg.MaxAge {
					if err := r.flush(ctx, st); err != nil {
						if ctx.Err() != nil {
							return nil
						}
						return err
					}
				}
			}
		}
	}
}

func (r *Runner) stateDir() string { return filepath.Join(r.cfg.StateDir, r.cfg.Group) }

// handle adds one message to its partition's batch, cutting batches where the limits or an
// intent from an earlier run say.
func (r *Runner) handle(ctx context.Context, m kafkago.Message) error {
	key := tp{m.Topic, m.Partition}
	st := r.parts[key]
	if st == nil {
		st = &partState{key: key}
		r.parts[key] = st
		r.startAt(st, m.Offset)
	} else if st.n > 0 && m.Offset <= st.batch.LastOffset {
		// A rebalance rewound the partition to its committed offset: start over from there.
		r.log.Info("partition rewound; discarding the uncommitted batch", "topic", m.Topic, "partition", m.Partition,
			"offset", m.Offset, "batch_first", st.batch.FirstOffset)
		r.reset(st)
		r.startAt(st, m.Offset)
	}
	r.m.lag.WithLabelValues(m.Topic, strconv.Itoa(m.Partition)).Set(float64(max(m.HighWaterMark-m.Offset-1, 0)))

	if b := st.boundary; b != nil {
		switch {
		case m.Offset > b.Last: // the intent's range ended in a gap
			st.boundary = nil
			if st.n > 0 && st.batch.FirstOffset >= b.First {
				if err := r.flushExact(ctx, st, b); err != nil {
					return err
				}
			}
		case m.Offset >= b.First && st.n > 0 && st.batch.FirstOffset < b.First:
			if err := r.flush(ctx, st); err != nil { // cut before the intent's first offset
				return err
			}
		}
	}

	if err := r.add(ctx, st, m); err != nil {
		return err
	}

	if b := st.boundary; b != nil {
		if m.Offset >= b.Last {
			st.boundary = nil
			return r.flushExact(ctx, st, b)
		}
		if m.Offset >= b.First {
			return nil // inside the intent's range: only its end cuts the batch
		}
	}
	if st.n >= r.cfg.MaxRecords || st.bytes >= r.cfg.MaxBytes {
		return r.flush(ctx, st)
	}
	return nil
}

func (r *Runner) flushExact(ctx context.Context, st *partState, b *Intent) error {
	if st.batch.FirstOffset != b.First || st.batch.LastOffset != b.Last {
		r.log.Warn("re-formed batch differs from its intent (messages deleted?)", "topic", b.Topic, "partition", b.Partition,
			"intent_first", b.First, "intent_last", b.Last, "first", st.batch.FirstOffset, "last", st.batch.LastOffset)
	}
	return r.flush(ctx, st)
}

// startAt applies the partition's intent, if any, when consumption (re)starts at offset.
func (r *Runner) startAt(st *partState, offset int64) {
	st.boundary = nil
	in, ok := r.intents[st.key]
	if !ok || offset > in.Last {
		return
	}
	if offset > in.First {
		r.log.Warn("committed offset inside the last intent; re-forming the rest of it", "topic", in.Topic,
			"partition", in.Partition, "offset", offset, "intent_first", in.First, "intent_last", in.Last)
	}
	b := in
	st.boundary = &b
	r.log.Info("re-forming an uncommitted batch", "topic", in.Topic, "partition", in.Partition, "first", in.First, "last", in.Last)
}

func (r *Runner) reset(st *partState) {
	st.batch.Records = st.batch.Records[:0]
	st.n, st.bytes = 0, 0
}

// add decodes m into the batch, or sends it to the dead-letter topic when it does not decode.
func (r *Runner) add(ctx context.Context, st *partState, m kafkago.Message) error {
	if st.n == 0 {
		st.batch.Topic, st.batch.Partition, st.batch.FirstOffset = m.Topic, m.Partition, m.Offset
		st.started = time.Now()
	}
	st.batch.LastOffset = m.Offset
	st.last = m
	st.n++
	st.bytes += int64(len(m.Value))
	recs := st.batch.Records
	if cap(recs) > len(recs) {
		recs = recs[:len(recs)+1]
	} else {
		recs = append(recs, flowlog.Record{})
	}
	rec := &recs[len(recs)-1]
	if err := flowlog.ParseJSON(m.Value, rec); err != nil {
		st.batch.Records = recs[:len(recs)-1]
		return r.deadLetter(ctx, m, err.Error())
	}
	switch headerValue(m.Headers, HeaderKind) {
	case "vpc":
		rec.Kind = flowlog.KindVPC
	case "tgw":
		rec.Kind = flowlog.KindTGW
	}
	st.batch.Records = recs
	return nil
}

func headerValue(hs []kafkago.Header, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// deadLetter sets m aside on the dead-letter topic with the reason and its origin; it retries
// until the write is acknowledged (or ctx ends), so that committing past m loses nothing.
func (r *Runner) deadLetter(ctx context.Context, m kafkago.Message, reason string) error {
	hs := make([]kafkago.Header, 0, len(m.Headers)+4)
	hs = append(hs, m.Headers...)
	hs = append(hs,
		kafkago.Header{Key: HeaderDLQReason, Value: []byte(reason)},
		kafkago.Header{Key: HeaderDLQTopic, Value: []byte(m.Topic)},
		kafkago.Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafkago.Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
	)
	out := kafkago.Message{Key: m.Key, Value: m.Value, Headers: hs}
	for attempt := 1; ; attempt++ {
		err := r.dlq.WriteMessages(ctx, out)
		if err == nil {
			r.m.deadLettered.WithLabelValues(m.Topic).Inc()
			r.log.Warn("undecodable message sent to the dead-letter topic", "topic", m.Topic, "partition", m.Partition,
				"offset", m.Offset, "reason", reason)
			return nil
		}
		r.log.Error("dead-letter write failed", "attempt", attempt, "err", err)
		if !sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, attempt)) {
			return ctx.Err()
		}
	}
}

// flush records the batch's intent, hands it to every sink until each succeeded, and commits.
func (r *Runner) flush(ctx context.Context, st *partState) error {
	if st.n == 0 {
		return nil
	}
	b := &st.batch
	in := Intent{Topic: b.Topic, Partition: b.Partition, First: b.FirstOffset, Last: b.LastOffset}
	if err := writeIntent(r.stateDir(), in); err != nil {
		return err
	}
	r.intents[st.key] = in
	if len(b.Records) > 0 {
		done := make([]bool, len(r.sinks))
		for attempt := 1; ; attempt++ {
			pending := 0
			for i, s := range r.sinks {
				if done[i] {
					continue
				}
				start := time.Now()
				if err := s.Write(ctx, b); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					pending++
					r.m.sinkErrors.WithLabelValues(s.Name()).Inc()
					r.log.Warn("sink write failed; will retry", "sink", s.Name(), "topic", b.Topic, "partition", b.Partition,
						"first", b.FirstOffset, "last", b.LastOffset, "attempt", attempt, "err", err)
					continue
				}
				done[i] = true
				r.m.sinkLatency.WithLabelValues(s.Name()).Observe(time.Since(start).Seconds())
			}
			if pending == 0 {
				break
			}
			if !sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, attempt)) {
				return ctx.Err()
			}
		}
	}
	if r.beforeCommit != nil {
		if err := r.beforeCommit(b); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		err := r.reader.CommitMessages(ctx, st.last)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Warn("offset commit failed", "topic", b.Topic, "partition", b.Partition, "offset", b.LastOffset, "attempt", attempt, "err", err)
		if attempt >= 5 {
			// A rebalance took the partition; its next owner redelivers from the last commit.
			break
		}
		if !sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, attempt)) {
			return ctx.Err()
		}
	}
	r.m.committed.Inc()
	r.m.consumed.WithLabelValues(b.Topic).Add(float64(len(b.Records)))
	r.m.batchLatency.Observe(time.Since(st.started).Seconds())
	r.reset(st)
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

const intentSuffix = ".intent"

func intentPath(dir, topic string, partition int) string {
	return filepath.Join(dir, fmt.Sprintf("%s.%d%s", topic, partition, intentSuffix))
}

// writeIntent stores in durably: temp file, fsync, rename, fsync of the directory.
func writeIntent(dir string, in Intent) error {
	data, _ := json.Marshal(in)
	final := intentPath(dir, in.Topic, in.Partition)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("kafka: intent %s: %w", tmp, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(dir); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("kafka: intent %s: %w", final, err)
	}
	return nil
}

func loadIntents(dir string) (map[tp]Intent, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("kafka: runner: state dir: %w", err)
	}
	out := map[tp]Intent{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), intentSuffix) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("kafka: runner: read intent: %w", err)
		}
		var in Intent
		if err := json.Unmarshal(data, &in); err != nil || in.Topic == "" || in.First > in.Last {
			return nil, fmt.Errorf("kafka: runner: bad intent file %s: %q", e.Name(), data)
		}
		out[tp{in.Topic, in.Partition}] = in
	}
	return out, nil
}
