package kafka

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/kafka/spill"
)

// TestUnknownTopicGoesToDeadLetter: records for a topic the broker does not have leave the
// spill for the dead-letter file after UndeliverableAfter, counted, instead of holding the
// head of the spill forever; records for the other topic, before and after, are delivered.
func TestUnknownTopicGoesToDeadLetter(t *testing.T) {
	b := startBroker(t, "", t.TempDir())
	cfg := DefaultProducerConfig()
	cfg.Brokers = []string{b.Addr()}
	cfg.Topics.TGW = "flowtap.no-such-topic"
	cfg.Spill.Dir = t.TempDir()
	cfg.WriteTimeout = 2 * time.Second
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = 20*time.Millisecond, 100*time.Millisecond
	cfg.UndeliverableAfter = 300 * time.Millisecond
	p, _ := runProducer(t, cfg)

	seq := map[string]uint64{}
	recs := makeRecords(500, 17, 5, seq) // every 5th a TGW record, for the missing topic
	var vpc, tgw int64
	for i := range recs {
		if recs[i].Kind == flowlog.KindTGW {
			tgw++
		} else {
			vpc++
		}
	}
	if err := p.WriteRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "TGW records dead-lettered and the VPC ones produced", func() bool {
		st := p.Stats()
		r, _ := p.SpillDepth()
		return st.DeadLettered == tgw && st.Produced == vpc && r == 0
	})
	// The head is free: later records go straight through.
	more := makeRecords(200, 17, 0, seq)
	if err := p.WriteRecords(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "later records produced", func() bool { return p.Stats().Produced == vpc+200 })
	if n := b.Messages(TopicVPC); n != vpc+200 {
		t.Fatalf("VPC topic holds %d messages, want %d", n, vpc+200)
	}
	files, _ := filepath.Glob(filepath.Join(p.DeadLetterDir(), "*.seg"))
	var kept int64
	for _, f := range files {
		if !strings.Contains(filepath.Base(f), "unknown_topic") {
			t.Errorf("dead-letter file %s does not name its reason", f)
		}
		msgs, err := spill.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Topic != cfg.Topics.TGW {
				t.Fatalf("dead-letter file holds a message for %s", m.Topic)
			}
		}
		kept += int64(len(msgs))
		if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
			t.Errorf("dead-letter file mode %v, want 0640", st.Mode().Perm())
		}
	}
	if kept != tgw {
		t.Fatalf("dead-letter files hold %d messages, want %d", kept, tgw)
	}
}

// TestSpillKeyedByCluster: what was spilled for unreachable brokers is not sent to other
// brokers that share the spill directory; it stays for a producer to its own brokers.
func TestSpillKeyedByCluster(t *testing.T) {
	spillDir := t.TempDir()
	dead := startBroker(t, "", t.TempDir())
	deadAddr := dead.Addr()
	dead.Close()
	if st := runShort(t, deadAddr, spillDir, 4); st.Spilled != 4 || st.Produced != 0 {
		t.Fatalf("run to the stopped broker: %+v, want 4 spilled", st)
	}
	other := startBroker(t, "", t.TempDir())
	if st := runShort(t, other.Addr(), spillDir, 2); st.Produced != 2 {
		t.Fatalf("run to another broker: %+v, want only its own 2 produced", st)
	}
	if n := other.Messages(TopicVPN); n != 2 {
		t.Fatalf("the other broker holds %d messages, want 2 (the spill of the stopped broker must not reach it)", n)
	}
	// The first broker, back on its address, gets its records from a run to it.
	back := startBroker(t, deadAddr, t.TempDir())
	if st := runShort(t, deadAddr, spillDir, 1); st.Produced != 5 {
		t.Fatalf("run to the first broker again: %+v, want its 4 spilled and 1 new produced", st)
	}
	if n := back.Messages(TopicVPN); n != 5 {
		t.Fatalf("first broker holds %d messages, want 5", n)
	}
}

func TestClusterKey(t *testing.T) {
	a := ClusterKey([]string{"Kafka-2:9092", "kafka-1:9092"})
	if a != ClusterKey([]string{"kafka-1:9092", "kafka-2:9092", "kafka-1:9092"}) {
		t.Fatal("the key depends on broker order, case or repetition")
	}
	if a == ClusterKey([]string{"kafka-1:9092"}) || strings.ContainsAny(a, "/:") {
		t.Fatalf("key %q", a)
	}
	long := make([]string, 40)
	for i := range long {
		long[i] = strings.Repeat("b", 20) + strconv.Itoa(i) + ":9092"
	}
	if k := ClusterKey(long); len(k) > 120 || k == ClusterKey(long[1:]) {
		t.Fatalf("long key %q", k)
	}
}
