package loopback

import (
	"context"
	"testing"
)

// BenchmarkLoopback compares, in one run, the packets/s the collector takes in on loopback
// with a bare recvmmsg receive-and-discard loop (same sockets, same sender: the replay
// package at top speed), and counts the collector's kernel drops when fed at half the bare
// loop's rate (Run; `go run ./bench/collector` prints the same). Run it with
// -benchtime=1x: each iteration sends 3×200k packets.
func BenchmarkLoopback(b *testing.B) {
	for b.Loop() {
		res, err := Run(context.Background(), DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.BarePPS, "bare-pps")
		b.ReportMetric(res.CollectorPPS, "collector-pps")
		b.ReportMetric(res.Ratio, "ratio")
		b.ReportMetric(res.DropsAtHalf, "drops-at-half")
	}
}
