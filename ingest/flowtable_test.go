package ingest

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/vxlan"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

var (
	eniA  = netip.MustParseAddr("10.0.0.71") // primary
	eniA2 = netip.MustParseAddr("10.0.0.72") // secondary
	peer  = netip.MustParseAddr("52.95.128.179")
)

const testVNI = 0x1234

func testSessions(t *testing.T) Sessions {
	t.Helper()
	s, err := ParseSessions([]byte(`
sessions:
  - vni: 4660
    account-id: "123456789012"
    interface-id: eni-1235b8ca123456789
    vpc-id: vpc-abcdefab012345678
    subnet-id: subnet-aaaaaaaa012345678
    instance-id: i-0c50d5961bcb2d47b
    region: ap-southeast-2
    az-id: apse2-az3
    ips: [10.0.0.71, 10.0.0.72, "2001:db8::71"]
`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// harness drives one shard directly, with a fake clock, no sockets.
type harness struct {
	c   *Collector
	s   *shard
	rec *testenv.Recorder
}

func newHarness(t *testing.T, maxFlows int) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Shards, cfg.Sockets, cfg.MaxFlows = 1, 1, maxFlows
	rec := &testenv.Recorder{}
	c, err := New(cfg, rec, component.Deps{}, WithSessions(testSessions(t)), WithClock(func() time.Time { return time.Unix(0, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{c: c, s: c.shards[0], rec: rec}
}

// packet feeds one frame (VXLAN-wrapped with vni) received at second sec.
func (h *harness) packet(t *testing.T, vni uint32, frame []byte, sec int64) {
	t.Helper()
	var p vxlan.Packet
	if err := vxlan.Decode(vxlantest.VXLAN(vni, frame), &p); err != nil {
		t.Fatal(err)
	}
	b := &batch{items: make([]item, 1)}
	setItem(&b.items[0], &p, sec)
	h.s.process(context.Background(), b)
}

func tcp(src, dst netip.Addr, sport, dport uint16, flags uint8, payload int) []byte {
	return vxlantest.Frame(vxlantest.Spec{Src: src, Dst: dst, Proto: 6, SrcPort: sport, DstPort: dport, TCPFlags: flags, Payload: payload})
}

func TestAWSTCPFlags(t *testing.T) {
	for raw, want := range map[uint8]uint8{
		vxlan.TCPSyn: 2, vxlan.TCPSyn | vxlan.TCPAck: 18, vxlan.TCPAck: 0, vxlan.TCPAck | vxlan.TCPPsh: 0,
		vxlan.TCPFin | vxlan.TCPAck: 1, vxlan.TCPRst: 4, vxlan.TCPRst | vxlan.TCPAck: 4, vxlan.TCPSyn | vxlan.TCPEce: 2,
		vxlan.TCPSyn | vxlan.TCPFin: 3, vxlan.TCPSyn | vxlan.TCPAck | vxlan.TCPFin: 19, 0xff: 23,
	} {
		if got := awsTCPFlags(raw); got != want {
			t.Errorf("flags %#x: got %d, want %d", raw, got, want)
		}
	}
}

func TestWindowRecords(t *testing.T) {
	h := newHarness(t, 1000)
	const t0 = 1_616_729_292 // inside the window starting at 1616729280
	// Client (the ENI, egress) opens, sends, closes; the peer answers.
	h.packet(t, testVNI, tcp(eniA, peer, 34210, 80, vxlan.TCPSyn, 0), t0)
	h.packet(t, testVNI, tcp(peer, eniA, 80, 34210, vxlan.TCPSyn|vxlan.TCPAck, 0), t0)
	h.packet(t, testVNI, tcp(eniA, peer, 34210, 80, vxlan.TCPAck, 0), t0+1)
	h.packet(t, testVNI, tcp(eniA, peer, 34210, 80, vxlan.TCPAck|vxlan.TCPPsh, 100), t0+2)
	h.packet(t, testVNI, tcp(peer, eniA, 80, 34210, vxlan.TCPFin|vxlan.TCPAck, 0), t0+3)
	h.packet(t, testVNI, tcp(eniA, peer, 34210, 80, vxlan.TCPFin|vxlan.TCPAck, 0), t0+3)
	if got := h.rec.Take(); len(got) != 0 {
		t.Fatalf("records before the window closed: %d", len(got))
	}
	// A packet in the next window closes this one.
	h.packet(t, testVNI, tcp(eniA2, peer, 1, 2, vxlan.TCPAck, 0), 1616729340)
	recs := h.rec.Take()
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	f := flowlog.MustParseFormat("${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}")
	var lines []string
	for i := range recs {
		lines = append(lines, string(f.AppendText(nil, &recs[i])))
	}
	want := []string{
		"5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729295 IPv4 4 260 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - - - egress OK",
		"5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729295 IPv4 2 80 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 - - - ingress OK",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// The open window (secondary IP as source) closes at shutdown: srcaddr is the primary.
	h.s.closeWindow(context.Background(), 0)
	recs = h.rec.Take()
	if len(recs) != 1 || recs[0].SrcAddr != eniA || recs[0].PktSrcAddr != eniA2 || recs[0].TCPFlags != 0 ||
		recs[0].Start != 1616729340 || recs[0].FlowDirection != flowlog.DirectionEgress {
		t.Fatalf("secondary-IP record: %+v", recs)
	}
}

func TestUnknownVNIAndICMP(t *testing.T) {
	h := newHarness(t, 1000)
	icmp := vxlantest.Frame(vxlantest.Spec{Src: peer, Dst: eniA, Proto: 1, ICMPType: 8, Payload: 56})
	for range 4 {
		h.packet(t, 0xabc, icmp, 1432917027)
	}
	h.s.closeWindow(context.Background(), 0)
	recs := h.rec.Take()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	got := string(flowlog.DefaultVPC.AppendText(nil, &recs[0]))
	if want := "2 - eni-vni00000abc 52.95.128.179 10.0.0.71 0 0 1 4 336 1432917027 1432917027 ACCEPT OK"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if recs[0].FlowDirection != flowlog.DirectionUnset {
		t.Fatalf("direction without session IPs: %v", recs[0].FlowDirection)
	}
}

func TestFlowCapCutsAndSkipData(t *testing.T) {
	h := newHarness(t, 2)
	const sec = 1_700_000_000
	for port := range uint16(5) {
		h.packet(t, testVNI, tcp(peer, eniA, 1000+port, 443, vxlan.TCPSyn, 0), sec)
	}
	cut := h.rec.Take()
	if len(cut) != 4 { // two cuts of two flows each; the fifth flow is still open
		t.Fatalf("%d records cut early, want 4", len(cut))
	}
	h.s.closeWindow(context.Background(), 0)
	recs := h.rec.Take()
	if len(recs) != 2 || recs[0].LogStatus != flowlog.StatusOK || recs[1].LogStatus != flowlog.StatusSkipData {
		t.Fatalf("window close: %+v", recs)
	}
	skip := string(flowlog.DefaultVPC.AppendText(nil, &recs[1]))
	if want := "2 123456789012 eni-1235b8ca123456789 - - - - - - - 1699999980 1700000040 - SKIPDATA"; skip != want {
		t.Fatalf("got  %s\nwant %s", skip, want)
	}
	var pkts uint64
	for _, r := range append(cut, recs[0]) {
		pkts += r.Packets
	}
	if pkts != 5 {
		t.Fatalf("%d packets in records, want 5 (none dropped)", pkts)
	}
}

func TestFragmentsJoinTheirFlow(t *testing.T) {
	h := newHarness(t, 1000)
	big := vxlantest.Frame(vxlantest.Spec{Src: eniA, Dst: peer, Proto: 17, SrcPort: 5000, DstPort: 6000, Payload: 4000, FragID: 99})
	frags := vxlantest.FragmentIPv4(big, 1500)
	var bytes uint64
	for _, f := range frags {
		h.packet(t, testVNI, f, 1_700_000_001)
		bytes += uint64(len(f) - 14)
	}
	// A later fragment of another datagram whose first fragment never came.
	orphan := vxlantest.FragmentIPv4(vxlantest.Frame(vxlantest.Spec{Src: eniA, Dst: peer, Proto: 17, SrcPort: 7, DstPort: 8, Payload: 2000, FragID: 100}), 1500)[1]
	h.packet(t, testVNI, orphan, 1_700_000_001)
	h.s.closeWindow(context.Background(), 0)
	recs := h.rec.Take()
	if len(recs) != 2 {
		t.Fatalf("%d records: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.SrcPort != 5000 || r.DstPort != 6000 || r.Packets != uint64(len(frags)) || r.Bytes != bytes {
		t.Fatalf("fragmented datagram: %d→%d %d packets %d bytes; want %d packets %d bytes", r.SrcPort, r.DstPort, r.Packets, r.Bytes, len(frags), bytes)
	}
	if recs[1].SrcPort != 0 || recs[1].DstPort != 0 || recs[1].Packets != 1 {
		t.Fatalf("orphan fragment: %+v", recs[1])
	}
}

func TestConfigAndSessionErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Interval = 30 * time.Second
	if _, err := New(cfg, &testenv.Recorder{}, component.Deps{}); err == nil || !strings.Contains(err.Error(), "60s or 600s") {
		t.Fatalf("interval 30s: %v", err)
	}
	cfg.Interval = 600 * time.Second
	if _, err := New(cfg, &testenv.Recorder{}, component.Deps{}); err != nil {
		t.Fatalf("interval 600s: %v", err)
	}
	for doc, want := range map[string]string{
		"sessions:\n  - vni: 1\n    interface-id: eni-1\n  - vni: 1\n    interface-id: eni-2\n": "appears twice",
		"sessions:\n  - vni: 16777216\n    interface-id: eni-1\n":                               "24 bits",
		"sessions:\n  - vni: 1\n    interfaceid: eni-1\n":                                       "interfaceid",
		"sessions:\n  - vni: 1\n":                                                               "interface-id is required",
		"sessions:\n  - vni: 1\n    interface-id: eni-1\n    ips: [10.0.0.300]\n":               "10.0.0.300",
	} {
		if _, err := ParseSessions([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}

func TestFragmentsOutOfOrder(t *testing.T) {
	h := newHarness(t, 1000)
	big := vxlantest.Frame(vxlantest.Spec{Src: eniA, Dst: peer, Proto: 17, SrcPort: 5000, DstPort: 6000, Payload: 4000, FragID: 7})
	frags := vxlantest.FragmentIPv4(big, 1500)
	for i := len(frags) - 1; i >= 0; i-- { // last fragment first, as two sockets or an NLB may deliver
		h.packet(t, testVNI, frags[i], 1_700_000_001)
	}
	h.s.closeWindow(context.Background(), 0)
	recs := h.rec.Take()
	if len(recs) != 1 || recs[0].SrcPort != 5000 || recs[0].Packets != uint64(len(frags)) {
		t.Fatalf("reordered fragments: %+v", recs)
	}
}

// TestTableGrowsInOrder fills a table well past its initial size with flows of both IP
// versions, each seen a different number of times, and checks every counter, the arrival
// order that records follow, and that IPv4 a.b.c.d and IPv6 ::ffff:a.b.c.d stay apart.
func TestTableGrowsInOrder(t *testing.T) {
	tb := newTable(1 << 20)
	const n = 5000
	mk := func(i int) item {
		var it item
		v6 := i%2 == 1
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if v6 {
			src = netip.AddrFrom16(src.As16()) // ::ffff:10.x.y.z in an IPv6 header
		}
		it.key.set(src, peer, uint32(i%7), vxlan.ProtoUDP, uint16(i), 53)
		it.v6, it.length, it.sec = v6, uint32(100+i%3), 1_700_000_010
		it.shash = shardHash(&it.key, it.v6)
		return it
	}
	for round := range 3 {
		for i := range n {
			if i%3 < round {
				continue
			}
			it := mk(i)
			it.sec += []int64{0, -1, 1}[round] // the second round is stamped before the first
			if !tb.add(&it) {
				t.Fatalf("flow %d refused", i)
			}
		}
	}
	if tb.len() != n {
		t.Fatalf("%d flows, want %d", tb.len(), n)
	}
	for i := range n {
		f := tb.at(i)
		want := mk(i)
		src, _ := f.addrs()
		rounds := uint64(1 + i%3) // round r skips the flows with i%3 < r
		if f.key != want.key || f.v6 != want.v6 || f.packets != rounds || f.bytes != rounds*uint64(want.length) {
			t.Fatalf("flow %d: %+v", i, f)
		}
		if (src.Is4() != !want.v6) || src.Unmap() != netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) {
			t.Fatalf("flow %d: source %v", i, src)
		}
		wantStart, wantEnd := int64(1_700_000_009), int64(1_700_000_010)
		switch i % 3 {
		case 0:
			wantStart = 1_700_000_010
		case 2:
			wantEnd = 1_700_000_011
		}
		if f.start() != wantStart || f.end() != wantEnd {
			t.Fatalf("flow %d (%d packets): start %d end %d, want %d–%d", i, f.packets, f.start(), f.end(), wantStart, wantEnd)
		}
	}
	tb.reset()
	if tb.len() != 0 {
		t.Fatalf("%d flows after reset", tb.len())
	}
	it := mk(1)
	if !tb.add(&it) || tb.len() != 1 || tb.at(0).packets != 1 {
		t.Fatal("table unusable after reset")
	}
	it.v6, it.shash = false, shardHash(&it.key, false) // the same words from an IPv4 header
	if !tb.add(&it) || tb.len() != 2 || tb.at(1).v6 || !tb.at(0).v6 {
		t.Fatalf("IPv4 and IPv4-mapped IPv6 flows merged: %d flows", tb.len())
	}
}

// TestTableMatchesModel feeds random packets from a small universe (so that flows repeat,
// probe chains form, and IPv4 and IPv4-mapped IPv6 share words) to a table and to a map,
// and compares every flow's counters and the arrival order.
func TestTableMatchesModel(t *testing.T) {
	type model struct {
		packets, bytes uint64
		first, last    int64
		flags          uint8
	}
	type mkey struct {
		k  flowKey
		v6 bool
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		tb := newTable(1 << 20)
		want := map[mkey]*model{}
		var order []mkey
		for range 1 + rng.IntN(20000) {
			var it item
			src := netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(4)), byte(rng.IntN(50))})
			it.v6 = rng.IntN(4) == 0
			if it.v6 && rng.IntN(2) == 0 {
				src = netip.AddrFrom16(src.As16())
			} else if it.v6 {
				src = netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(rng.IntN(50))})
			}
			it.key.set(src, peer, uint32(rng.IntN(3)), uint8([]int{1, 6, 17}[rng.IntN(3)]), uint16(rng.IntN(8)), 443)
			it.shash = shardHash(&it.key, it.v6)
			it.length, it.flags, it.sec = uint32(40+rng.IntN(1400)), uint8(rng.IntN(256)), 1_700_000_000+int64(rng.IntN(60))
			if !tb.add(&it) {
				t.Fatal("refused")
			}
			k := mkey{it.key, it.v6}
			m := want[k]
			if m == nil {
				m = &model{first: it.sec, last: it.sec}
				want[k] = m
				order = append(order, k)
			}
			m.packets++
			m.bytes += uint64(it.length)
			m.first, m.last = min(m.first, it.sec), max(m.last, it.sec)
			if it.key.proto() == vxlan.ProtoTCP || m.packets == 1 {
				m.flags |= awsTCPFlags(it.flags)
			}
		}
		if tb.len() != len(order) {
			t.Fatalf("round %d: %d flows, model %d", round, tb.len(), len(order))
		}
		for i, k := range order {
			f, m := tb.at(i), want[k]
			if f.key != k.k || f.v6 != k.v6 || f.packets != m.packets || f.bytes != m.bytes || f.start() != m.first ||
				f.end() != m.last || f.flags != m.flags {
				t.Fatalf("round %d flow %d: table %+v, model %+v", round, i, f, m)
			}
		}
	}
}
