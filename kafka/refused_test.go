package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

// refusal is a permanent sink error, as a 4xx refusal of the data.
type refusal struct{ msg string }

func (e *refusal) Error() string   { return e.msg }
func (e *refusal) Permanent() bool { return true }

// notForGood says Permanent() false: it must be retried like any other error.
type notForGood struct{}

func (notForGood) Error() string   { return "unauthorized (fixable)" }
func (notForGood) Permanent() bool { return false }

func TestIsPermanent(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("plain"), false},
		{&refusal{"x"}, true},
		{fmt.Errorf("wrapped: %w", &refusal{"x"}), true},
		{errors.Join(errors.New("a"), fmt.Errorf("b: %w", &refusal{"x"})), true},
		{notForGood{}, false},
		{fmt.Errorf("wrapped: %w", notForGood{}), false},
	} {
		if got := sinks.IsPermanent(c.err); got != c.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestPermanentSinkErrorDeadLettersTheBatch: sink "refusing" refuses one batch for good and
// sink "flaky" fails that same batch once (transiently). The refused batch goes to the
// dead-letter topic, exactly once and whole, with a reason naming the sink; "flaky" is retried
// until it has it; the partition keeps flowing to its high watermark, and every commit waits
// for both sinks. Transient errors of "refusing" are still retried.
func TestPermanentSinkErrorDeadLettersTheBatch(t *testing.T) {
	b, p := brokerAndProducer(t)
	seq := map[string]uint64{}
	sent := writeRounds(t, p, seq, 3, 300, 1, 0) // one ENI: one partition, offsets = sequence-1
	key := sent[0].Key()
	const group = "g-refused"
	const refusedFirst = 250

	var mu sync.Mutex
	var early []string // commits seen before both sinks had a batch
	checkCommit := func(bt *sinks.Batch) {
		if c := committed(b, group, bt.Topic, bt.Partition); c > bt.FirstOffset {
			mu.Lock()
			early = append(early, fmt.Sprintf("%d>%d", c, bt.FirstOffset))
			mu.Unlock()
		}
	}
	refusing := &fileSink{name: "refusing", dir: t.TempDir()}
	refusing.fail.Store(2) // transient: the first two writes fail and must be retried
	var refusedLast atomic.Int64
	refusing.check = func(bt *sinks.Batch) error {
		checkCommit(bt)
		if bt.FirstOffset == refusedFirst {
			refusedLast.Store(bt.LastOffset)
			return fmt.Errorf("refusing: %w", &refusal{"line too long for the server"})
		}
		return nil
	}
	flaky := &fileSink{name: "flaky", dir: t.TempDir()}
	var flakyFailed atomic.Bool
	flaky.check = func(bt *sinks.Batch) error {
		checkCommit(bt)
		if bt.FirstOffset == refusedFirst && flakyFailed.CompareAndSwap(false, true) {
			return errors.New("flaky: connection reset")
		}
		return nil
	}

	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = group
	cfg.MaxRecords = 250
	r, err := NewRunner(cfg, []sinks.Sink{refusing, flaky}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, r)

	part := laneOf(key, len(b.Cluster().PartitionInfos(TopicVPC)))
	waitFor(t, 30*time.Second, "commit at the high watermark", func() bool {
		return committed(b, group, TopicVPC, part) == int64(len(sent))
	})
	last := refusedLast.Load()
	if last < refusedFirst {
		t.Fatal("the refused batch never reached the sink")
	}
	refusedN := int(last - refusedFirst + 1)

	// "flaky" has everything, "refusing" everything but the refused batch.
	if got := checkLake(t, readLake(t, flaky.dir)); len(got) != len(sent) {
		t.Fatalf("flaky sink has %d records, want %d", len(got), len(sent))
	} else {
		checkOrder(t, got, seq)
	}
	got := checkLake(t, readLake(t, refusing.dir))
	if len(got) != len(sent)-refusedN {
		t.Fatalf("refusing sink has %d records, want %d", len(got), len(sent)-refusedN)
	}
	for _, rec := range got {
		if off := int64(rec.Packets - 1); off >= refusedFirst && off <= last {
			t.Fatalf("refusing sink holds record at offset %d of the refused batch", off)
		}
	}
	if !flakyFailed.Load() || flaky.writes.Load() < 5 {
		t.Fatalf("flaky sink: failed once %v, %d writes", flakyFailed.Load(), flaky.writes.Load())
	}
	if refusing.writes.Load() < 2+int64(len(readLake(t, refusing.dir)))+1 {
		t.Fatalf("refusing sink: %d writes; the two transient failures were not retried", refusing.writes.Load())
	}
	if len(early) > 0 {
		t.Fatalf("offsets committed before the sinks returned: %v", early)
	}

	// The dead-letter topic holds exactly the refused batch, in order, with its origin.
	rd := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "dlq-check-refused",
		Topic: TopicDeadLetter, MaxWait: 100 * time.Millisecond, StartOffset: kafkago.FirstOffset})
	defer rd.Close()
	for i := range refusedN + 1 {
		timeout := 20 * time.Second
		if i == refusedN {
			timeout = time.Second // nothing more may follow
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		m, err := rd.FetchMessage(ctx)
		cancel()
		if i == refusedN {
			if err == nil {
				t.Fatalf("dead-letter topic holds more than the refused batch: offset %s", hdr(m, HeaderDLQOffset))
			}
			break
		}
		if err != nil {
			t.Fatalf("dead letter %d of %d: %v", i, refusedN, err)
		}
		off := int64(refusedFirst + i)
		want := &sent[off]
		reason := hdr(m, HeaderDLQReason)
		if !strings.Contains(reason, "sink refusing") || !strings.Contains(reason, "line too long for the server") {
			t.Fatalf("dead letter reason %q", reason)
		}
		if hdr(m, HeaderDLQTopic) != TopicVPC || hdr(m, HeaderDLQPartition) != strconv.Itoa(part) ||
			hdr(m, HeaderDLQOffset) != strconv.FormatInt(off, 10) || hdr(m, HeaderKind) != "vpc" || string(m.Key) != key {
			t.Fatalf("dead letter %d: key %q headers %v", i, m.Key, m.Headers)
		}
		if string(m.Value) != string(flowlog.AppendJSON(nil, want)) {
			t.Fatalf("dead letter %d value\n got %s\nwant %s", i, m.Value, flowlog.AppendJSON(nil, want))
		}
	}
	if v := testutil.ToFloat64(r.m.deadLettered.WithLabelValues(TopicVPC, "refused:refusing")); v != float64(refusedN) {
		t.Fatalf("dead-lettered metric %v, want %d", v, refusedN)
	}
	if v := testutil.ToFloat64(r.m.sinkErrors.WithLabelValues("refusing")); v != 3 {
		t.Fatalf("refusing sink errors %v, want 3 (two transient, one refusal)", v)
	}
}

// TestNotPermanentIsRetried: an error whose Permanent() is false blocks the batch as any
// transient error does; nothing is dead-lettered or committed.
func TestNotPermanentIsRetried(t *testing.T) {
	b, p := brokerAndProducer(t)
	if err := p.WriteRecords(context.Background(), makeRecords(20, 1, 0, map[string]uint64{})); err != nil {
		t.Fatal(err)
	}
	sink := &fileSink{dir: t.TempDir()}
	sink.check = func(*sinks.Batch) error { return fmt.Errorf("push: %w", notForGood{}) }
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-not-permanent"
	r, err := NewRunner(cfg, []sinks.Sink{sink}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	stop := runRunner(t, r)
	waitFor(t, 20*time.Second, "three attempts", func() bool { return sink.writes.Load() >= 3 })
	stop()
	if v := counterVecSum(r.m.deadLettered); v != 0 {
		t.Fatalf("%v messages dead-lettered for a retryable error", v)
	}
	for _, pi := range b.Cluster().PartitionInfos(TopicVPC) {
		if c := committed(b, cfg.Group, TopicVPC, int(pi.Partition)); c > 0 {
			t.Fatalf("partition %d committed at %d", pi.Partition, c)
		}
	}
}

func hdr(m kafkago.Message, key string) string { return headerValue(m.Headers, key) }
