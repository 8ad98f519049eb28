// Command collector compares the packet rate `flowtap collect` takes in on loopback with a
// bare recvmmsg receive-and-discard loop fed by the same replay in the same run, prints both
// figures and their ratio (the DESIGN budget is ≥ 0.9), then the collector's kernel drops
// when fed at half the bare rate (the budget is none).
//
//	go run ./bench/collector [-packets 200000] [-sockets 2] [-rounds 3] [-pcap file]
//
// It runs loopback.Run, the code of BenchmarkLoopback in bench/loopback. Packet rates on a
// shared machine move with the load of other processes: compare the figures of one round.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"

	"github.com/flowtap/flowtap/bench/loopback"
	"github.com/flowtap/flowtap/replay"
)

func main() {
	def := loopback.DefaultConfig()
	packets := flag.Int("packets", def.Packets, "datagrams sent per phase (the capture is looped)")
	sockets := flag.Int("sockets", def.Sockets, "receive sockets (bare loop and collector), collector shards and sender sockets")
	rounds := flag.Int("rounds", 3, "measurements; the median ratio is printed last")
	pcap := flag.String("pcap", "", "capture to replay (default: 1000 UDP flows of 100-byte payloads)")
	timeout := flag.Duration("timeout", def.Timeout, "bound on each phase's send")
	flag.Parse()
	cfg := loopback.Config{Packets: *packets, Sockets: *sockets, Timeout: *timeout}
	if *pcap != "" {
		c, err := replay.ReadFile(*pcap)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/collector:", err)
			os.Exit(1)
		}
		cfg.Capture = c
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/collector:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg loopback.Config, rounds int) error {
	fmt.Printf("collector vs bare recvmmsg loop on 127.0.0.1: %d packets per phase, %d sockets, %d rounds\n", cfg.Packets, cfg.Sockets, rounds)
	var ratios []float64
	for i := range max(1, rounds) {
		res, err := loopback.Run(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Printf("  round %d: bare %.0f pps, collector %.0f pps, ratio %.2f; kernel drops at %.0f pps: %.0f\n",
			i+1, res.BarePPS, res.CollectorPPS, res.Ratio, res.HalfRatePPS, res.DropsAtHalf)
		ratios = append(ratios, res.Ratio)
	}
	sort.Float64s(ratios)
	fmt.Printf("median ratio collector/bare: %.2f (budget ≥ 0.90)\n", ratios[len(ratios)/2])
	return nil
}
