package kafka

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// benchMsg is a message of a benchmark partition: its offset and id.
type benchMsg struct {
	off int64
	id  [idLen]byte
}

// BenchmarkDedupe observes partitions' messages in the order the sink's fetch loops hand
// them over (fetchChunk messages of one partition, then the next partition's: their
// windows compete for the cache), with dedupe and with the reference model (the window
// kept one id at a time, newRefDedupe) in turns, and reports each one's CPU ns/message
// (the loop and the header scan, loop-ns/msg, included) and their ratio, new/ref.
//
//   - fresh: four partitions of one producer's ids, one after the other.
//   - producers: 1.4 M messages over 8 partitions from 4 producers, each write spread over
//     every partition in calls of consecutive numbers (a lane per partition, as the
//     Producer sends them), writes of 1 to 4 000 records, one call in 500 sent twice.
func BenchmarkDedupe(b *testing.B) {
	b.Run("fresh", func(b *testing.B) {
		parts := make([][]benchMsg, 4)
		for i := range 1 << 20 {
			m := benchMsg{off: int64(i >> 2)}
			binary.BigEndian.PutUint64(m.id[:8], 0x1234567890abcdef)
			binary.BigEndian.PutUint64(m.id[8:], uint64(i))
			parts[i&3] = append(parts[i&3], m)
		}
		benchDedupe(b, parts, 1)
	})
	b.Run("producers", func(b *testing.B) {
		benchDedupe(b, producedPartitions(rand.New(rand.NewPCG(7, 8)), 1_400_000, 8, 4), 2000)
	})
	b.Run("requests", func(b *testing.B) {
		benchDedupe(b, requestPartitions(rand.New(rand.NewPCG(9, 10)), 1_400_000, 8, 500), 2000)
	})
}

// requestPartitions spreads n messages over partitions as the Firehose receiver writes
// them: each request's records numbered from 0 under the request's own name
// (SourceMessageIDs), each record to the partition of its key, so that a partition holds
// every partitions-th number of a request, about.
func requestPartitions(rng *rand.Rand, n, partitions, perRequest int) [][]benchMsg {
	parts := make([][]benchMsg, partitions)
	for total := 0; total < n; total += perRequest {
		var instance [8]byte
		binary.BigEndian.PutUint64(instance[:], rng.Uint64())
		for seq := range perRequest {
			k := rng.IntN(partitions)
			m := benchMsg{off: int64(len(parts[k]))}
			copy(m.id[:8], instance[:])
			binary.BigEndian.PutUint64(m.id[8:], uint64(seq))
			parts[k] = append(parts[k], m)
		}
	}
	return parts
}

// producedPartitions spreads n messages of the given number of producers over partitions
// as the Producer writes them; see BenchmarkDedupe.
func producedPartitions(rng *rand.Rand, n, partitions, producers int) [][]benchMsg {
	parts := make([][]benchMsg, partitions)
	instances := make([][8]byte, producers)
	next := make([]uint64, producers)
	for i := range instances {
		binary.BigEndian.PutUint64(instances[i][:], rng.Uint64())
	}
	for total := 0; total < n; {
		p := rng.IntN(producers)
		write := 1 + rng.IntN(4000)
		for k := range parts {
			count := write / partitions
			if k < write%partitions {
				count++
			}
			first := next[p]
			next[p] += uint64(count)
			sends := 1
			if rng.IntN(500) == 0 { // a re-send: the call stored twice
				sends = 2
			}
			for range sends {
				for i := range count {
					m := benchMsg{off: int64(len(parts[k]))}
					copy(m.id[:8], instances[p][:])
					binary.BigEndian.PutUint64(m.id[8:], first+uint64(i))
					parts[k] = append(parts[k], m)
					total++
				}
			}
		}
	}
	return parts
}

// benchDedupe observes parts (chunk messages of a partition at a time) b.N times over with
// dedupe and the reference model in turns, each iteration at offsets past the last one's
// (the windows stay warm), and reports both one's ns/message, their ratio, and the heap
// each one's windows take per partition.
func benchDedupe(b *testing.B, parts [][]benchMsg, chunk int) {
	hs := []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}, {Key: HeaderID}}
	span, total := int64(0), 0
	for _, p := range parts {
		span = max(span, p[len(p)-1].off+1)
		total += len(p)
	}
	ds, refs := make([]*dedupe, len(parts)), make([]*idWindow, len(parts))
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	copies := [2]int{}
	// Each pass's time is the CPU time of its thread, which other processes' load on a
	// shared machine moves less than the wall clock.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pass := func(round int64, observe func(k int, off int64, hs []kafkago.Header) bool) (time.Duration, int) {
		start, n := threadCPU(), 0
		for from := 0; ; from += chunk {
			more := false
			for k, p := range parts {
				for i := from; i < min(from+chunk, len(p)); i++ {
					hs[1].Value = p[i].id[:]
					if observe(k, round*span+p[i].off, hs) {
						n++
					}
				}
				more = more || from+chunk < len(p)
			}
			if !more {
				return threadCPU() - start, n
			}
		}
	}
	observeNew := func(k int, off int64, hs []kafkago.Header) bool { return ds[k].observe(off, hs) }
	observeRef := func(k int, off int64, hs []kafkago.Header) bool { return refs[k].observe(off, hs) }
	// The loop and the header scan alone: what both pay apart from their windows.
	observeNone := func(k int, off int64, hs []kafkago.Header) bool { _, ok := messageID(hs); return !ok }
	// The windows' memory, made once and measured.
	h0 := heap()
	for i := range parts {
		ds[i] = newDedupe(DefaultDedupeWindow)
	}
	pass(0, observeNew)
	h1 := heap()
	for i := range parts {
		refs[i] = newRefDedupe(DefaultDedupeWindow)
	}
	pass(0, observeRef)
	h2 := heap()
	var took [3]time.Duration
	b.ResetTimer()
	for i := range b.N {
		t, n := pass(int64(i+1), observeNew)
		took[0], copies[0] = took[0]+t, n
		t, n = pass(int64(i+1), observeRef)
		took[1], copies[1] = took[1]+t, n
		t, _ = pass(int64(i+1), observeNone)
		took[2] += t
		if copies[0] != copies[1] {
			b.Fatalf("dedupe dropped %d messages, the reference model %d", copies[0], copies[1])
		}
	}
	b.StopTimer()
	msgs := float64(b.N * total)
	b.ReportMetric(float64(took[0].Nanoseconds())/msgs, "new-ns/msg")
	b.ReportMetric(float64(took[1].Nanoseconds())/msgs, "ref-ns/msg")
	b.ReportMetric(float64(took[2].Nanoseconds())/msgs, "loop-ns/msg")
	b.ReportMetric(float64(took[0])/float64(took[1]), "new/ref")
	b.ReportMetric(float64(copies[0]), "copies")
	b.ReportMetric(float64(h1-h0)/float64(len(parts)), "new-B/partition")
	b.ReportMetric(float64(h2-h1)/float64(len(parts)), "ref-B/partition")
}

// threadCPU is the CPU time the calling thread has used (Linux's RUSAGE_THREAD).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
