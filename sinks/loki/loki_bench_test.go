package loki

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/sinktest"
)

// benchBatch is a batch of n VPC records over 300 interfaces, each interface's roughly in
// time order (starts jitter within a minute, as a flow's start is not when it is written),
// each parsed from its own line as the Kafka path delivers them (no two records
// share the memory of their strings).
func benchBatch(b *testing.B, n int) *sinks.Batch {
	recs := make([]flowlog.Record, n)
	for i := range recs {
		eni := i % 300
		line := fmt.Sprintf("5 %d eni-%017x 10.%d.%d.%d 52.%d.%d.17 %d 443 6 %d %d %d %d ACCEPT OK us-east-1 ingress",
			123456789012+eni%3, 0x0a1b2c3d4e5f0000+eni, eni%6, eni/250, 1+eni%250, i%200, i%7,
			1024+i%50000, 1+i%40, 40+i%9000, 1767225600+i/300-(i/300*37)%60, 1767225660+i/300)
		if err := v5.Parse(&recs[i], line); err != nil {
			b.Fatal(err)
		}
	}
	return &sinks.Batch{Topic: "flowlogs", Partition: 0, Records: recs}
}

// BenchmarkWrite measures a batch becoming pushes (stream grouping, line rendering,
// protobuf encoding, snappy) against a server that reads and discards each push; it
// reports wall and CPU (of the whole test process, server included) ns per record: on a
// shared machine compare cpu-ns/record.
func BenchmarkWrite(b *testing.B) {
	benchmarkWrite(b, []*sinks.Batch{benchBatch(b, 20_000)})
}

// BenchmarkWriteGenerated is BenchmarkWrite over what the sink gets in bench/pipeline:
// four minutes of `flowtap generate --interval 60 --seed 7` VPC records, keyed to four
// partitions by interface as the producer does, each partition's first 20 000 records
// a batch, decoded from the producer's JSON with their strings in one arena per batch as
// the Kafka runner does.
func BenchmarkWriteGenerated(b *testing.B) {
	benchmarkWrite(b, generatedBatches(b, 4, 20_000))
}

func benchmarkWrite(b *testing.B, batches []*sinks.Batch) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL = srv.URL
	s, err := New(cfg, component.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	n := 0
	for i := 0; i < b.N; i++ {
		batch := batches[i%len(batches)]
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch.Records)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/record")
}

// generatedBatches is generated flow records split as the Kafka sink receives them (see
// sinktest.Batches): the first batch of up to size records of each partition.
func generatedBatches(b *testing.B, partitions, size int) []*sinks.Batch {
	recs := sinktest.Generated(b, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 4)
	var firsts []*sinks.Batch
	for _, batch := range sinktest.Batches(b, "flowlogs", recs, partitions, size) {
		if batch.FirstOffset == 0 {
			firsts = append(firsts, batch)
		}
	}
	return firsts
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
