package kafka

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

// TestInDoubtProduceNotDuplicated makes the broker store produce requests and still answer
// them with an error (NOT_ENOUGH_REPLICAS_AFTER_APPEND: the work is done, the answer says it
// failed), as a broker killed between its write and its reply does. The producer sends
// those records again; the lake must still hold every record exactly once.
func TestInDoubtProduceNotDuplicated(t *testing.T) {
	b := startBroker(t, "", t.TempDir())
	fault := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: TopicVPC,
		Err: kerr.NotEnoughReplicasAfterAppend, Count: 3})
	p, _ := testProducer(t, b.Addr())
	seq := map[string]uint64{}
	total := len(writeRounds(t, p, seq, 4, 600, 29, 0))
	waitFor(t, 20*time.Second, "the faulted produce requests", func() bool { return fault.Hits() == 3 })
	waitFor(t, 20*time.Second, "every record produced", func() bool { return p.Stats().Produced >= int64(total) })
	stored := b.Messages(TopicVPC)
	if stored <= int64(total) {
		t.Fatalf("the broker holds %d messages for %d records: the fault did not store any request twice", stored, total)
	}

	lake := t.TempDir()
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-in-doubt"
	r, err := NewRunner(cfg, []sinks.Sink{&fileSink{dir: lake}}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, r)
	waitFor(t, 30*time.Second, "every partition committed to its end", func() bool {
		for _, pi := range b.Cluster().PartitionInfos(TopicVPC) {
			if committed(b, cfg.Group, TopicVPC, int(pi.Partition)) < pi.HighWatermark {
				return false
			}
		}
		return true
	})
	got := checkLake(t, readLake(t, lake))
	count := map[string]int{}
	for i := range got {
		count[got[i].Key()+"/"+strconv.FormatUint(got[i].Packets, 10)]++
	}
	dups := 0
	for _, n := range count {
		dups += n - 1
	}
	if dups > 0 || len(count) != total {
		t.Fatalf("lake holds %d records (%d distinct, %d duplicates) of %d sent; the broker stored %d", len(got), len(count), dups, total, stored)
	}
	checkOrder(t, got, seq)
}

// TestDedupeDependsOnlyOnThePartition: a message is dropped exactly when its id is among the
// window−1 offsets before it (so the first copy is always kept), and a runner that starts at
// any offset and first reads the window before it drops exactly the same messages as one
// that read the partition from its start.
func TestDedupeDependsOnlyOnThePartition(t *testing.T) {
	const window, n = 64, 2000
	rng := rand.New(rand.NewPCG(1, 2))
	id := func(seq uint64) []kafkago.Header {
		v := binary.BigEndian.AppendUint64([]byte("instance"), seq)
		return []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}, {Key: HeaderID, Value: v}}
	}
	var part []dedupeMsg
	off, seq := int64(0), uint64(0)
	for len(part) < n {
		switch k := rng.IntN(10); {
		case k == 0 && seq > 0: // a re-send of a recent message, sometimes beyond the window
			part = append(part, dedupeMsg{off, id(seq - 1 - uint64(rng.IntN(int(min(seq, 2*window)))))})
		case k == 1: // a message of another producer, without an id
			part = append(part, dedupeMsg{off, nil})
		default:
			part = append(part, dedupeMsg{off, id(seq)})
			seq++
		}
		off += 1 + int64(rng.IntN(20)/19) // now and then a gap in the offsets
	}
	decide := func(start int64) map[int64]bool { return decideFrom(newDedupe(window), window, part, start) }
	all := decide(0)
	// The rule, by brute force: a message with an id is dropped when the same id is at one
	// of the window-1 offsets before it.
	for i, m := range part {
		want := false
		if id, ok := messageID(m.hdr); ok {
			for _, o := range part[:i] {
				if g, ok := messageID(o.hdr); ok && g == id && o.off > m.off-window {
					want = true
				}
			}
		}
		if all[m.off] != want {
			t.Fatalf("offset %d: dropped=%v, want %v", m.off, all[m.off], want)
		}
	}
	dropped := 0
	for _, c := range all {
		if c {
			dropped++
		}
	}
	if dropped == 0 {
		t.Fatal("no copy dropped: the test made none")
	}
	for range 50 {
		start := part[rng.IntN(len(part))].off
		for off, c := range decide(start) {
			if all[off] != c {
				t.Fatalf("start %d: offset %d dropped=%v, from the beginning dropped=%v", start, off, c, all[off])
			}
		}
	}
}

// TestDedupeAcrossRestart: copies of messages that a runner already committed are still
// dropped by the next runner, which starts at the committed offset: it reads the window
// before it first.
func TestDedupeAcrossRestart(t *testing.T) {
	b := startBroker(t, "", t.TempDir())
	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addr()), Topic: TopicVPC, Balancer: &keyHash{}, BatchTimeout: time.Millisecond,
		RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	recs := makeRecords(150, 1, 0, map[string]uint64{}) // one ENI: one partition, in order
	msg := func(i int) kafkago.Message {
		id := binary.BigEndian.AppendUint64([]byte("producer"), uint64(i))
		return kafkago.Message{Key: []byte(recs[i].Key()), Value: flowlog.AppendJSON(nil, &recs[i]),
			Headers: []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}, {Key: HeaderID, Value: id}}}
	}
	write := func(from, to int) {
		var msgs []kafkago.Message
		for i := from; i < to; i++ {
			msgs = append(msgs, msg(i))
		}
		if err := w.WriteMessages(context.Background(), msgs...); err != nil {
			t.Fatal(err)
		}
	}
	lake, state := t.TempDir(), t.TempDir()
	cfg := testRunnerConfig(t, b.Addr(), state)
	cfg.Group = "g-dedupe-restart"
	part := int32(laneOf(recs[0].Key(), 4))
	consume := func(upTo int64) {
		r, err := NewRunner(cfg, []sinks.Sink{&fileSink{dir: lake}}, component.Deps{Log: testenv.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		stop := runRunner(t, r)
		waitFor(t, 30*time.Second, "the partition committed", func() bool { return committed(b, cfg.Group, TopicVPC, int(part)) >= upTo })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 100)
	consume(100)
	write(50, 150) // 50 copies of committed messages (a re-send), then 50 new ones
	consume(200)
	got := checkLake(t, readLake(t, lake))
	if len(got) != 150 {
		t.Fatalf("lake holds %d records, want the 150 distinct ones", len(got))
	}
	checkOrder(t, got, map[string]uint64{recs[0].Key(): 150})
}

// TestMessageIDsUnique: every message a producer queues, VPC, TGW and VPN alike, carries its
// own HeaderID, and another producer's never equal them.
func TestMessageIDsUnique(t *testing.T) {
	seen := map[[idLen]byte]bool{}
	for range 2 {
		cfg := DefaultProducerConfig()
		cfg.Brokers = []string{"127.0.0.1:1"} // never run: the messages stay queued
		cfg.Spill.Dir = t.TempDir()
		cfg.Lanes = 3
		p, err := NewProducer(cfg, component.Deps{Log: testenv.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		seq := map[string]uint64{}
		want := len(writeRounds(t, p, seq, 4, 300, 29, 4)) // every 4th a TGW record; ≥ 256: encoded in parallel
		if err := p.WriteVPN(context.Background(), KindVPNTunnel, "vpn-1_1.2.3.4", [][]byte{[]byte("{}"), []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		want += 2
		got := 0
		for _, l := range p.lanes {
			for _, call := range l.queue {
				for _, m := range call.msgs {
					id, ok := messageID(m.Headers)
					if !ok || headerValue(m.Headers, HeaderKind) == "" {
						t.Fatalf("message of %s without kind or id: %v", m.Topic, m.Headers)
					}
					if seen[id] {
						t.Fatalf("id %x given twice", id)
					}
					seen[id] = true
					got++
				}
			}
		}
		if got != want {
			t.Fatalf("%d messages queued, want %d", got, want)
		}
	}
}

// TestDedupeMatchesItsRule checks observe against the rule written out naively (a copy is
// a message whose id is among the window−1 offsets before it) over random ids drawn from
// a small set, with gaps in the offsets, for windows small enough to wrap many times; and
// the model it is checked against elsewhere, newRefDedupe, the same way.
func TestDedupeMatchesItsRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, window := range []int64{1, 2, 7, 32, 64, 300} {
		d, ref := newDedupe(window), newRefDedupe(window)
		seen := map[int64][idLen]byte{} // offset → id
		var off int64
		copies := 0
		for range 20_000 {
			off += 1 + int64(rng.IntN(3)/2)*int64(rng.IntN(int(2*window)+1)) // mostly +1, sometimes a gap
			var id [idLen]byte
			binary.BigEndian.PutUint64(id[8:], uint64(rng.IntN(int(window)+20)))
			want := false
			for o := off - window + 1; o < off; o++ {
				if prev, ok := seen[o]; ok && prev == id {
					want = true
				}
			}
			seen[off] = id
			delete(seen, off-window)
			hdr := []kafkago.Header{{Key: HeaderID, Value: id[:]}}
			got, model := d.observe(off, hdr), ref.observe(off, hdr)
			if got != want || model != want {
				t.Fatalf("window %d, offset %d: observe = %v, the model's %v, the rule says %v", window, off, got, model, want)
			}
			if got {
				copies++
			}
		}
		if window > 1 && copies == 0 {
			t.Fatalf("window %d: no copy in the draw: the test tests nothing", window)
		}
	}
}

// TestIDIndexAgainstAMap drives the id index half full (where probe runs are long and wrap
// around its end) with random adds and removes of window slots, checking every answer and
// every entry's reachability against a map of the slots.
func TestIDIndexAgainstAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const window = 32 // 64 index slots
	x := newIDIndex(window)
	ids := make([][idLen]byte, window)
	held := map[int64][idLen]byte{} // slot → id
	for range 200_000 {
		slot := int64(rng.IntN(window))
		if old, ok := held[slot]; ok {
			x.remove(slot, &old)
			delete(held, slot)
		} else {
			var id [idLen]byte
			binary.BigEndian.PutUint64(id[:8], uint64(rng.IntN(48)))
			want := false
			for _, other := range held {
				want = want || other == id
			}
			ids[slot] = id
			if got := x.add(ids, slot, &id); got != want {
				t.Fatalf("add(%d, %x) = %v, want %v", slot, id, got, want)
			}
			held[slot] = id
		}
		for slot, id := range held {
			e := uint64(idHash(&id))<<32 | uint64(slot+1)
			i := idHash(&id) & x.mask
			for x.slots[i] != e {
				if x.slots[i] == 0 {
					t.Fatalf("slot %d (%x) unreachable from its home", slot, id)
				}
				i = (i + 1) & x.mask
			}
		}
	}
}
