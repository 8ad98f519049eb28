package sinktest

import (
	"context"
	"hash/fnv"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/sinks"
)

// Generated returns the records of `flowtap generate --interval 60 --seed 7` (the default
// topology) over [start, start+minutes), the data the sink benchmarks use.
func Generated(tb testing.TB, start time.Time, minutes int) []flowlog.Record {
	tb.Helper()
	topo, err := topology.Build(topology.DefaultSpec(), 7)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := generate.DefaultConfig()
	cfg.Seed = 7
	cfg.Start = start
	cfg.End = start.Add(time.Duration(minutes) * time.Minute)
	var w collector
	g, err := generate.New(cfg, topo, &w, nil, component.Deps{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return w
}

// collector keeps generated records in memory.
type collector []flowlog.Record

func (c *collector) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	*c = append(*c, recs...)
	return nil
}

// Batches splits recs as the Kafka sink receives them from topic: per partition keyed by
// Record.Key (FNV-1a, as the producer's lanes), each record decoded from the producer's
// JSON with its strings in one arena per partition (as the runner's), in batches of up to
// maxRecords with consecutive offsets.
func Batches(tb testing.TB, topic string, recs []flowlog.Record, partitions, maxRecords int) []*sinks.Batch {
	tb.Helper()
	parts := make([][]flowlog.Record, partitions)
	arenas := make([]flowlog.Strings, partitions)
	var js []byte
	for i := range recs {
		h := fnv.New32a()
		h.Write([]byte(recs[i].Key()))
		p := h.Sum32() % uint32(partitions)
		js = flowlog.AppendJSON(js[:0], &recs[i])
		var r flowlog.Record
		if err := flowlog.ParseJSONCopy(js, &r, &arenas[p]); err != nil {
			tb.Fatal(err)
		}
		r.Kind = recs[i].Kind // the runner takes it from the message's kind header
		parts[p] = append(parts[p], r)
	}
	var out []*sinks.Batch
	for p, rs := range parts {
		var first int64
		for len(rs) > 0 {
			k := min(len(rs), maxRecords)
			out = append(out, &sinks.Batch{Topic: topic, Partition: p, FirstOffset: first, LastOffset: first + int64(k) - 1,
				Records: rs[:k]})
			rs, first = rs[k:], first+int64(k)
		}
	}
	return out
}
