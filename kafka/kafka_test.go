package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/sinks"
)

func testProducer(t testing.TB, addr string) (*Producer, context.CancelFunc) {
	t.Helper()
	cfg := DefaultProducerConfig()
	cfg.Brokers = []string{addr}
	cfg.Spill.Dir = t.TempDir()
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = 50*time.Millisecond, 300*time.Millisecond
	cfg.WriteTimeout = 3 * time.Second
	return runProducer(t, cfg)
}

// runProducer runs a producer of cfg until the test ends or cancel is called.
func runProducer(t testing.TB, cfg ProducerConfig) (*Producer, context.CancelFunc) {
	t.Helper()
	p, err := NewProducer(cfg, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go p.Run(ctx)
	t.Cleanup(func() { cancel(); <-p.Done() })
	return p, cancel
}

func testRunnerConfig(t testing.TB, addr, stateDir string) RunnerConfig {
	cfg := DefaultRunnerConfig()
	cfg.Brokers = []string{addr}
	cfg.StateDir = stateDir
	cfg.MaxRecords = 700
	cfg.MaxAge = 500 * time.Millisecond
	cfg.SinkBackoffMin, cfg.SinkBackoffMax = 50*time.Millisecond, 400*time.Millisecond
	cfg.SessionTimeout = 6 * time.Second
	cfg.FetchMaxWait = 100 * time.Millisecond
	return cfg
}

// runRunner starts r and returns a stop function that waits for Run to return.
func runRunner(t testing.TB, r *Runner) (stop func() error) { return testenv.Run(t, r).Stop }

// startRunner makes a runner of cfg writing to dest and runs it (see runRunner).
func startRunner(t testing.TB, cfg RunnerConfig, dest ...sinks.Sink) (stop func() error) {
	t.Helper()
	r, err := NewRunner(cfg, dest, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return runRunner(t, r)
}

// waitLake waits up to timeout for n records in the lake and returns them, checked: no
// two objects overlap (a duplicate), exactly n records, each key's records in order.
func waitLake(t testing.TB, lake string, n int, seq map[string]uint64, timeout time.Duration) []flowlog.Record {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d records in the lake", n), func() bool { return lakeLines(t, lake) >= n })
	got := checkLake(t, readLake(t, lake))
	if len(got) != n {
		t.Fatalf("lake has %d records, want %d", len(got), n)
	}
	checkOrder(t, got, seq)
	return got
}

func committed(b *broker.Broker, group, topic string, partition int) int64 {
	gi := b.Cluster().GroupInfo(group)
	if gi == nil {
		return -1
	}
	c, ok := gi.Commits[topic][int32(partition)]
	if !ok {
		return -1
	}
	return c.Offset
}

// checkOrder asserts that each key's sequence numbers (in Packets) appear as 1..n in order.
func checkOrder(t testing.TB, recs []flowlog.Record, want map[string]uint64) {
	t.Helper()
	next := map[string]uint64{}
	for _, r := range recs {
		k := r.Key()
		if r.Packets != next[k]+1 {
			t.Fatalf("key %s: got sequence %d after %d", k, r.Packets, next[k])
		}
		next[k] = r.Packets
	}
	for k, n := range want {
		if next[k] != n {
			t.Fatalf("key %s: %d records arrived, want %d", k, next[k], n)
		}
	}
}

func TestProduceConsume(t *testing.T) {
	b, p := brokerAndProducer(t)
	seq := map[string]uint64{}
	sent := writeRounds(t, p, seq, 10, 500, 37, 5)
	want := map[string][]byte{}
	for i := range sent {
		want[sent[i].Key()+"/"+strconv.FormatUint(sent[i].Packets, 10)] = flowlog.AppendJSON(nil, &sent[i])
	}

	lake := t.TempDir()
	sink := &fileSink{dir: lake}
	const group = "g-produce-consume"
	var commitViolations int
	var mu sync.Mutex
	sink.check = func(bt *sinks.Batch) error {
		// The batch is not durable yet: its offsets must not be committed.
		if c := committed(b, group, bt.Topic, bt.Partition); c > bt.FirstOffset {
			mu.Lock()
			commitViolations++
			mu.Unlock()
		}
		return nil
	}
	sink.fail.Store(2) // the first two writes fail: the batch must be retried, not skipped
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = group
	startRunner(t, cfg, sink)

	got := waitLake(t, lake, len(sent), seq, 30*time.Second)
	for i := range got {
		k := got[i].Key() + "/" + strconv.FormatUint(got[i].Packets, 10)
		if string(flowlog.AppendJSON(nil, &got[i])) != string(want[k]) {
			t.Fatalf("record %s differs:\n got %s\nwant %s", k, flowlog.AppendJSON(nil, &got[i]), want[k])
		}
	}
	if commitViolations != 0 {
		t.Fatalf("%d batches had offsets committed before the sink returned", commitViolations)
	}
	// Every partition's committed offset reaches its high watermark.
	for _, topic := range []string{TopicVPC, TopicTGW} {
		for _, pi := range b.Cluster().PartitionInfos(topic) {
			waitFor(t, 10*time.Second, "commit at high watermark", func() bool {
				return committed(b, group, topic, int(pi.Partition)) == b.Cluster().PartitionInfo(topic, pi.Partition).HighWatermark ||
					b.Cluster().PartitionInfo(topic, pi.Partition).HighWatermark == 0
			})
		}
	}
	if s := p.Stats(); s.Produced != int64(len(sent)) || s.Dropped != 0 {
		t.Fatalf("producer stats %+v, want %d produced", s, len(sent))
	}
}

// TestCrashBetweenIntentAndCommit kills the runner after its sinks wrote a batch but before
// the commit; the restarted runner must re-form exactly that batch (the lake must have no
// overlapping objects) and lose nothing.
func TestCrashBetweenIntentAndCommit(t *testing.T) {
	b, p := brokerAndProducer(t)
	seq := map[string]uint64{}
	total := len(writeRounds(t, p, seq, 6, 400, 11, 0))
	lake, state := t.TempDir(), t.TempDir()
	sink := &fileSink{dir: lake}
	cfg := testRunnerConfig(t, b.Addr(), state)
	cfg.Group = "g-crash"
	cfg.MaxRecords = 250
	cfg.MaxAge = 200 * time.Millisecond

	r1, err := NewRunner(cfg, []sinks.Sink{sink}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	crashed := make(chan struct{})
	var once sync.Once
	batches := 0
	r1.beforeCommit = func(*sinks.Batch) error {
		batches++
		if batches == 3 {
			once.Do(func() { close(crashed) })
			return errors.New("simulated crash before commit")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r1.Run(ctx) }()
	select {
	case <-crashed:
	case <-time.After(30 * time.Second):
		t.Fatal("runner never reached its third batch")
	}
	if err := <-errc; err == nil || err.Error() != "simulated crash before commit" {
		t.Fatalf("first runner returned %v", err)
	}
	cancel()
	if len(readLake(t, lake)) < 3 {
		t.Fatalf("lake has %d objects before restart, want ≥ 3", len(readLake(t, lake)))
	}

	// A different cut on restart (smaller batches, no age cut) would overlap the object of the
	// crashed batch unless the intent is honoured.
	cfg.MaxRecords = 97
	startRunner(t, cfg, sink)
	waitLake(t, lake, total, seq, 30*time.Second)
}

func TestPoisonMessageDeadLettered(t *testing.T) {
	b := startBroker(t, "", t.TempDir())
	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addr()), Topic: TopicVPC, Balancer: &kafkago.Hash{}, BatchTimeout: time.Millisecond}
	defer w.Close()
	seq := map[string]uint64{}
	good := makeRecords(20, 1, 0, seq) // one key: one partition
	var msgs []kafkago.Message
	for i := range good {
		msgs = append(msgs, kafkago.Message{Key: []byte(good[i].Key()), Value: flowlog.AppendJSON(nil, &good[i])})
		if i == 9 {
			msgs = append(msgs, kafkago.Message{Key: []byte(good[i].Key()), Value: []byte(`{"srcport": nope`)})
		}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	lake := t.TempDir()
	sink := &fileSink{dir: lake}
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-poison"
	startRunner(t, cfg, sink)
	waitLake(t, lake, len(good), seq, 20*time.Second)

	rd := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "dlq-check", Topic: TopicDeadLetter,
		MaxWait: 100 * time.Millisecond, StartOffset: kafkago.FirstOffset})
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := rd.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != `{"srcport": nope` {
		t.Fatalf("dead letter value %q", m.Value)
	}
	hs := map[string]string{}
	for _, h := range m.Headers {
		hs[h.Key] = string(h.Value)
	}
	if hs[HeaderDLQTopic] != TopicVPC || hs[HeaderDLQOffset] != "10" || hs[HeaderDLQReason] == "" || hs[HeaderDLQPartition] == "" {
		t.Fatalf("dead letter headers %v", hs)
	}
	// The partition kept flowing: its commit passed the poison message.
	part, _ := strconv.Atoi(hs[HeaderDLQPartition])
	waitFor(t, 10*time.Second, "commit past the poison message", func() bool {
		return committed(b, cfg.Group, TopicVPC, part) == int64(len(msgs))
	})
}

// TestSinkBackoff: a sink that always fails is retried with exponential backoff, not in a
// tight loop, and the batch is never committed.
func TestSinkBackoff(t *testing.T) {
	b, p := brokerAndProducer(t)
	seq := map[string]uint64{}
	if err := p.WriteRecords(context.Background(), makeRecords(50, 1, 0, seq)); err != nil {
		t.Fatal(err)
	}
	sink := &fileSink{dir: t.TempDir()}
	sink.fail.Store(1 << 40)
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-backoff"
	cfg.SinkBackoffMin, cfg.SinkBackoffMax = 100*time.Millisecond, time.Second
	r, err := NewRunner(cfg, []sinks.Sink{sink}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	stop := runRunner(t, r)
	waitFor(t, 20*time.Second, "first sink attempt", func() bool { return sink.writes.Load() > 0 })
	time.Sleep(2 * time.Second)
	stop()
	// Backoff 100, 200, 400, 800 ms (±20 %) fits at most ~6 attempts in 2 s; a spinning
	// runner would make thousands.
	if n := sink.writes.Load(); n < 2 || n > 8 {
		t.Fatalf("%d sink attempts in ~2 s; want a handful (backoff)", n)
	}
	if n := counterVecSum(r.m.sinkErrors); n != float64(sink.writes.Load()) {
		t.Fatalf("sink error metric %v, attempts %d", n, sink.writes.Load())
	}
	for _, pi := range b.Cluster().PartitionInfos(TopicVPC) {
		if c := committed(b, cfg.Group, TopicVPC, int(pi.Partition)); c > 0 {
			t.Fatalf("partition %d committed at %d although the sink never succeeded", pi.Partition, c)
		}
	}
}
