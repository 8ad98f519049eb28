package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
)

// TestBrokerOutage stops the broker under load: writes keep returning quickly (memory queue,
// then disk spill), and once the broker is back on the same address and data dir, every
// record reaches the lake in order per key.
func TestBrokerOutage(t *testing.T) {
	dataDir := t.TempDir()
	b := startBroker(t, "", dataDir)
	addr := b.Addr()

	cfg := DefaultProducerConfig()
	cfg.Brokers = []string{addr}
	cfg.Spill.Dir = t.TempDir()
	cfg.Spill.SegmentBytes = 256 << 10
	cfg.QueueBytes = 256 << 10 // small, so that the outage reaches the disk spill
	cfg.BlockTimeout = 50 * time.Millisecond
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = 50*time.Millisecond, 300*time.Millisecond
	cfg.WriteTimeout = 2 * time.Second
	p, _ := runProducer(t, cfg)

	seq := map[string]uint64{}
	total := 0
	var slowest time.Duration
	write := func(n int) {
		recs := makeRecords(n, 23, 7, seq)
		total += len(recs)
		start := time.Now()
		if err := p.WriteRecords(context.Background(), recs); err != nil {
			t.Fatalf("WriteRecords: %v", err)
		}
		slowest = max(slowest, time.Since(start))
	}
	for range 10 {
		write(300)
		time.Sleep(10 * time.Millisecond)
	}
	b.Close()
	outageStart := time.Now()
	for time.Since(outageStart) < 1500*time.Millisecond {
		write(300)
		time.Sleep(10 * time.Millisecond)
	}
	if st := p.Stats(); st.Spilled == 0 {
		t.Fatalf("no records spilled during the outage: %+v", st)
	}
	startBroker(t, addr, dataDir)
	for range 10 {
		write(300)
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, 30*time.Second, "spill drained", func() bool {
		r, _ := p.SpillDepth()
		return r == 0 && p.Stats().Produced >= int64(total)
	})
	if slowest > time.Second {
		t.Errorf("a write blocked for %v during the outage", slowest)
	}
	st := p.Stats()
	if st.Dropped != 0 {
		t.Fatalf("producer dropped %d records", st.Dropped)
	}
	t.Logf("records %d, spilled %d, produce errors %d, slowest write %v", total, st.Spilled, st.Errors, slowest)

	// Consume everything.
	b2addr := addr
	lake := t.TempDir()
	rcfg := testRunnerConfig(t, b2addr, t.TempDir())
	rcfg.Group = "g-outage"
	rcfg.MaxRecords = 2000
	startRunner(t, rcfg, &fileSink{dir: lake})
	waitFor(t, 30*time.Second, "all records consumed", func() bool { return lakeLines(t, lake) >= total })
	time.Sleep(300 * time.Millisecond) // let any duplicate batch land before counting
	got := checkLake(t, readLake(t, lake))
	uniq := map[string]bool{}
	for i := range got {
		uniq[string(flowlog.AppendJSON(nil, &got[i]))] = true
	}
	if len(uniq) != total {
		t.Fatalf("%d distinct records consumed, %d written", len(uniq), total)
	}
	if len(got) != total {
		t.Logf("%d duplicates in Kafka (produce retried after a lost acknowledgement)", len(got)-total)
	} else {
		checkOrder(t, got, seq)
	}
}
