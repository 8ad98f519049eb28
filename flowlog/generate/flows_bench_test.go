package generate

import (
	"context"
	"io"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks/text"
)

// BenchmarkVPCText measures the generator core with text encoding of the default VPC
// format to io.Discard: records/s/core is the figure to compare with the 2 M/s budget.
func BenchmarkVPCText(b *testing.B) {
	g := benchFlowGen(b)
	generateWindows(b, g, NewTextWriter(io.Discard, flowlog.DefaultVPC, false))
	b.ReportMetric(float64(g.Records())/b.Elapsed().Seconds(), "records/s")
}

// benchFlowGen is the VPC generator of the benchmarks: default topology, 20 000 records/s
// of log time (1.2 M records per 60 s window).
func benchFlowGen(b *testing.B) *FlowGen {
	topo, err := topology.Build(topology.DefaultSpec(), 1)
	if err != nil {
		b.Fatal(err)
	}
	g, err := NewFlowGen(topo, FlowConfig{Interval: 60, Rate: 20000, VPC: true, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// generateWindows has g write whole windows to w, timed, until it has made b.N records.
func generateWindows(b *testing.B, g *FlowGen, w flowlog.RecordWriter) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	win := int64(1700000000 / 60 * 60)
	for g.Records() < int64(b.N) {
		if err := g.Window(ctx, win, w); err != nil {
			b.Fatal(err)
		}
		win += 60
	}
}

// BenchmarkEncodeOnly is the baseline for BenchmarkVPCText in the same run: text encoding
// of already generated records (the part of the budget that belongs to flowlog).
func BenchmarkEncodeOnly(b *testing.B) {
	recs := run(b, FlowConfig{Interval: 60, Rate: 2000, VPC: true, Seed: 1}, 1)
	w := NewTextWriter(io.Discard, flowlog.DefaultVPC, false)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		chunk := recs[:min(len(recs), 4096)]
		if err := w.WriteRecords(ctx, chunk); err != nil {
			b.Fatal(err)
		}
		n += len(chunk)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkGzipFiles measures generation into AWS-layout gzip files (sinks/text Rotator on
// a local directory): the throughput of `flowtap generate --out DIR`.
func BenchmarkGzipFiles(b *testing.B) {
	g := benchFlowGen(b)
	store, err := objstore.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	rot, err := text.NewRotator(text.DefaultRotatorConfig(), store)
	if err != nil {
		b.Fatal(err)
	}
	generateWindows(b, g, rot)
	if err := rot.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(g.Records())/b.Elapsed().Seconds(), "records/s")
}
