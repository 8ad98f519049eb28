// Package loopback measures, in one run on 127.0.0.1, the packet rate the mirror collector
// (package ingest) takes in against a bare recvmmsg receive-and-discard loop on as many
// SO_REUSEPORT sockets, both fed by the replay package at top speed. It is a load
// harness for benchmarks and bench/collector, kept out of the shipped binary.
package loopback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/ingest"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/replay"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

// Config configures Run.
type Config struct {
	// Packets is the number of datagrams sent in each phase (the capture is looped).
	Packets int
	// Sockets is the number of receive sockets of the bare loop and of the collector, and
	// the collector's shards; the sender uses as many.
	Sockets int
	// Capture is what is replayed; nil means 1000 UDP flows of 100-byte payloads.
	Capture *replay.Capture
	// Timeout bounds each phase's send.
	Timeout time.Duration
}

// DefaultConfig sends 200 000 packets per phase with 2 sockets and 2 shards.
func DefaultConfig() Config {
	return Config{Packets: 200_000, Sockets: 2, Timeout: 30 * time.Second}
}

// Result holds the figures of one Run.
type Result struct {
	BarePPS      float64 // datagrams/s a bare recvmmsg receive-and-discard loop took in
	CollectorPPS float64 // datagrams/s the collector took in, fed the same way
	Ratio        float64 // CollectorPPS / BarePPS; the DESIGN budget is ≥ 0.9
	HalfRatePPS  float64 // the paced rate of the third phase: half of BarePPS
	DropsAtHalf  float64 // the collector's kernel drops (SO_RXQ_OVFL) at HalfRatePPS
	Sent         uint64  // datagrams sent per phase
}

func (r Result) String() string {
	return fmt.Sprintf("bare recvmmsg loop %.0f pps, collector %.0f pps, ratio %.2f; at half rate (%.0f pps) %.0f kernel drops of %d",
		r.BarePPS, r.CollectorPPS, r.Ratio, r.HalfRatePPS, r.DropsAtHalf, r.Sent)
}

// Run measures, in one run on 127.0.0.1, the packet rate a Collector takes in
// against a bare recvmmsg receive-and-discard loop on the same number of SO_REUSEPORT
// sockets, both fed by the replay package at top speed; then feeds the collector at half
// the bare rate and counts its kernel drops. The collector discards its records. Rates
// are received datagrams over the time from the first send to the last receive; on a
// shared machine compare the figures of one run, not of different runs.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Packets <= 0 || cfg.Sockets <= 0 || cfg.Timeout <= 0 {
		return Result{}, errors.New("loopback: packets, sockets and timeout must be positive")
	}
	capt := cfg.Capture
	if capt == nil {
		capt = loopbackCapture()
	}
	if len(capt.Packets) == 0 {
		return Result{}, errors.New("loopback: empty capture")
	}
	var res Result
	var err error
	if res.BarePPS, res.Sent, err = bareLoop(ctx, cfg, capt); err != nil {
		return res, err
	}
	if res.CollectorPPS, _, err = collectorLoop(ctx, cfg, capt, 0); err != nil {
		return res, err
	}
	res.Ratio = res.CollectorPPS / res.BarePPS
	res.HalfRatePPS = res.BarePPS / 2
	if _, res.DropsAtHalf, err = collectorLoop(ctx, cfg, capt, res.HalfRatePPS); err != nil {
		return res, err
	}
	return res, nil
}

// loopbackCapture is 1000 one-packet UDP flows from one ENI address.
func loopbackCapture() *replay.Capture {
	src, dst := netip.MustParseAddr("10.0.0.71"), netip.MustParseAddr("52.95.128.179")
	c := &replay.Capture{}
	for i := range 1000 {
		fr := vxlantest.Frame(vxlantest.Spec{Src: src, Dst: dst, Proto: 17, SrcPort: uint16(10000 + i), DstPort: 53, Payload: 100})
		c.Packets = append(c.Packets, replay.Packet{Time: time.Unix(0, int64(i)*1000), Frame: fr})
	}
	return c
}

// sendCapture replays capt, looped to about cfg.Packets datagrams, to target at pps (0 =
// top speed).
func sendCapture(ctx context.Context, cfg Config, capt *replay.Capture, target string, pps float64) (replay.Report, error) {
	rc := replay.DefaultConfig()
	rc.Target, rc.Sockets, rc.Loop = target, cfg.Sockets, max(1, cfg.Packets/len(capt.Packets))
	rc.TopSpeed, rc.PPS = pps == 0, pps
	r, err := replay.New(rc, capt)
	if err != nil {
		return replay.Report{}, fmt.Errorf("loopback: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rep, err := r.Run(ctx)
	if err != nil {
		return rep, fmt.Errorf("loopback: replay: %w", err)
	}
	return rep, nil
}

// waitCount waits until count stops growing for 300 ms (or reaches want) and returns it
// and the time of its last increase since start.
func waitCount(count func() uint64, want uint64, start time.Time) (uint64, time.Duration) {
	last, lastAt := count(), time.Now()
	for time.Since(lastAt) < 300*time.Millisecond && last < want {
		time.Sleep(2 * time.Millisecond)
		if n := count(); n != last {
			last, lastAt = n, time.Now()
		}
	}
	return last, lastAt.Sub(start)
}

// bareLoop receives with cfg.Sockets SO_REUSEPORT sockets and recvmmsg, discarding, and
// returns its receive rate and the datagrams sent.
func bareLoop(ctx context.Context, cfg Config, capt *replay.Capture) (float64, uint64, error) {
	var got atomic.Uint64
	var pcs []net.PacketConn
	defer func() {
		for _, pc := range pcs {
			_ = pc.Close()
		}
	}()
	addr := "127.0.0.1:0"
	for range cfg.Sockets {
		pc, err := ingest.ListenUDP(ctx, addr, ingest.DefaultConfig().ReceiveBuffer)
		if err != nil {
			return 0, 0, fmt.Errorf("loopback: bare loop listen: %w", err)
		}
		addr = pc.LocalAddr().String()
		pcs = append(pcs, pc)
		go func() {
			msgs := make([]ipv4.Message, ingest.DefaultConfig().ReadBatch)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{make([]byte, 9216)}
			}
			c := ipv4.NewPacketConn(pc)
			for {
				n, err := c.ReadBatch(msgs, 0)
				if errors.Is(err, net.ErrClosed) {
					return
				}
				got.Add(uint64(n))
			}
		}()
	}
	start := time.Now()
	rep, err := sendCapture(ctx, cfg, capt, addr, 0)
	if err != nil {
		return 0, 0, err
	}
	n, d := waitCount(got.Load, rep.Packets, start)
	return float64(n) / d.Seconds(), rep.Packets, nil
}

type discardRecords struct{}

func (discardRecords) WriteRecords(context.Context, []flowlog.Record) error { return nil }

// collectorLoop runs a Collector (cfg.Sockets sockets and shards, records discarded), feeds
// it at pps (0 = top speed) and returns its receive rate and kernel drops.
func collectorLoop(ctx context.Context, cfg Config, capt *replay.Capture, pps float64) (rate, drops float64, err error) {
	r, err := Feed(ctx, cfg, capt, FeedConfig{PPS: pps})
	return r.PPS, r.KernelDrops, err
}

// FeedConfig is one collector run of Feed.
type FeedConfig struct {
	PPS    float64              // send rate; 0 = top speed
	Writer flowlog.RecordWriter // where the collector's records go; nil = discarded
	// ClockSpeed runs the collector's clock this many times faster than real time, so that
	// its windows close (and their records go to Writer) every Interval/ClockSpeed while it
	// receives; 0 or 1 = real time.
	ClockSpeed float64
}

// FeedResult is what the collector of one Feed run did.
type FeedResult struct {
	PPS         float64 // datagrams/s it took in, from the first send to the last receive
	KernelDrops float64 // its sockets' kernel drops (SO_RXQ_OVFL)
	Sent        uint64  // datagrams sent
	Records     float64 // flow records it emitted, the final flush included
}

// Feed runs a Collector (cfg.Sockets sockets and shards) whose records go to f.Writer, feeds
// it capt at f.PPS and returns its receive rate, kernel drops and records.
func Feed(ctx context.Context, cfg Config, capt *replay.Capture, f FeedConfig) (FeedResult, error) {
	ccfg := ingest.DefaultConfig()
	ccfg.Listen, ccfg.Sockets, ccfg.Shards = "127.0.0.1:0", cfg.Sockets, cfg.Sockets
	reg := prometheus.NewRegistry()
	w := f.Writer
	if w == nil {
		w = discardRecords{}
	}
	var opts []ingest.Option
	if f.ClockSpeed > 1 {
		base := time.Now()
		opts = append(opts, ingest.WithClock(func() time.Time {
			return base.Add(time.Duration(float64(time.Since(base)) * f.ClockSpeed))
		}))
	}
	c, err := ingest.New(ccfg, w, component.Deps{Log: slog.New(slog.DiscardHandler), Registry: reg}, opts...)
	if err != nil {
		return FeedResult{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	<-c.Ready()
	if len(c.Addrs()) == 0 {
		return FeedResult{}, <-done
	}
	start := time.Now()
	rep, err := sendCapture(ctx, cfg, capt, c.Addrs()[0].String(), f.PPS)
	if err != nil {
		return FeedResult{}, err
	}
	n, d := waitCount(func() uint64 { return uint64(sumMetric(reg, "flowtap_ingest_packets_total")) }, rep.Packets, start)
	res := FeedResult{PPS: float64(n) / d.Seconds(), KernelDrops: sumMetric(reg, "flowtap_ingest_kernel_drops_total"), Sent: rep.Packets}
	cancel()
	if err := <-done; err != nil {
		return res, err
	}
	res.Records = sumMetric(reg, "flowtap_ingest_records_total")
	return res, nil
}

// FlowCapture is flows one-packet UDP flows (100-byte payloads) from one ENI address: looped,
// every packet adds to one of flows flow records per window.
func FlowCapture(flows int) *replay.Capture {
	src := netip.MustParseAddr("10.0.0.71")
	c := &replay.Capture{}
	for i := range flows {
		dst := netip.AddrFrom4([4]byte{52, 95, byte(i >> 16), byte(i >> 8)})
		fr := vxlantest.Frame(vxlantest.Spec{Src: src, Dst: dst, Proto: 17, SrcPort: uint16(10000 + i%50000), DstPort: uint16(53 + i&0xff), Payload: 100})
		c.Packets = append(c.Packets, replay.Packet{Time: time.Unix(0, int64(i)*1000), Frame: fr})
	}
	return c
}

// sumMetric sums the samples of the counter family name in reg.
func sumMetric(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}
