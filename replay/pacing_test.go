package replay

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/vxlan"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func captureOf(t testing.TB, frames [][]byte, gap func(i int) time.Duration) *Capture {
	c := &Capture{}
	at := t0
	for i, f := range frames {
		at = at.Add(gap(i))
		c.Packets = append(c.Packets, Packet{Time: at, Frame: f})
	}
	return c
}

func newReplayer(t *testing.T, c *Capture, edit func(*Config)) *Replayer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Target = "127.0.0.1:9"
	edit(&cfg)
	r, err := New(cfg, c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The schedule is computed, so its accuracy is checked exactly, without clocks.
func TestScheduleByPacketRate(t *testing.T) {
	c := captureOf(t, testFrames(t, 10), func(int) time.Duration { return time.Second })
	r := newReplayer(t, c, func(c *Config) { c.PPS = 1000; c.Loop = 3 })
	for k := 0; k < 30; k++ {
		if got, want := r.Due(k), time.Duration(k)*time.Millisecond; got != want {
			t.Fatalf("packet %d due at %v, want %v", k, got, want)
		}
	}
}

func TestScheduleByBitRate(t *testing.T) {
	frames := testFrames(t, 10)
	c := captureOf(t, frames, func(int) time.Duration { return 0 })
	r := newReplayer(t, c, func(c *Config) { c.Mbps = 8; c.Loop = 2 }) // 1 byte per µs
	var sent time.Duration
	for k := 0; k < 20; k++ {
		if got := r.Due(k); got != sent {
			t.Fatalf("packet %d due at %v, want %v (bytes before it at 1 B/µs)", k, got, sent)
		}
		sent += time.Duration(8+len(frames[k%10])) * time.Microsecond
	}
}

func TestScheduleByCaptureTiming(t *testing.T) {
	gaps := []time.Duration{0, 10 * time.Millisecond, 0, 30 * time.Millisecond, -5 * time.Millisecond, 40 * time.Millisecond}
	frames := testFrames(t, len(gaps))
	c := captureOf(t, frames, func(i int) time.Duration { return gaps[i] })
	// Offsets are the sums of gaps, a step back in time counting as 0: 0, 10, 10, 40, 40,
	// 80; a loop lasts 80 + one mean gap (16).
	want := []time.Duration{0, 10, 10, 40, 40, 80, 96, 106, 106, 136, 136, 176}
	for _, speed := range []float64{0, 1, 2.5} {
		r := newReplayer(t, c, func(c *Config) { c.Speed = speed; c.Loop = 2 })
		div := speed
		if div == 0 {
			div = 1
		}
		for k, w := range want {
			if got, w := r.Due(k), time.Duration(float64(w*time.Millisecond)/div); got != w {
				t.Fatalf("speed %v: packet %d due at %v, want %v", speed, k, got, w)
			}
		}
	}
	r := newReplayer(t, c, func(c *Config) { c.TopSpeed = true; c.Loop = 2 })
	for k := 0; k < 12; k++ {
		if r.Due(k) != 0 {
			t.Fatalf("top speed: packet %d scheduled at %v", k, r.Due(k))
		}
	}
}

// TestPacingNeverEarly sends to a real socket at 2000 pps: the run cannot end before the
// last packet's scheduled time, and a run cut short by its context has sent no packet
// before its time. Only lower bounds on time are checked, which load cannot break.
func TestPacingNeverEarly(t *testing.T) {
	sink := newUDPSink(t)
	c := captureOf(t, testFrames(t, 100), func(int) time.Duration { return 0 })
	r := newReplayer(t, c, func(c *Config) { c.Target = sink.addr(); c.PPS = 2000; c.Batch = 8 })
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Packets != 100 || rep.Errors != 0 {
		t.Fatalf("report %+v", rep)
	}
	if last := r.Due(99); rep.Duration < last {
		t.Fatalf("100 packets at 2000 pps took %v, less than the last one's due time %v", rep.Duration, last)
	}
	if got := len(sink.collect(100)); got != 100 {
		t.Fatalf("received %d of 100", got)
	}

	r = newReplayer(t, c, func(c *Config) { c.Target = sink.addr(); c.PPS = 2000; c.Loop = 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	rep, err = r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted {
		t.Fatal("endless loop not reported as interrupted")
	}
	// Packets due by the end are floor(d × pps) + 1; no more can have been sent.
	if limit := uint64(rep.Duration.Seconds()*2000) + 1; rep.Packets > limit || rep.Packets == 0 {
		t.Fatalf("sent %d packets in %v at 2000 pps, limit %d", rep.Packets, rep.Duration, limit)
	}
}

func TestUniqueLoops(t *testing.T) {
	frames := [][]byte{
		frameTCP(t, "10.0.1.10", "93.184.216.34", 40000, 443, true, false, nil),
		frameTCP(t, "10.0.1.10", "93.184.216.34", 40000, 443, false, true, []byte("hello")),
		frameUDP6(t, "2001:db8::1", "2001:db8::ff", 5353, 53, []byte("query")),
	}
	sink := newUDPSink(t)
	r := newReplayer(t, captureOf(t, frames, func(int) time.Duration { return 0 }), func(c *Config) {
		c.Target = sink.addr()
		c.TopSpeed = true
		c.Loop = 3
		c.UniqueLoops = true
	})
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sink.collect(9)
	if len(got) != 9 {
		t.Fatalf("received %d of 9", len(got))
	}
	seen := map[string]bool{}
	for _, d := range got {
		p := gopacket.NewPacket(d.b[8:], layers.LayerTypeEthernet, gopacket.Default)
		nl := p.NetworkLayer()
		if nl == nil {
			t.Fatal("no IP layer in replayed frame")
		}
		seen[nl.NetworkFlow().String()] = true
		if ip, ok := nl.(*layers.IPv4); ok {
			if s := vxlan.OnesSum(ip.Contents); s != 0xffff {
				t.Errorf("IPv4 header checksum wrong after rewrite (sum %#x)", s)
			}
		}
		if !l4ChecksumOK(t, p) {
			t.Errorf("transport checksum wrong after rewrite: %v", p)
		}
	}
	want := []string{
		"10.0.1.10->93.184.216.34", "10.0.1.11->93.184.216.35", "10.0.1.12->93.184.216.36",
		"2001:db8::1->2001:db8::ff", "2001:db8::2->2001:db8::100", "2001:db8::3->2001:db8::101",
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no packets for %s; saw %v", w, seen)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("saw %d address pairs, want %d", len(seen), len(want))
	}
}

// l4ChecksumOK verifies a TCP or UDP checksum over the pseudo-header.
func l4ChecksumOK(t *testing.T, p gopacket.Packet) bool {
	t.Helper()
	var pseudo []byte
	var seg []byte
	var proto byte
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		pseudo = append(append(pseudo, ip.SrcIP.To4()...), ip.DstIP.To4()...)
		seg, proto = ip.Payload, byte(ip.Protocol)
		pseudo = append(pseudo, 0, proto)
		pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(seg)))
	case *layers.IPv6:
		pseudo = append(append(pseudo, ip.SrcIP.To16()...), ip.DstIP.To16()...)
		seg, proto = ip.Payload, byte(ip.NextHeader)
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(seg)))
		pseudo = append(pseudo, 0, 0, 0, proto)
	}
	all := append(pseudo, seg...)
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	return vxlan.OnesSum(all) == 0xffff
}

func TestTruncationOnTheWire(t *testing.T) {
	frames := testFrames(t, 20)
	sink := newUDPSink(t)
	r := newReplayer(t, captureOf(t, frames, func(int) time.Duration { return 0 }), func(c *Config) {
		c.Target = sink.addr()
		c.TopSpeed = true
		c.PacketLength = 60
		c.UniqueLoops = true // rewriting must respect the cut
		c.Loop = 2
	})
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := sink.collect(40)
	if len(got) != 40 {
		t.Fatalf("received %d of 40", len(got))
	}
	var total uint64
	for _, d := range got {
		total += uint64(len(d.b))
		if len(d.b) != 8+60 {
			t.Fatalf("datagram of %d bytes, want 68 (VXLAN header + 60)", len(d.b))
		}
	}
	if total != rep.Bytes {
		t.Fatalf("received %d bytes, report says %d", total, rep.Bytes)
	}
	if !bytes.Equal(got[0].b[:1], []byte{0x08}) {
		t.Fatal("missing VXLAN flags")
	}
}

func TestConfigErrors(t *testing.T) {
	c := captureOf(t, testFrames(t, 2), func(int) time.Duration { return 0 })
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.PPS, c.Speed = 10, 2 }, "pps and speed"},
		{func(c *Config) { c.Mbps, c.TopSpeed = 10, true }, "mbps and topspeed"},
		{func(c *Config) { c.PPS = -1 }, "pps -1"},
		{func(c *Config) { c.VNI = 1 << 24 }, "vni 16777216"},
		{func(c *Config) { c.PacketLength = 9000 }, "packet-length 9000"},
		{func(c *Config) { c.Target = "localhost" }, "missing port"},
		{func(c *Config) { c.Target = "" }, "target: required"},
		{func(c *Config) { c.Sockets = 0 }, "sockets 0"},
		{func(c *Config) { c.Loop = -2 }, "loop -2"},
	} {
		cfg := DefaultConfig()
		cfg.Target = "127.0.0.1:4789"
		tc.edit(&cfg)
		if _, err := New(cfg, c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one mentioning %q", err, tc.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Target = "127.0.0.1:4789"
	if _, err := New(cfg, &Capture{}); err == nil {
		t.Error("an empty capture was accepted")
	}
	// Refused datagrams are counted, never fatal: nothing listens on this port.
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Target = l.LocalAddr().String()
	l.Close()
	cfg.PPS = 5000
	cfg.Sockets = 1
	r, err := New(cfg, captureOf(t, testFrames(t, 50), func(int) time.Duration { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors == 0 || rep.Packets+rep.Errors < 50 || !strings.Contains(rep.String(), "refused") {
		t.Fatalf("sending to a closed port: %s", rep)
	}
}
