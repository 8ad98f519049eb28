package ingest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/flowtap/flowtap/vxlan"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

// benchPackets returns VXLAN packets of 4096 distinct random real-shaped flows, packed in
// one buffer and cut to 160 bytes (the decoder reads headers only), so that the packets are
// as cache-warm as a datagram recvmmsg has just copied.
func benchPackets() [][]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	pkts := make([][]byte, 4096)
	buf := make([]byte, 0, 4096*160)
	for i := range pkts {
		p := vxlantest.VXLAN(uint32(1+i%8), vxlantest.Frame(vxlantest.Random(rng)))
		p = p[:min(len(p), 160)]
		buf = append(buf, p...)
		pkts[i] = buf[len(buf)-len(p):]
	}
	return pkts
}

// BenchmarkDecodeAndUpdate is the per-packet work of the collector after recvmmsg: decode,
// shard hash, and the flow-table update. Budget ≤ 50 ns/op, 0 allocs/op.
func BenchmarkDecodeAndUpdate(b *testing.B) {
	pkts := benchPackets()
	t := newTable(1 << 20)
	var p vxlan.Packet
	var it item
	var sink uint64
	b.ReportAllocs()
	cpu := startThreadCPU(b)
	for i := 0; b.Loop(); i++ {
		if vxlan.Decode(pkts[i&4095], &p) != nil {
			continue
		}
		setItem(&it, &p, 1_700_000_000)
		sink += uint64(shardOf(it.shash, 2))
		t.add(&it)
	}
	cpu.report(b)
	_ = sink
}

// BenchmarkGopacketDecodeAndUpdate is the baseline for BenchmarkDecodeAndUpdate: the same
// packets decoded with gopacket.NewPacket, then the same flow-table update.
func BenchmarkGopacketDecodeAndUpdate(b *testing.B) {
	pkts := benchPackets()
	t := newTable(1 << 20)
	var it item
	b.ReportAllocs()
	cpu := startThreadCPU(b)
	for i := 0; b.Loop(); i++ {
		pkt := gopacket.NewPacket(pkts[i&4095], layers.LayerTypeVXLAN, gopacket.NoCopy)
		it = item{sec: 1_700_000_000}
		var src, dst netip.Addr
		var proto uint8
		var v6 bool
		if ip, ok := pkt.NetworkLayer().(*layers.IPv4); ok {
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			proto, it.length = uint8(ip.Protocol), uint32(ip.Length)
		} else if ip, ok := pkt.NetworkLayer().(*layers.IPv6); ok {
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			proto, it.length, v6 = uint8(ip.NextHeader), 40+uint32(ip.Length), true
		}
		var sport, dport uint16
		if tl := pkt.TransportLayer(); tl != nil {
			if s, d := tl.TransportFlow().Src().Raw(), tl.TransportFlow().Dst().Raw(); len(s) == 2 && len(d) == 2 {
				sport, dport = uint16(s[0])<<8|uint16(s[1]), uint16(d[0])<<8|uint16(d[1])
			}
		}
		var vni uint32
		if vx, ok := pkt.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN); ok {
			vni = vx.VNI
		}
		it.key.set(src, dst, vni, proto, sport, dport)
		it.v6 = v6
		it.shash = shardHash(&it.key, v6)
		t.add(&it)
	}
	cpu.report(b)
}

// threadCPU measures the CPU time of the benchmark's OS thread, so that figures taken on a
// machine shared with other work can be quoted as CPU ns per packet beside wall-clock ns/op.
type threadCPU struct{ start time.Duration }

func startThreadCPU(b *testing.B) *threadCPU {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &threadCPU{start: threadTime()}
}

func threadTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *threadCPU) report(b *testing.B) {
	b.ReportMetric(float64(threadTime()-c.start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecodeAndUpdateBatched is the same work shaped as the collector does it: a
// receiver decodes a recvmmsg batch of 64 datagrams into items, then the shard warms the
// batch's table entries and accounts it. With 4096 flows the table stays in cache; with
// 262144 (64 VNIs × the 4096 flows, about a shard's default max-flows) nearly every update
// misses the caches and the TLB, which the batch's overlapping loads only partly hide.
func BenchmarkDecodeAndUpdateBatched(b *testing.B) {
	for _, vnis := range []int{1, 64} {
		b.Run(fmt.Sprintf("flows=%d", 4096*vnis), func(b *testing.B) {
			pkts := benchPackets()
			t := newTable(1 << 22)
			var p vxlan.Packet
			stage := make([]item, 64)
			n := 0
			step := func(i int) {
				pk := pkts[i&4095]
				v := uint32(1 + (i>>12)%vnis) // benchPackets' VNIs are 1–8; rewrite them
				pk[4], pk[5], pk[6] = byte(v>>16), byte(v>>8), byte(v)
				if vxlan.Decode(pk, &p) != nil {
					return
				}
				setItem(&stage[n], &p, 1_700_000_000)
				if n++; n == len(stage) {
					t.warm(stage)
					for j := range stage {
						t.add(&stage[j])
					}
					n = 0
				}
			}
			for i := range 4096 * vnis { // grow the table to its size first
				step(i)
			}
			b.ReportAllocs()
			cpu := startThreadCPU(b)
			for i := 0; b.Loop(); i++ {
				step(i)
			}
			cpu.report(b)
			if t.len() != 4096*vnis {
				b.Fatalf("%d flows, want %d", t.len(), 4096*vnis)
			}
		})
	}
}
