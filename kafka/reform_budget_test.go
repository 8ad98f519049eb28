package kafka

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

// TestReformedBatchesLargerThanTheBudget restarts a runner whose every partition has an
// intent (left by an earlier run with larger batches) covering more records than the whole
// decoded-record budget shared by all of them. A re-formed batch cannot be cut short, so
// partitions that each decoded part of theirs and then waited for room would wait on each
// other for ever; the runner must instead re-form them all, exactly, and go on.
func TestReformedBatchesLargerThanTheBudget(t *testing.T) {
	seq := map[string]uint64{}
	b, total := brokerHolding(t, seq, 8, 1000, 64)

	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-reform-budget"
	cfg.MaxRecords = 100
	cfg.FetchMaxBytes = 16 << 10
	cfg.MaxDecodedRecords = 1 // raised to the floor: MaxRecords + one fetch of small messages
	// The earlier run cut each partition's first 1500 offsets as one batch, then stopped
	// before committing it.
	in, err := openIntents(filepath.Join(cfg.StateDir, cfg.Group))
	if err != nil {
		t.Fatal(err)
	}
	parts := b.Cluster().PartitionInfos(TopicVPC)
	for _, pi := range parts {
		hwm := b.Cluster().PartitionInfo(TopicVPC, pi.Partition).HighWatermark
		if hwm < 1500 {
			t.Fatalf("partition %d has %d messages, want ≥ 1500 for the test", pi.Partition, hwm)
		}
		if err := in.put(Intent{Topic: TopicVPC, Partition: int(pi.Partition), First: 0, Last: 1499}); err != nil {
			t.Fatal(err)
		}
	}

	lake := t.TempDir()
	r, err := NewRunner(cfg, []sinks.Sink{&fileSink{dir: lake}}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if need := int64(len(parts)) * 1500; need <= int64(r.cfg.MaxDecodedRecords) {
		t.Fatalf("the re-formed batches (%d records) fit the budget (%d): the test shows nothing", need, r.cfg.MaxDecodedRecords)
	}
	runRunner(t, r)
	waitLake(t, lake, total, seq, 30*time.Second)
	reformed := 0
	for _, f := range readLake(t, lake) {
		if f.first == 0 {
			if f.last != 1499 {
				t.Fatalf("partition %d: first batch [%d,%d], want the intent's [0,1499]", f.partition, f.first, f.last)
			}
			reformed++
		}
	}
	if reformed != len(parts) {
		t.Fatalf("%d partitions re-formed their intent's batch, want %d", reformed, len(parts))
	}
}
