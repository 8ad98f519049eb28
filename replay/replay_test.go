package replay

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestLoopbackEndToEnd(t *testing.T) {
	frames := testFrames(t, 400)
	c, err := Read(bytes.NewReader(writePcap(t, layers.LinkTypeEthernet, frames)))
	if err != nil {
		t.Fatal(err)
	}
	sink := newUDPSink(t)
	cfg := DefaultConfig()
	cfg.Target = sink.addr()
	cfg.VNI = 4242
	cfg.TopSpeed = true
	cfg.Loop = 2
	cfg.Batch = 16
	r, err := New(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * len(frames)
	if rep.Packets != uint64(want) || rep.Errors != 0 || rep.Interrupted {
		t.Fatalf("report %+v, want %d packets and no errors", rep, want)
	}
	got := sink.collect(want)
	if len(got) != want {
		t.Fatalf("received %d datagrams, sent %d", len(got), want)
	}
	// Every datagram is a VXLAN packet with our VNI around one of the frames, and every
	// flow arrived from a single source port.
	portOf := map[string]map[int]bool{}
	counts := map[string]int{}
	var bytesIn uint64
	for _, d := range got {
		bytesIn += uint64(len(d.b))
		p := gopacket.NewPacket(d.b, layers.LayerTypeVXLAN, gopacket.Default)
		vx, ok := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
		if !ok || !vx.ValidIDFlag || vx.VNI != 4242 {
			t.Fatalf("not a VXLAN packet with VNI 4242: %v", p)
		}
		counts[string(vx.Payload)]++
		if tl := p.TransportLayer(); tl != nil {
			k := p.NetworkLayer().NetworkFlow().String() + " " + tl.TransportFlow().String()
			if portOf[k] == nil {
				portOf[k] = map[int]bool{}
			}
			portOf[k][d.port] = true
		}
	}
	if bytesIn != rep.Bytes {
		t.Errorf("received %d bytes, report says %d sent", bytesIn, rep.Bytes)
	}
	for f, n := range counts {
		if want := 2 * countOf(frames, f); n != want {
			t.Fatalf("frame %x received %d times, want %d (2 loops)", f[:20], n, want)
		}
	}
	ports := map[int]bool{}
	for k, ps := range portOf {
		if len(ps) != 1 {
			t.Errorf("flow %v arrived from %d source ports, want 1", k, len(ps))
		}
		for p := range ps {
			ports[p] = true
		}
	}
	if len(ports) < 2 {
		t.Errorf("flows used %d source ports, want them spread over several of the %d sockets", len(ports), cfg.Sockets)
	}
	if !strings.Contains(rep.String(), "800 packets") {
		t.Errorf("report text %q", rep.String())
	}
}

func countOf(frames [][]byte, f string) int {
	n := 0
	for _, g := range frames {
		if string(g) == f {
			n++
		}
	}
	return n
}

// TestSendLoopAllocatesNothing compares the allocations of a short and a long run to a
// socket nobody reads: the difference, thousands of packets, must cost no allocations.
func TestSendLoopAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates in x/net's sendmmsg path")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &Capture{}
	for _, f := range testFrames(t, 100) {
		c.Packets = append(c.Packets, Packet{Time: t0, Frame: f})
	}
	mallocs := func(loops int) uint64 {
		cfg := DefaultConfig()
		cfg.Target = conn.LocalAddr().String()
		cfg.TopSpeed = true
		cfg.Loop = loops
		cfg.UniqueLoops = true
		r, err := New(cfg, c)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rep, err := r.Run(context.Background())
		runtime.ReadMemStats(&after)
		if err != nil || rep.Packets+rep.Errors != uint64(loops*100) {
			t.Fatalf("run: %v %s", err, rep)
		}
		return after.Mallocs - before.Mallocs
	}
	short, long := mallocs(2), mallocs(52)
	t.Logf("allocations: %d for 200 packets, %d for 5200", short, long)
	if long > short+100 { // a little slack for runtime background work
		t.Fatalf("5000 more packets cost %d more allocations (%d vs %d)", long-short, long, short)
	}
}

// TestLoopsKeepEachFlowsOrder sends a small capture many times, so that batches span the
// ends of loops, from one goroutine per socket and from fewer goroutines than sockets,
// with and without UDP GSO, over IPv4 and IPv6: every flow must arrive whole, in the
// capture's order, loop after loop. Runs of equal sizes are mixed with others, as
// captures have them.
func TestLoopsKeepEachFlowsOrder(t *testing.T) {
	var frames [][]byte
	for i := 0; i < 30; i++ {
		size := 300
		if i%4 == 3 {
			size = 120 + i // a short one ends a run
		}
		payload := bytes.Repeat([]byte{byte(i)}, size)
		frames = append(frames, frameTCP(t, "10.0.2.1", "10.0.3.1", uint16(41000+i%5), 443, false, true, payload))
	}
	const loops = 40
	type run struct {
		threads int
		noGSO   bool
		network string
	}
	runs := []run{{0, false, "udp4"}, {1, false, "udp4"}, {2, false, "udp4"}, {1, true, "udp4"}, {1, false, "udp6"}}
	for _, rn := range runs {
		threads := rn.threads
		sink := newUDPSinkOn(t, rn.network)
		if sink == nil {
			t.Logf("no %s loopback here; skipped that run", rn.network)
			continue
		}
		r := newReplayer(t, captureOf(t, frames, func(int) time.Duration { return time.Millisecond }), func(c *Config) {
			c.Target, c.TopSpeed, c.Loop, c.Batch, c.Threads, c.Sockets = sink.addr(), true, loops, 7, threads, 3
			c.NoGSO = rn.noGSO
		})
		rep, err := r.Run(context.Background())
		if err != nil || rep.Packets != loops*30 || rep.Errors != 0 {
			t.Fatalf("%+v: %v, %s", rn, err, rep)
		}
		if wantGSO := runtime.GOOS == "linux" && !rn.noGSO; (rep.GSODatagrams > 0) != wantGSO {
			t.Fatalf("%+v: %d datagrams went in GSO runs; want some: %v", rn, rep.GSODatagrams, wantGSO)
		}
		got := sink.collect(loops * 30)
		if len(got) != loops*30 {
			t.Fatalf("threads %d: received %d of %d", threads, len(got), loops*30)
		}
		// Each flow's frames, in capture order, repeated once per loop.
		want := map[uint16][]string{}
		for _, f := range frames {
			sport := binary.BigEndian.Uint16(f[14+20:])
			want[sport] = append(want[sport], string(f))
		}
		arrived := map[uint16][]string{}
		ports := map[uint16]int{}
		for _, d := range got {
			f := d.b[8:] // after the VXLAN header
			sport := binary.BigEndian.Uint16(f[14+20:])
			if p, ok := ports[sport]; ok && p != d.port {
				t.Fatalf("threads %d: flow %d arrived from ports %d and %d", threads, sport, p, d.port)
			}
			ports[sport] = d.port
			arrived[sport] = append(arrived[sport], string(f))
		}
		for sport, w := range want {
			a := arrived[sport]
			if len(a) != loops*len(w) {
				t.Fatalf("threads %d: flow %d: %d frames arrived, want %d", threads, sport, len(a), loops*len(w))
			}
			for i := range a {
				if a[i] != w[i%len(w)] {
					t.Fatalf("threads %d: flow %d: frame %d of the run is not the capture's frame %d of the flow", threads, sport, i, i%len(w))
				}
			}
		}
	}
}
