package ingest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/ipv4"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/replay"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

type discard struct{}

func (discard) WriteRecords(context.Context, []flowlog.Record) error { return nil }

const loopbackPackets = 200_000 // per phase; bounded in count and (below) in time

// sendCapture replays a 1000-flow capture, looped, to target at pps (0 = top speed).
func sendCapture(b *testing.B, pcap, target string, pps float64) replay.Report {
	capt, err := replay.ReadFile(pcap)
	if err != nil {
		b.Fatal(err)
	}
	rc := replay.DefaultConfig()
	rc.Target, rc.Sockets, rc.Loop = target, 2, loopbackPackets/len(capt.Packets)
	rc.TopSpeed, rc.PPS = pps == 0, pps
	r, err := replay.New(rc, capt)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := r.Run(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return rep
}

// waitCount waits until count stops growing (or reaches want) and returns it and the time
// of the last increase.
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

// BenchmarkLoopback compares, in one run, the packets/s the collector takes in on loopback
// with a bare recvmmsg receive-and-discard loop (same sockets, same sender: the replay
// package at top speed), and counts the collector's kernel drops when fed at half the bare
// loop's rate. Run it with -benchtime=1x: each iteration sends 3×200k packets.
func BenchmarkLoopback(b *testing.B) {
	dir := b.TempDir()
	pcap := filepath.Join(dir, "flows.pcap")
	writeBenchPcap(b, pcap)
	for b.Loop() {
		bare := bareLoop(b, pcap)
		coll, _ := collectorLoop(b, pcap, 0)
		_, drops := collectorLoop(b, pcap, bare/2)
		b.ReportMetric(bare, "bare-pps")
		b.ReportMetric(coll, "collector-pps")
		b.ReportMetric(coll/bare, "ratio")
		b.ReportMetric(drops, "drops-at-half")
	}
}

func writeBenchPcap(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	_ = w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for i := range 1000 {
		fr := vxlantest.Frame(vxlantest.Spec{Src: eniA, Dst: peer, Proto: 17, SrcPort: uint16(10000 + i), DstPort: 53, Payload: 100})
		_ = w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, int64(i)*1000), CaptureLength: len(fr), Length: len(fr)}, fr)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// bareLoop receives with two SO_REUSEPORT sockets, recvmmsg, discarding.
func bareLoop(b *testing.B, pcap string) float64 {
	var got atomic.Uint64
	var pcs []net.PacketConn
	addr := "127.0.0.1:0"
	for range 2 {
		var res sockResult
		lc := net.ListenConfig{Control: sockOpts{rcvbuf: 32 << 20}.control(&res)}
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			b.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		pcs = append(pcs, pc)
		go func() {
			msgs := make([]ipv4.Message, 64)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
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
	defer func() {
		for _, pc := range pcs {
			pc.Close()
		}
	}()
	start := time.Now()
	rep := sendCapture(b, pcap, addr, 0)
	n, d := waitCount(got.Load, rep.Packets, start)
	return float64(n) / d.Seconds()
}

// collectorLoop runs a Collector (2 sockets, 2 shards, discarding records) and returns its
// receive rate and kernel drops.
func collectorLoop(b *testing.B, pcap string, pps float64) (rate, drops float64) {
	cfg := DefaultConfig()
	cfg.Listen, cfg.Sockets, cfg.Shards = "127.0.0.1:0", 2, 2
	c, err := New(cfg, discard{}, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	<-c.Ready()
	start := time.Now()
	rep := sendCapture(b, pcap, c.Addrs()[0].String(), pps)
	n, d := waitCount(func() uint64 { return uint64(testutil.ToFloat64(c.m.packets)) }, rep.Packets, start)
	drops = testutil.ToFloat64(c.m.kernelDrops.WithLabelValues("vxlan0")) + testutil.ToFloat64(c.m.kernelDrops.WithLabelValues("vxlan1"))
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return float64(n) / d.Seconds(), drops
}
