package kafka

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TestKeyHashMatchesKafkaGo: the balancer picks kafka-go's Hash partition for every key, and
// with as many lanes as partitions a key's lane is its partition. A lane hint is taken only
// when there are as many partitions as lanes.
func TestKeyHashMatchesKafkaGo(t *testing.T) {
	ours, theirs := &keyHash{}, &kafkago.Hash{}
	for n := 1; n <= 9; n++ {
		parts := make([]int, n)
		for i := range parts {
			parts[i] = i
		}
		for i := range 2000 {
			key := []byte(fmt.Sprintf("eni-%017x", i*7919))
			if i%3 == 0 {
				key = []byte(fmt.Sprintf("tgw-attach-%d", i))
			}
			m := kafkago.Message{Key: key}
			want := theirs.Balance(m, parts...)
			if got := ours.Balance(m, parts...); got != want {
				t.Fatalf("key %s, %d partitions: partition %d, kafka-go says %d", key, n, got, want)
			}
			if got := laneOf(string(key), n); got != want {
				t.Fatalf("key %s: lane %d of %d, partition %d", key, got, n, want)
			}
			hinted := kafkago.Message{Key: key, Partition: laneHint(laneOf(string(key), n))}
			if got := (&keyHash{lanes: n}).Balance(hinted, parts...); got != want {
				t.Fatalf("key %s with its lane hint: partition %d, want %d", key, got, want)
			}
			other := kafkago.Message{Key: key, Partition: laneHint((want + 1) % n)}
			if got := (&keyHash{lanes: n + 1}).Balance(other, parts...); got != want {
				t.Fatalf("key %s: a hint from %d lanes over %d partitions was taken", key, n+1, n)
			}
		}
	}
}

// TestLaneCountChangeKeepsOrder: a producer with 2 lanes spills everything while Kafka is
// unreachable; the next one, with 3 lanes on the same spill dir, must send that spill before
// its own records, so that every key arrives in order.
func TestLaneCountChangeKeepsOrder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now: connections are refused

	spillDir := t.TempDir()
	cfg := DefaultProducerConfig()
	cfg.Spill.Dir = spillDir
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = 20*time.Millisecond, 100*time.Millisecond
	cfg.WriteTimeout = time.Second
	cfg.DrainTimeout = 100 * time.Millisecond

	seq := map[string]uint64{}
	total := 0
	write := func(p *Producer, n int) { total += len(writeRounds(t, p, seq, 1, n, 29, 4)) }

	cfg.Brokers, cfg.Lanes = []string{dead}, 2
	p1, stop1 := runProducer(t, cfg)
	for range 4 {
		write(p1, 250)
		time.Sleep(30 * time.Millisecond)
	}
	stop1()
	<-p1.Done()
	if r, _ := p1.SpillDepth(); r != int64(total) || p1.Stats().Dropped != 0 {
		t.Fatalf("after the outage the spill holds %d of %d records; stats %+v", r, total, p1.Stats())
	}

	b := startBroker(t, dead, t.TempDir()) // the spill is kept for its brokers: same address
	cfg.Brokers, cfg.Lanes = []string{b.Addr()}, 3
	p2, _ := runProducer(t, cfg)
	for range 4 {
		write(p2, 250)
	}
	waitFor(t, 30*time.Second, "everything produced", func() bool {
		r, _ := p2.SpillDepth()
		return r == 0 && p2.Stats().Produced == int64(total)
	})
	if sets, _ := filepath.Glob(filepath.Join(p2.SpillDir(), "set-*-lanes-2")); len(sets) != 0 {
		t.Fatalf("drained two-lane spill still on disk: %v", sets)
	}

	lake := t.TempDir()
	rcfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	rcfg.Group = "g-lanes"
	startRunner(t, rcfg, &fileSink{dir: lake})
	waitLake(t, lake, total, seq, 30*time.Second)
}
