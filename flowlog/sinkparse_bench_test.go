package flowlog_test

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"golang.org/x/sys/unix"
)

// sinkMessages returns n generated VPC records (what bench/pipeline sends) as the producer writes them to Kafka
// (AppendJSON), laid out back to back in one buffer like a decompressed Kafka batch.
func sinkMessages(tb testing.TB, n int) [][]byte {
	tb.Helper()
	topo, err := topology.Build(topology.DefaultSpec(), 7)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := generate.NewFlowGen(topo, generate.FlowConfig{Interval: 60, Rate: float64(n) / 60, VPC: true, Seed: 7})
	if err != nil {
		tb.Fatal(err)
	}
	var c collector
	for w := int64(1714521600); len(c.recs) < n; w += 60 {
		if err := g.Window(context.Background(), w, &c); err != nil {
			tb.Fatal(err)
		}
	}
	var buf []byte
	ends := make([]int, 0, n)
	for i := range c.recs[:n] {
		buf = flowlog.AppendJSON(buf, &c.recs[i])
		ends = append(ends, len(buf))
	}
	msgs := make([][]byte, n)
	start := 0
	for i, end := range ends {
		msgs[i] = buf[start:end:end]
		start = end
	}
	return msgs
}

type collector struct{ recs []flowlog.Record }

func (c *collector) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	c.recs = append(c.recs, recs...)
	return nil
}

// sinkSlots is the number of records the sink decodes into before it writes them out: a
// ~20 MB []Record reused batch after batch, so that every slot parsed into is cold.
const sinkSlots = 20000

// BenchmarkSinkParse parses Kafka messages the way the sink does (kafka.Runner.add): into
// the next slot of a reused batch of sinkSlots records, strings copied into an arena reset
// with each batch. The baseline is ParseJSONCopyGeneric, the decoder without the fast path
// for known keys' values; the two take turns batch by batch, so that the machine's load
// weighs on both alike; fast/generic is the median of their ratios of CPU time over a
// batch. CPU time of the benchmark's thread does not count the time spent waiting for
// another process's turn on a shared machine.
func BenchmarkSinkParse(b *testing.B) {
	msgs := sinkMessages(b, 8192)
	type variant struct {
		parse func([]byte, *flowlog.Record, *flowlog.Strings) error
		slots []flowlog.Record
		arena flowlog.Strings
		spent time.Duration // CPU time
	}
	var dirty flowlog.Groups // of the reusing variant's slots
	reusing := func(data []byte, r *flowlog.Record, a *flowlog.Strings) error {
		set, err := flowlog.ParseJSONReusing(data, r, a, dirty)
		dirty |= set
		return err
	}
	variants := []*variant{{parse: flowlog.ParseJSONCopyGeneric}, {parse: flowlog.ParseJSONCopy}, {parse: reusing}}
	for _, v := range variants {
		v.slots = make([]flowlog.Record, sinkSlots)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ratios, reuseRatios []float64 // fast/generic and reusing/fast of each batch
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += sinkSlots {
		n := min(sinkSlots, b.N-done)
		var spent [3]time.Duration
		for k, v := range variants {
			v.arena.Reset()
			t0 := threadCPU(b)
			for s := 0; s < n; s++ {
				if err := v.parse(msgs[(done+s)%len(msgs)], &v.slots[s], &v.arena); err != nil {
					b.Fatal(err)
				}
			}
			spent[k] = threadCPU(b) - t0
			v.spent += spent[k]
		}
		ratios = append(ratios, float64(spent[1])/float64(spent[0]))
		reuseRatios = append(reuseRatios, float64(spent[2])/float64(spent[1]))
	}
	b.ReportMetric(float64(variants[0].spent)/float64(b.N), "generic-ns/record")
	b.ReportMetric(float64(variants[1].spent)/float64(b.N), "fast-ns/record")
	b.ReportMetric(float64(variants[2].spent)/float64(b.N), "reusing-ns/record")
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "fast/generic")
	slices.Sort(reuseRatios)
	b.ReportMetric(reuseRatios[len(reuseRatios)/2], "reusing/fast")
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU(tb testing.TB) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ts.Nano())
}
