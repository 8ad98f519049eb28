package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

// TestProducerBatchBytesByCodec: without compression a produce request must fit the
// broker's message.max.bytes as it is, so batches are capped there; compressed ones may be
// larger uncompressed.
func TestProducerBatchBytesByCodec(t *testing.T) {
	if DefaultProducerConfig().BatchBytes <= MaxMessageBytes {
		t.Fatal("the default batch is no larger than a message: nothing to test")
	}
	for codec, want := range map[string]int64{"none": MaxMessageBytes, "lz4": DefaultProducerConfig().BatchBytes} {
		cfg := DefaultProducerConfig()
		cfg.Compression, cfg.Spill.Dir = codec, t.TempDir()
		p, err := NewProducer(cfg, component.Deps{Log: testenv.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if p.cfg.BatchBytes != want || p.sender.batchBytes != want {
			t.Errorf("%s: batch bytes %d (sender %d), want %d", codec, p.cfg.BatchBytes, p.sender.batchBytes, want)
		}
	}
}

// TestBatchLargerThanFetchConsumed: one key's records in full default batches (4 MiB
// uncompressed, ~200 KiB with lz4 for these records) read by a runner with the default
// batch and budget settings but 32 KiB fetches all reach the sink: the broker returns a
// batch larger than a fetch whole, and one batch's records fit the decoded-record budget.
func TestBatchLargerThanFetchConsumed(t *testing.T) {
	b := startBroker(t, "", "")
	p, _ := testProducer(t, b.Addr())
	seq := map[string]uint64{}
	recs := makeRecords(12000, 1, 0, seq) // one ENI: one lane, one partition
	if size := avgJSON(recs) * int64(len(recs)); size < DefaultProducerConfig().BatchBytes {
		t.Fatalf("%d bytes of records do not fill a batch", size)
	}
	if err := p.WriteRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "records produced", func() bool { return p.Stats().Produced == int64(len(recs)) })
	sink := &countSink{}
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = fmt.Sprintf("bigbatch-%d", time.Now().UnixNano())
	cfg.MaxRecords, cfg.FetchMaxBytes = DefaultRunnerConfig().MaxRecords, 32<<10
	r, err := NewRunner(cfg, []sinks.Sink{sink}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, r)
	waitFor(t, 30*time.Second, "every record in the sink", func() bool { return sink.n.Load() >= int64(len(recs)) })
	if n := sink.n.Load(); n != int64(len(recs)) {
		t.Fatalf("sink got %d records, produced %d", n, len(recs))
	}
}
