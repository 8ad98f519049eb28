package generate

import (
	"context"
	"io"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
)

// BenchmarkVPCText measures the generator core with text encoding of the default VPC
// format to io.Discard: records/s/core is the figure to compare with the 2 M/s budget.
func BenchmarkVPCText(b *testing.B) {
	topo, err := topology.Build(topology.DefaultSpec(), 1)
	if err != nil {
		b.Fatal(err)
	}
	const rate = 20000 // records/s of log time: 1.2 M records per 60 s window
	g, err := NewFlowGen(topo, FlowConfig{Interval: 60, Rate: rate, VPC: true, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	w := NewTextWriter(io.Discard, flowlog.DefaultVPC, false)
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
	b.ReportMetric(float64(g.Records())/b.Elapsed().Seconds(), "records/s")
}
