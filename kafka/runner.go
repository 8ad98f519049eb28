package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/sinks"
)

// RunnerConfig configures the consumer-group runner.
type RunnerConfig struct {
	Brokers []string
	SASL    SASL // authentication to the brokers, if they require it
	Group   string
	// Topics holds flow records (VPC, TGW) encoded by the Producer.
	Topics []string
	// EventTopics holds raw log events (the VPN topic: AWS's JSON, key = CloudWatch stream,
	// header flowtap-kind). They are read only when some sink implements sinks.EventSink,
	// and only those sinks get them.
	EventTopics     []string
	DeadLetterTopic string

	// A batch is cut when it reaches MaxRecords or MaxBytes (message values), or when its
	// first message is MaxAge old.
	MaxRecords int
	MaxBytes   int64
	MaxAge     time.Duration

	// StateDir keeps one intent file per partition (see the package doc).
	StateDir string

	// A failing sink is retried after SinkBackoffMin·2^n, capped at SinkBackoffMax.
	SinkBackoffMin time.Duration
	SinkBackoffMax time.Duration

	SessionTimeout time.Duration
	// A fetch waits up to FetchMaxWait for data and returns up to FetchMaxBytes per partition.
	FetchMaxWait  time.Duration
	FetchMaxBytes int
	// MaxDecodedRecords bounds the decoded records held over all partitions (a record takes
	// about 1 KB; a batch waiting out a sink's backoff does not count). A batch is cut at
	// its partition's share (MaxDecodedRecords over the partitions holding a batch) when
	// that is below MaxRecords, and a partition that finds no room cuts its batch short
	// at once. Default: 2 × MaxRecords; never less
	// than MaxRecords + one fetch.
	MaxDecodedRecords int
	// MaxFetchedBytes bounds the messages fetched and not yet decoded over all partitions
	// (the responses as read, their records decompressed, the messages): a partition's reader fetches only when the budget has
	// room for a response as large as its last one, and counts each response once read
	// until its messages are decoded. A response holds at least one whole producer batch
	// (some 5 MB of JSON) however small FetchMaxBytes is, so without a bound every
	// partition would hold two. Default 64 MiB.
	MaxFetchedBytes int64
	// DedupeWindow is how many offsets back in a partition a message is compared with to
	// drop it as a producer's re-sent copy (same flowtap-id header; see dedupe.go). On start
	// a partition re-reads that many messages before its committed offset to fill the
	// window. Default 65 536 (about 3 MiB per partition); negative turns it off.
	DedupeWindow int64
}

// DefaultRunnerConfig reads the VPC and TGW topics (and the VPN topic, for event sinks) of
// the embedded broker in group "flowtap-sink", cutting batches at 20 000 records, 16 MiB
// or 60 s (or sooner when a partition drained from behind has no more to read).
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{
		Brokers:         []string{"127.0.0.1:9092"},
		Group:           "flowtap-sink",
		Topics:          []string{TopicVPC, TopicTGW},
		EventTopics:     []string{TopicVPN},
		DeadLetterTopic: TopicDeadLetter,
		MaxRecords:      20_000,
		MaxBytes:        16 << 20,
		MaxAge:          60 * time.Second,
		StateDir:        "data/sink-state",
		SinkBackoffMin:  500 * time.Millisecond,
		SinkBackoffMax:  30 * time.Second,
		SessionTimeout:  10 * time.Second,
		FetchMaxWait:    500 * time.Millisecond,
		FetchMaxBytes:   256 << 10,
		MaxFetchedBytes: 64 << 20,
		DedupeWindow:    DefaultDedupeWindow,
	}
}

// Runner consumes the record topics (and the event topics, when a sink takes events) in a
// consumer group and hands batches of consecutive messages of one partition to every sink
// of the topic, committing offsets only after all succeeded or refused the batch for good.
// Every assigned partition has its own worker (fetch.go, batch.go, fanout.go), so a sink
// backing off on one partition does not hold up the others.
type Runner struct {
	cfg        RunnerConfig
	sinks      []sinks.Sink
	events     []sinks.EventSink // the sinks that also take events
	eventTopic map[string]bool
	topics     []string // every topic read
	log        *slog.Logger
	m          *consumerMetrics

	// budget bounds the decoded records in memory over all partitions (MaxDecodedRecords).
	budget *budget
	// fetchBudget bounds the bytes of fetched messages not yet decoded (MaxFetchedBytes).
	fetchBudget *budget
	// holding counts the partitions holding a batch of records: each sizes its record
	// slice to its share of the budget.
	holding atomic.Int64
	dialer  *kafkago.Dialer
	// commitMu serializes offset commits (see flush).
	commitMu sync.Mutex
	dlq      *kafkago.Writer
	intents  *intents
	member   string // the group member id kept in the state directory (member.go)
	// beforeCommit, when set (tests), runs after every sink succeeded and before the commit
	// (one call at a time); an error aborts the batch as if the process died there.
	beforeCommit func(*sinks.Batch) error
	testMu       sync.Mutex
}

// NewRunner validates cfg and wires the runner; it does no I/O. The sinks of out that also
// implement sinks.EventSink get the batches of cfg.EventTopics; without such a sink the
// event topics are not read (their offsets stay for a consumer that has one).
// Metrics go to d.Registry, logs to d.Log (defaults when nil).
func NewRunner(cfg RunnerConfig, out []sinks.Sink, d component.Deps) (*Runner, error) {
	d = d.WithDefaults()
	reg, log := d.Registry, d.Log
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
	orDefault(&cfg.MaxRecords, def.MaxRecords)
	orDefault(&cfg.MaxBytes, def.MaxBytes)
	orDefault(&cfg.MaxAge, def.MaxAge)
	orDefault(&cfg.SinkBackoffMin, def.SinkBackoffMin)
	if cfg.SinkBackoffMax < cfg.SinkBackoffMin {
		cfg.SinkBackoffMax = cfg.SinkBackoffMin
	}
	orDefault(&cfg.SessionTimeout, def.SessionTimeout)
	orDefault(&cfg.FetchMaxWait, def.FetchMaxWait)
	orDefault(&cfg.FetchMaxBytes, def.FetchMaxBytes)
	orDefault(&cfg.MaxFetchedBytes, def.MaxFetchedBytes)
	if cfg.DedupeWindow == 0 {
		cfg.DedupeWindow = def.DedupeWindow
	}
	mech, err := cfg.SASL.mechanism()
	if err != nil {
		return nil, err
	}
	if cfg.MaxDecodedRecords <= 0 {
		cfg.MaxDecodedRecords = 2 * cfg.MaxRecords
	}
	// One fetch of small messages must always fit beside a full batch.
	cfg.MaxDecodedRecords = max(cfg.MaxDecodedRecords, cfg.MaxRecords+cfg.FetchMaxBytes/16)
	m := newConsumerMetrics()
	if err := m.register(reg); err != nil {
		return nil, fmt.Errorf("kafka: runner metrics: %w", err)
	}
	return &Runner{cfg: cfg, sinks: out, events: events, eventTopic: eventTopic, topics: topics,
		log: log.With("component", "kafka-runner", "group", cfg.Group), m: m,
		dialer: newDialer(clientIDSink, mech),
		budget: newBudget(int64(cfg.MaxDecodedRecords)), fetchBudget: newBudget(cfg.MaxFetchedBytes)}, nil
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
// not committed; the next run re-forms it from its intent. A worker's error (other than the
// end of ctx or of a group generation) stops Run with that error.
func (r *Runner) Run(ctx context.Context) error {
	// Two runners on one state directory would overwrite each other's intents.
	lock, err := fsx.LockDir(r.stateDir())
	if err != nil {
		return fmt.Errorf("kafka: runner: state dir: %w", err)
	}
	defer lock.Close()
	in, err := openIntents(r.stateDir())
	if err != nil {
		return err
	}
	r.intents = in
	r.leaveDeadMember(ctx)
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                r.cfg.Group,
		Brokers:           r.cfg.Brokers,
		Dialer:            r.dialer,
		Topics:            r.topics,
		HeartbeatInterval: time.Second,
		SessionTimeout:    r.cfg.SessionTimeout,
		RebalanceTimeout:  r.cfg.SessionTimeout,
		JoinGroupBackoff:  500 * time.Millisecond,
		StartOffset:       kafkago.FirstOffset,
		ErrorLogger:       slogPrintf{r.log},
	})
	if err != nil {
		return fmt.Errorf("kafka: runner: %w", err)
	}
	r.dlq = newDeadLetterWriter(r.cfg)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer func() {
		if err := r.dlq.Close(); err != nil {
			r.log.Warn("dead-letter writer close", "err", err)
		}
	}()
	defer cg.Close() // leaves the group and waits for the workers of the current generation

	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, kafkago.RebalanceInProgress) {
				continue
			}
			// Kafka is unreachable or refused the group: fail, so that whoever runs the
			// runner (the pipeline supervisor) reports it and restarts it with backoff.
			// Nothing uncommitted is lost: a restart re-forms batches from their intents.
			cancel(fmt.Errorf("kafka: runner: consumer group %s: %w", r.cfg.Group, err))
			break
		}
		n := 0
		for topic, parts := range gen.Assignments {
			for _, pa := range parts {
				n++
				key := tp{topic, pa.ID}
				gen.Start(func(gctx context.Context) {
					// The worker ends with the generation (a rebalance) or with Run.
					wctx, stop := context.WithCancel(ctx)
					defer stop()
					defer context.AfterFunc(gctx, stop)()
					if err := r.runPartition(wctx, gen, key, pa.Offset); err != nil && wctx.Err() == nil {
						cancel(err)
					}
				})
			}
		}
		r.log.Info("consumer group generation", "generation", gen.ID, "member", gen.MemberID, "partitions", n)
		r.rememberMember(gen.MemberID)
	}
	cg.Close()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (r *Runner) stateDir() string { return filepath.Join(r.cfg.StateDir, r.cfg.Group) }

// runPartition consumes one partition from offset until ctx ends: its fetch loop reads ahead
// and forms a batch, its flush loop writes the batch to the sinks and commits it.
func (r *Runner) runPartition(ctx context.Context, gen committer, key tp, offset int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One batch per partition: the batcher waits for the flusher to hand it back, while the
	// reader keeps fetching ahead. Decoded records are what take memory (a flowlog.Record is
	// about 1 KB), so this bounds the process to MaxRecords × partitions of them.
	batches := make(chan *partState)
	free := make(chan *partState, 1)
	var flushErr error
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		if flushErr = r.flushLoop(ctx, gen, batches, free); flushErr != nil {
			cancel() // stop fetching: the batch in hand cannot be committed after a failed one
		}
	}()
	stopped := func() error {
		if flushErr != nil {
			return flushErr
		}
		return context.Canceled
	}
	cut := func(ctx context.Context, st *partState) (*partState, error) {
		select {
		case batches <- st:
		case <-flushed:
			return nil, stopped()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		select {
		case next := <-free:
			return next, nil
		case <-flushed:
			return nil, stopped()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b := newBatcher(r, key, offset, cut)
	err := r.fetchLoop(ctx, b, offset)
	cancel()
	<-flushed
	b.cur.giveBack(r.budget)
	r.release(b.cur)
	r.budget.give(max(b.credit, 0))
	if flushErr != nil {
		return flushErr
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
