package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/sinks"
)

// RunnerConfig configures the consumer-group runner.
type RunnerConfig struct {
	Brokers []string `yaml:"brokers"`
	Group   string   `yaml:"group"`
	// Topics holds flow records (VPC, TGW) encoded by the Producer.
	Topics []string `yaml:"topics"`
	// EventTopics holds raw log events (the VPN topic: AWS's JSON, key = CloudWatch stream,
	// header flowtap-kind). They are read only when some sink implements sinks.EventSink,
	// and only those sinks get them.
	EventTopics     []string `yaml:"event_topics"`
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

// DefaultRunnerConfig reads the VPC and TGW topics (and the VPN topic, for event sinks) of
// the embedded broker in group "flowtap-sink", cutting batches at 100 000 records, 64 MiB
// or 60 s.
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{
		Brokers:         []string{"127.0.0.1:9092"},
		Group:           "flowtap-sink",
		Topics:          []string{TopicVPC, TopicTGW},
		EventTopics:     []string{TopicVPN},
		DeadLetterTopic: TopicDeadLetter,
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

// Runner consumes the record topics (and the event topics, when a sink takes events) in a
// consumer group and hands batches of consecutive messages of one partition to every sink
// of the topic, committing offsets only after all succeeded or refused the batch for good.
type Runner struct {
	cfg        RunnerConfig
	sinks      []sinks.Sink
	events     []sinks.EventSink // the sinks that also take events
	eventTopic map[string]bool
	topics     []string // every topic read
	log        *slog.Logger
	m          *consumerMetrics

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
	batch    sinks.Batch   // the batch's range, and its records on a record topic
	events   []sinks.Event // its events on an event topic
	offsets  []int64       // the offset of each record or event, to dead-letter the batch
	n        int           // messages in the batch, decoded and dead-lettered ones
	bytes    int64
	started  time.Time
	last     kafkago.Message // the batch's last message, committed after the sinks
	boundary *Intent         // a batch to re-form exactly, from an earlier run
}

// NewRunner validates cfg and wires the runner; it does no I/O. The sinks of out that also
// implement sinks.EventSink get the batches of cfg.EventTopics; without such a sink the
// event topics are not read (their offsets stay for a consumer that has one).
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
	var events []sinks.EventSink
	for _, s := range out {
		if es, ok := s.(sinks.EventSink); ok {
			events = append(events, es)
		}
	}
	topics := append([]string(nil), cfg.Topics...)
	eventTopic := map[string]bool{}
	if len(events) > 0 {
		for _, t := range cfg.EventTopics {
			if slices.Contains(cfg.Topics, t) {
				return nil, fmt.Errorf("kafka: runner: topic %q is both a record topic and an event topic", t)
			}
			eventTopic[t] = true
			topics = append(topics, t)
		}
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
	return &Runner{cfg: cfg, sinks: out, events: events, eventTopic: eventTopic, topics: topics,
		log: log.With("component", "kafka-runner", "group", cfg.Group), m: m}, nil
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
	// Two runners on one state directory would overwrite each other's intents.
	lock, err := fsx.LockDir(r.stateDir())
	if err != nil {
		return fmt.Errorf("kafka: runner: state dir: %w", err)
	}
	defer lock.Close()
	intents, err := loadIntents(r.stateDir())
	if err != nil {
		return err
	}
	r.intents = intents
	r.parts = map[tp]*partState{}
	r.reader = kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:           r.cfg.Brokers,
		GroupID:           r.cfg.Group,
		GroupTopics:       r.topics,
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
		BatchSize:    1000, // a refused batch is dead-lettered whole
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
	clear(st.events) // drop the references to the messages' values
	st.events = st.events[:0]
	st.offsets = st.offsets[:0]
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
	if r.eventTopic[m.Topic] {
		ev, err := decodeEvent(m)
		if err != nil {
			return r.deadLetter(ctx, m, err.Error())
		}
		st.events = append(st.events, ev)
		st.offsets = append(st.offsets, m.Offset)
		return nil
	}
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
	st.offsets = append(st.offsets, m.Offset)
	return nil
}

// decodeEvent reads a VPN topic message: the kind from its flowtap-kind header, the stream
// from its key, the time from the event itself (event_timestamp for Site-to-Site logs,
// connection-last-update-time for Client VPN logs).
func decodeEvent(m kafkago.Message) (sinks.Event, error) {
	ev := sinks.Event{Kind: headerValue(m.Headers, HeaderKind), Stream: string(m.Key), Data: m.Value,
		Account: headerValue(m.Headers, HeaderAccount), Region: headerValue(m.Headers, HeaderRegion)}
	switch ev.Kind {
	case sinks.EventVPNTunnel:
		t, err := flowlog.ParseTunnelLog(m.Value)
		if err != nil {
			return ev, err
		}
		ev.Time = t.EventTime
	case sinks.EventVPNBGP:
		b, err := flowlog.ParseBGPLog(m.Value)
		if err != nil {
			return ev, err
		}
		ev.Time = b.EventTime
		if ev.Stream == "" {
			ev.Stream = b.ResourceID // the BGP log names its stream
		}
	case sinks.EventClientVPN:
		c, err := flowlog.ParseClientVPNLog(m.Value)
		if err != nil {
			return ev, err
		}
		ev.Time = c.LastUpdateTime
		if ev.Time.IsZero() {
			ev.Time = c.StartTime
		}
		if ev.Time.IsZero() {
			return ev, errors.New("flowlog: client VPN log: no connection-last-update-time or connection-start-time")
		}
	default:
		return ev, fmt.Errorf("kafka: VPN event kind %q (header %s): want %s, %s or %s", ev.Kind, HeaderKind,
			sinks.EventVPNTunnel, sinks.EventVPNBGP, sinks.EventClientVPN)
	}
	return ev, nil
}

func headerValue(hs []kafkago.Header, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Dead-letter reasons, the reason label of flowtap_consumer_deadlettered_total (a refused
// batch is labelled "refused:" + the sink's name).
const reasonUndecodable = "undecodable"

// dlqMessage is m as set aside on the dead-letter topic: its key, value and headers, and
// why and where from.
func dlqMessage(m kafkago.Message, reason string) kafkago.Message {
	hs := make([]kafkago.Header, 0, len(m.Headers)+4)
	hs = append(hs, m.Headers...)
	hs = append(hs,
		kafkago.Header{Key: HeaderDLQReason, Value: []byte(reason)},
		kafkago.Header{Key: HeaderDLQTopic, Value: []byte(m.Topic)},
		kafkago.Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafkago.Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
	)
	return kafkago.Message{Key: m.Key, Value: m.Value, Headers: hs}
}

// deadLetter sets m aside on the dead-letter topic with the reason and its origin; it retries
// until the write is acknowledged (or ctx ends), so that committing past m loses nothing.
func (r *Runner) deadLetter(ctx context.Context, m kafkago.Message, reason string) error {
	if err := r.writeDLQ(ctx, []kafkago.Message{dlqMessage(m, reason)}); err != nil {
		return err
	}
	r.m.deadLettered.WithLabelValues(m.Topic, reasonUndecodable).Inc()
	r.log.Warn("undecodable message sent to the dead-letter topic", "topic", m.Topic, "partition", m.Partition,
		"offset", m.Offset, "reason", reason)
	return nil
}

// deadLetterBatch sets the whole batch aside for the sink that refused it for good (cause):
// every record (re-encoded with flowlog.AppendJSON, keyed by Record.Key(), as the Producer
// sends it) or event (its value unchanged, keyed by its stream), with its own offset and the
// reason "sink <name> refused the batch: <cause>".
func (r *Runner) deadLetterBatch(ctx context.Context, st *partState, sink string, cause error) error {
	b := &st.batch
	reason := fmt.Sprintf("sink %s refused the batch [%d,%d] for good: %v", sink, b.FirstOffset, b.LastOffset, cause)
	msgs := make([]kafkago.Message, 0, len(st.offsets))
	for i, off := range st.offsets {
		m := kafkago.Message{Topic: b.Topic, Partition: b.Partition, Offset: off}
		if r.eventTopic[b.Topic] {
			ev := &st.events[i]
			m.Value = ev.Data
			if ev.Stream != "" {
				m.Key = []byte(ev.Stream)
			}
			m.Headers = []kafkago.Header{{Key: HeaderKind, Value: []byte(ev.Kind)}}
			if ev.Account != "" {
				m.Headers = append(m.Headers, kafkago.Header{Key: HeaderAccount, Value: []byte(ev.Account)})
			}
			if ev.Region != "" {
				m.Headers = append(m.Headers, kafkago.Header{Key: HeaderRegion, Value: []byte(ev.Region)})
			}
		} else {
			rec := &b.Records[i]
			m.Value = flowlog.AppendJSON(nil, rec)
			if k := rec.Key(); k != "" {
				m.Key = []byte(k)
			}
			m.Headers = []kafkago.Header{{Key: HeaderKind, Value: []byte(rec.Kind.String())}}
		}
		msgs = append(msgs, dlqMessage(m, reason))
	}
	if err := r.writeDLQ(ctx, msgs); err != nil {
		return err
	}
	r.m.deadLettered.WithLabelValues(b.Topic, "refused:"+sink).Add(float64(len(msgs)))
	r.log.Error("sink refused a batch for good; its messages went to the dead-letter topic", "sink", sink,
		"topic", b.Topic, "partition", b.Partition, "first", b.FirstOffset, "last", b.LastOffset,
		"messages", len(msgs), "dead_letter_topic", r.cfg.DeadLetterTopic, "err", cause)
	return nil
}

// writeDLQ writes msgs to the dead-letter topic, retrying what failed with backoff until
// every message is acknowledged or ctx ends.
func (r *Runner) writeDLQ(ctx context.Context, msgs []kafkago.Message) error {
	for attempt := 1; ; attempt++ {
		err := r.dlq.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		var werrs kafkago.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			failed := msgs[:0:0]
			for i, e := range werrs {
				if e != nil {
					failed = append(failed, msgs[i])
				}
			}
			msgs = failed
		}
		r.log.Error("dead-letter write failed", "attempt", attempt, "messages", len(msgs), "err", err)
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
	targets := r.targets(st)
	done := make([]bool, len(targets))
	for attempt := 1; len(targets) > 0; attempt++ {
		pending := 0
		for i, t := range targets {
			if done[i] {
				continue
			}
			start := time.Now()
			err := t.write(ctx)
			if err == nil {
				done[i] = true
				r.m.sinkLatency.WithLabelValues(t.name).Observe(time.Since(start).Seconds())
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.m.sinkErrors.WithLabelValues(t.name).Inc()
			if sinks.IsPermanent(err) {
				// Retrying cannot help and would block the partition for good: set the batch
				// aside for this sink; the other sinks must still succeed before the commit.
				if err := r.deadLetterBatch(ctx, st, t.name, err); err != nil {
					return err
				}
				done[i] = true
				continue
			}
			pending++
			r.log.Warn("sink write failed; will retry", "sink", t.name, "topic", b.Topic, "partition", b.Partition,
				"first", b.FirstOffset, "last", b.LastOffset, "attempt", attempt, "err", err)
		}
		if pending == 0 {
			break
		}
		if !sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, attempt)) {
			return ctx.Err()
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
	r.m.consumed.WithLabelValues(b.Topic).Add(float64(len(b.Records) + len(st.events)))
	r.m.batchLatency.Observe(time.Since(st.started).Seconds())
	r.reset(st)
	return nil
}

// target is one sink's write of the batch being flushed.
type target struct {
	name  string
	write func(context.Context) error
}

// targets returns the writes of st's batch: to every record sink for a record topic, to
// every event sink for an event topic; none when every message was dead-lettered.
func (r *Runner) targets(st *partState) []target {
	b := &st.batch
	var out []target
	if r.eventTopic[b.Topic] {
		if len(st.events) == 0 {
			return nil
		}
		eb := &sinks.EventBatch{Topic: b.Topic, Partition: b.Partition, FirstOffset: b.FirstOffset,
			LastOffset: b.LastOffset, Events: st.events}
		for _, s := range r.events {
			out = append(out, target{s.Name(), func(ctx context.Context) error { return s.WriteEvents(ctx, eb) }})
		}
		return out
	}
	if len(b.Records) == 0 {
		return nil
	}
	for _, s := range r.sinks {
		out = append(out, target{s.Name(), func(ctx context.Context) error { return s.Write(ctx, b) }})
	}
	return out
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
