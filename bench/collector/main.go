// Command collector compares the packet rate `flowtap collect` takes in on loopback with a
// bare recvmmsg receive-and-discard loop fed by the same replay in the same run, prints both
// figures and their ratio (the DESIGN budget is ≥ 0.9), then the collector's kernel drops
// when fed at half the bare rate (the budget is none). Last, as `flowtap up` runs it, the
// collector's records go to the Kafka producer and an embedded broker in the same process
// while it is fed at half the bare rate with -flows distinct flows and its clock 60× fast
// (a window closes every second): kernel drops must stay 0 and every record reach Kafka.
//
//	go run ./bench/collector [-packets 200000] [-sockets 2] [-rounds 3] [-pcap file] [-flows 20000] [-kafka-seconds 5]
//
// It runs loopback.Run, the code of BenchmarkLoopback in bench/loopback. Packet rates on a
// shared machine move with the load of other processes: compare the figures of one round.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"time"

	"github.com/flowtap/flowtap/bench/loopback"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/replay"
)

func main() {
	def := loopback.DefaultConfig()
	packets := flag.Int("packets", def.Packets, "datagrams sent per phase (the capture is looped)")
	sockets := flag.Int("sockets", def.Sockets, "receive sockets (bare loop and collector), collector shards and sender sockets")
	rounds := flag.Int("rounds", 3, "measurements; the median ratio is printed last")
	pcap := flag.String("pcap", "", "capture to replay (default: 1000 UDP flows of 100-byte payloads)")
	timeout := flag.Duration("timeout", def.Timeout, "bound on each phase's send")
	flows := flag.Int("flows", 20000, "Kafka phase: distinct flows replayed (records per window); 0 skips the phase")
	kafkaSeconds := flag.Float64("kafka-seconds", 5, "Kafka phase: seconds of feeding at half the bare rate")
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
	if err := run(ctx, cfg, *rounds, *flows, *kafkaSeconds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/collector:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg loopback.Config, rounds, flows int, kafkaSeconds float64) error {
	fmt.Printf("collector vs bare recvmmsg loop on 127.0.0.1: %d packets per phase, %d sockets, %d rounds\n", cfg.Packets, cfg.Sockets, rounds)
	var ratios, halves []float64
	for i := range max(1, rounds) {
		res, err := loopback.Run(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Printf("  round %d: bare %.0f pps, collector %.0f pps, ratio %.2f; kernel drops at %.0f pps: %.0f\n",
			i+1, res.BarePPS, res.CollectorPPS, res.Ratio, res.HalfRatePPS, res.DropsAtHalf)
		ratios = append(ratios, res.Ratio)
		halves = append(halves, res.HalfRatePPS)
	}
	sort.Float64s(ratios)
	fmt.Printf("median ratio collector/bare: %.2f (budget ≥ 0.90)\n", ratios[len(ratios)/2])
	if flows <= 0 {
		return nil
	}
	sort.Float64s(halves)
	return intoKafka(ctx, cfg, halves[len(halves)/2], flows, kafkaSeconds)
}

// intoKafka feeds the collector at pps for about seconds with its records going to a Kafka
// producer and an embedded broker (data on disk, synced) in this process, as `flowtap up`
// runs them, and prints its kernel drops and what reached Kafka.
func intoKafka(ctx context.Context, cfg loopback.Config, pps float64, flows int, seconds float64) error {
	dir, err := os.MkdirTemp("", "flowtap-bench-collector-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)
	bcfg := broker.DefaultConfig()
	bcfg.Listen, bcfg.DataDir, bcfg.Topics = "127.0.0.1:0", filepath.Join(dir, "kafka"), kafka.AllTopics()
	b, err := broker.New(bcfg, component.Deps{Log: quiet})
	if err != nil {
		return err
	}
	if err := b.Start(); err != nil {
		return err
	}
	defer b.Close()
	pcfg := kafka.DefaultProducerConfig()
	pcfg.Brokers, pcfg.Spill.Dir = []string{b.Addr()}, filepath.Join(dir, "spill")
	p, err := kafka.NewProducer(pcfg, component.Deps{Log: quiet})
	if err != nil {
		return err
	}
	pctx, stop := context.WithCancel(ctx)
	defer func() { stop(); <-p.Done() }()
	go p.Run(pctx)

	cfg.Packets = max(cfg.Packets, int(pps*seconds))
	fmt.Printf("collector into Kafka (producer %s, embedded broker, one process): %d flows, %d packets at %.0f pps, clock 60× (a window a second)\n",
		pcfg.Compression, flows, cfg.Packets, pps)
	start := time.Now()
	res, err := loopback.Feed(ctx, cfg, loopback.FlowCapture(flows), loopback.FeedConfig{PPS: pps, Writer: p, ClockSpeed: 60})
	if err != nil {
		return err
	}
	fed := time.Since(start)
	deadline := time.Now().Add(time.Minute)
	for p.Stats().Produced < int64(res.Records) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := p.Stats()
	fmt.Printf("  received %.0f pps; kernel drops %.0f (budget 0); %.0f records emitted, %d acknowledged by Kafka (%.0f records/s over the run), spilled %d, dropped %d\n",
		res.PPS, res.KernelDrops, res.Records, st.Produced, float64(st.Produced)/fed.Seconds(), st.Spilled, st.Dropped)
	if res.KernelDrops > 0 || st.Produced != int64(res.Records) || st.Dropped > 0 {
		return fmt.Errorf("collector into Kafka: %.0f kernel drops, %d of %.0f records acknowledged, %d dropped", res.KernelDrops, st.Produced, res.Records, st.Dropped)
	}
	return nil
}
