package vxlan_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/flowtap/flowtap/vxlan"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

var (
	v4a = netip.MustParseAddr("10.0.0.71")
	v4b = netip.MustParseAddr("52.95.128.179")
	v6a = netip.MustParseAddr("2001:db8:1234:a100:8d6e:3477:df66:f105")
	v6b = netip.MustParseAddr("2001:db8:1234:a102:3304:8879:34cf:4071")
)

// oracle summarizes a frame with gopacket's decoders: the independent truth for Decode.
// portsKnown is false when gopacket cannot say (it stops at IPv6 fragment headers).
func oracle(t *testing.T, frame []byte) (p vxlan.Packet, portsKnown bool) {
	t.Helper()
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	// Errors above the transport (gopacket guesses applications from ports) do not matter.
	if el := pkt.ErrorLayer(); el != nil && pkt.TransportLayer() == nil &&
		pkt.Layer(layers.LayerTypeICMPv4) == nil && pkt.Layer(layers.LayerTypeICMPv6) == nil {
		t.Fatalf("gopacket cannot decode the frame: %v", el.Error())
	}
	for _, l := range pkt.Layers() {
		if d, ok := l.(*layers.Dot1Q); ok {
			if p.VLANTags == 0 {
				p.VLAN = d.VLANIdentifier
			}
			p.VLANTags++
		}
	}
	portsKnown = true
	if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		p.IPVersion = 4
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.Proto = uint8(ip.Protocol)
		p.IPLength = uint32(ip.Length)
		p.Frag.Offset = ip.FragOffset
		p.Frag.More = ip.Flags&layers.IPv4MoreFragments != 0
		if p.IsFragment() {
			p.Frag.ID = uint32(ip.Id)
		}
	}
	if ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		p.IPVersion = 6
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.IPLength = 40 + uint32(ip.Length)
		p.Proto = uint8(ip.NextHeader)
		for _, l := range pkt.Layers() {
			switch e := l.(type) {
			case *layers.IPv6HopByHop:
				p.Proto = uint8(e.NextHeader)
			case *layers.IPv6Routing:
				p.Proto = uint8(e.NextHeader)
			case *layers.IPv6Destination:
				p.Proto = uint8(e.NextHeader)
			case *layers.IPv6Fragment:
				p.Proto = uint8(e.NextHeader)
				p.Frag = vxlan.Fragment{ID: e.Identification, Offset: e.FragmentOffset, More: e.MoreFragments}
			}
		}
	}
	if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		p.SrcPort, p.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
		p.TCPFlags = tcp.Contents[13]
	} else if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		p.SrcPort, p.DstPort = uint16(udp.SrcPort), uint16(udp.DstPort)
	} else if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		p.ICMPType, p.ICMPCode = icmp.TypeCode.Type(), icmp.TypeCode.Code()
	} else if icmp, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		p.ICMPType, p.ICMPCode = icmp.TypeCode.Type(), icmp.TypeCode.Code()
	} else if pkt.Layer(gopacket.LayerTypeFragment) != nil && p.Frag.Offset == 0 {
		portsKnown = false // gopacket does not look behind IPv6 fragment headers
	}
	p.Captured = p.IPLength
	return p, portsKnown
}

// TestDecodeMatchesGopacket is the property test: random real-shaped frames, decoded by
// Decode and by gopacket, must agree on every summary field.
func TestDecodeMatchesGopacket(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var got vxlan.Packet
	for i := range 3000 {
		s := vxlantest.Random(rng)
		frame := vxlantest.Frame(s)
		vni := rng.Uint32() & 0xffffff
		if err := vxlan.Decode(vxlantest.VXLAN(vni, frame), &got); err != nil {
			t.Fatalf("case %d %+v: %v", i, s, err)
		}
		want, portsKnown := oracle(t, frame)
		want.VNI, want.Encap = vni, vxlan.EncapVXLAN
		if !portsKnown {
			want.SrcPort, want.DstPort, want.TCPFlags = got.SrcPort, got.DstPort, got.TCPFlags
			want.ICMPType, want.ICMPCode = got.ICMPType, got.ICMPCode
		}
		if got != want {
			t.Fatalf("case %d %+v:\n got %+v\nwant %+v", i, s, got, want)
		}
	}
}

func TestDecodeVXLANHeader(t *testing.T) {
	frame := vxlantest.Frame(vxlantest.Spec{Src: v4a, Dst: v4b, Proto: 6, SrcPort: 34210, DstPort: 80, TCPFlags: vxlan.TCPSyn})
	pkt := vxlantest.VXLAN(0xabcdef, frame)
	pkt[0] = 0xff // reserved flag bits set: ignored
	pkt[1], pkt[2], pkt[3], pkt[7] = 1, 2, 3, 4
	var p vxlan.Packet
	if err := vxlan.Decode(pkt, &p); err != nil {
		t.Fatal(err)
	}
	if p.VNI != 0xabcdef || p.SrcPort != 34210 || p.DstPort != 80 || p.TCPFlags != vxlan.TCPSyn || p.Src != v4a || p.Dst != v4b {
		t.Fatalf("got %+v", p)
	}
	if p.IPLength != 40 || p.Truncated {
		t.Fatalf("length %d truncated %v, want 40 false", p.IPLength, p.Truncated)
	}
	pkt[0] = 0xf7
	if err := vxlan.Decode(pkt, &p); err != vxlan.ErrBadFlags {
		t.Fatalf("I flag clear: got %v", err)
	}
	if err := vxlan.Decode(pkt[:7], &p); err != vxlan.ErrShortHeader {
		t.Fatalf("7 bytes: got %v", err)
	}
}

func TestDecodeTruncated(t *testing.T) {
	frame := vxlantest.Frame(vxlantest.Spec{VLANs: []uint16{7}, Src: v4a, Dst: v4b, Proto: 6, SrcPort: 1, DstPort: 2,
		TCPFlags: vxlan.TCPFin | vxlan.TCPAck, Payload: 1000, IPv4Options: 8})
	var p vxlan.Packet
	for _, tc := range []struct {
		keep      int // bytes of the frame kept (session PacketLength)
		err       error
		flags     uint8
		truncated bool
	}{
		{len(frame), nil, vxlan.TCPFin | vxlan.TCPAck, false},
		{200, nil, vxlan.TCPFin | vxlan.TCPAck, true},
		{18 + 28 + 14, nil, vxlan.TCPFin | vxlan.TCPAck, true}, // flags byte is the last kept
		{18 + 28 + 13, nil, 0, true},                           // flags cut, ports kept
		{18 + 28 + 4, nil, 0, true},
		{18 + 28 + 3, vxlan.ErrTruncatedL4, 0, true},
		{18 + 27, vxlan.ErrTruncatedIP, 0, true}, // options cut
		{18 + 19, vxlan.ErrTruncatedIP, 0, true},
		{17, vxlan.ErrShortFrame, 0, true},
	} {
		err := vxlan.Decode(vxlantest.VXLAN(1, frame[:tc.keep]), &p)
		if err != tc.err {
			t.Fatalf("keep %d: err %v, want %v", tc.keep, err, tc.err)
		}
		if err != nil {
			continue
		}
		if p.IPLength != uint32(len(frame)-18) || p.Truncated != tc.truncated || p.TCPFlags != tc.flags || p.VLAN != 7 {
			t.Fatalf("keep %d: got %+v", tc.keep, p)
		}
		if p.Captured != uint32(min(tc.keep, len(frame))-18) {
			t.Fatalf("keep %d: captured %d", tc.keep, p.Captured)
		}
	}
}

func TestDecodeIPv4Fragments(t *testing.T) {
	frame := vxlantest.Frame(vxlantest.Spec{Src: v4a, Dst: v4b, Proto: 17, SrcPort: 5353, DstPort: 53, Payload: 3000, FragID: 0x4242})
	frags := vxlantest.FragmentIPv4(frame, 1500)
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	var total uint32
	for i, f := range frags {
		var p vxlan.Packet
		if err := vxlan.Decode(vxlantest.VXLAN(9, f), &p); err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		want, _ := oracle(t, f)
		if p.Frag != want.Frag || p.IPLength != want.IPLength || !p.IsFragment() || p.Frag.ID != 0x4242 {
			t.Fatalf("fragment %d: got %+v want %+v", i, p, want)
		}
		if (i == 0) != (p.SrcPort == 5353 && p.DstPort == 53) || p.HasL4() != (i == 0) {
			t.Fatalf("fragment %d: ports %d→%d", i, p.SrcPort, p.DstPort)
		}
		total += p.IPLength - 20
	}
	if total != 3008 {
		t.Fatalf("fragments carry %d bytes of UDP, want 3008", total)
	}
}

func TestDecodeIPv6ExtensionHeaders(t *testing.T) {
	frame := vxlantest.Frame(vxlantest.Spec{VLANs: []uint16{100, 200}, QinQ: true, Src: v6a, Dst: v6b, Proto: 6,
		SrcPort: 34892, DstPort: 22, TCPFlags: vxlan.TCPSyn | vxlan.TCPAck, IPv6Ext: []uint8{0, 43, 60, 44}, FragID: 77})
	var p vxlan.Packet
	if err := vxlan.Decode(vxlantest.VXLAN(5, frame), &p); err != nil {
		t.Fatal(err)
	}
	if p.Proto != 6 || p.SrcPort != 34892 || p.DstPort != 22 || p.TCPFlags != 0x12 || p.VLAN != 100 || p.VLANTags != 2 || p.IPVersion != 6 {
		t.Fatalf("got %+v", p)
	}
	if p.Frag.ID != 77 || p.IsFragment() {
		t.Fatalf("atomic fragment: %+v", p.Frag)
	}
	// A later fragment: offset ≠ 0 in the fragment header, no transport header.
	ip := frame[22:]
	off := 40 + 8 + 8 + 8 // hop-by-hop, routing, destination options
	binary.BigEndian.PutUint16(ip[off+2:], 185<<3|1)
	if err := vxlan.Decode(vxlantest.VXLAN(5, frame), &p); err != nil {
		t.Fatal(err)
	}
	if p.SrcPort != 0 || p.DstPort != 0 || p.Frag.Offset != 185 || !p.Frag.More || p.Proto != 6 {
		t.Fatalf("later fragment: %+v", p)
	}
	// Cut inside the extension headers.
	if err := vxlan.Decode(vxlantest.VXLAN(5, frame[:22+40+12]), &p); err != vxlan.ErrTruncatedL4 {
		t.Fatalf("cut extension header: %v", err)
	}
	// An authentication header counts its length in 4-byte units, not 8.
	ah := vxlantest.Frame(vxlantest.Spec{Src: v6a, Dst: v6b, Proto: 17, SrcPort: 5353, DstPort: 53, IPv6Ext: []uint8{0, 51}})
	if err := vxlan.Decode(vxlantest.VXLAN(5, ah), &p); err != nil || p.Proto != 17 || p.SrcPort != 5353 || p.DstPort != 53 {
		t.Fatalf("behind an authentication header: %v %+v", err, p)
	}
}

func TestDecodeICMP(t *testing.T) {
	var p vxlan.Packet
	f4 := vxlantest.Frame(vxlantest.Spec{Src: v4b, Dst: v4a, Proto: 1, ICMPType: 8, Payload: 56})
	if err := vxlan.Decode(vxlantest.VXLAN(1, f4), &p); err != nil || p.ICMPType != 8 || p.SrcPort != 0 || p.IPLength != 84 {
		t.Fatalf("ICMP echo: %v %+v", err, p)
	}
	f6 := vxlantest.Frame(vxlantest.Spec{Src: v6a, Dst: v6b, Proto: 58, ICMPType: 1, ICMPCode: 4, Payload: 48})
	if err := vxlan.Decode(vxlantest.VXLAN(1, f6), &p); err != nil || p.ICMPType != 1 || p.ICMPCode != 4 || p.Proto != 58 {
		t.Fatalf("ICMPv6: %v %+v", err, p)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := vxlantest.Frame(vxlantest.Spec{Src: v4a, Dst: v4b, Proto: 17, SrcPort: 1, DstPort: 2, Payload: 10})
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	arp := mut(func(b []byte) []byte { b[12], b[13] = 0x08, 0x06; return b })
	badVer := mut(func(b []byte) []byte { b[14] = 0x65; return b })
	badIHL := mut(func(b []byte) []byte { b[14] = 0x44; return b })
	badLen := mut(func(b []byte) []byte { b[16], b[17] = 0, 10; return b })
	v6asV4 := vxlantest.Frame(vxlantest.Spec{Src: v6a, Dst: v6b, Proto: 17})
	v6asV4[12], v6asV4[13] = 0x08, 0x00
	manyTags := vxlantest.Frame(vxlantest.Spec{VLANs: []uint16{1, 2, 3, 4, 5}, Src: v4a, Dst: v4b, Proto: 17})
	loopExt := vxlantest.Frame(vxlantest.Spec{Src: v6a, Dst: v6b, Proto: 60, IPv6Ext: []uint8{60, 60, 60, 60, 60, 60, 60, 60, 60}, Payload: 80})
	for name, tc := range map[string]struct {
		frame []byte
		want  vxlan.Reason
	}{
		"arp": {arp, vxlan.ErrUnknownEtherType}, "version": {badVer, vxlan.ErrBadIPVersion},
		"ihl": {badIHL, vxlan.ErrBadIHL}, "length": {badLen, vxlan.ErrBadIPLength},
		"v6 as v4": {v6asV4, vxlan.ErrBadIPVersion}, "tags": {manyTags, vxlan.ErrTooManyVLANs},
		"ext chain": {loopExt, vxlan.ErrBadExtHeader}, "empty": {nil, vxlan.ErrShortFrame},
	} {
		var p vxlan.Packet
		err := vxlan.Decode(vxlantest.VXLAN(1, tc.frame), &p)
		var r vxlan.Reason
		if !errors.As(err, &r) || r != tc.want {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
		if r.Label() == "" || r.Label() == "unknown" {
			t.Errorf("%s: no label for %v", name, r)
		}
	}
}

// geneve builds a GENEVE header (with one 8-byte option, as GWLB adds) around payload.
func geneve(proto uint16, vni uint32, payload []byte) []byte {
	b := make([]byte, 16, 16+len(payload))
	b[0] = 2 // option length: 2 words
	binary.BigEndian.PutUint16(b[2:], proto)
	b[4], b[5], b[6] = byte(vni>>16), byte(vni>>8), byte(vni)
	binary.BigEndian.PutUint16(b[8:], 0x0108) // option class
	b[11] = 1                                 // option length 1 word
	return append(b, payload...)
}

// outerVXLAN builds the IPv4/UDP/VXLAN packet a mirror source sends, without Ethernet.
func outerVXLAN(t *testing.T, vni uint32, frame []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: v4a.AsSlice(), DstIP: []byte{10, 9, 9, 9}}
	udp := &layers.UDP{SrcPort: 50000, DstPort: vxlan.PortVXLAN}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ip, udp, gopacket.Payload(vxlantest.VXLAN(vni, frame)))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeGENEVE(t *testing.T) {
	frame := vxlantest.Frame(vxlantest.Spec{Src: v6a, Dst: v6b, Proto: 6, SrcPort: 443, DstPort: 50123, TCPFlags: vxlan.TCPRst, Payload: 3})
	var p vxlan.Packet
	if err := vxlan.DecodeGENEVE(geneve(0x6558, 77, frame), &p); err != nil || p.Encap != vxlan.EncapGENEVE || p.VNI != 77 || p.SrcPort != 443 || p.TCPFlags != vxlan.TCPRst {
		t.Fatalf("GENEVE Ethernet: %v %+v", err, p)
	}
	if err := vxlan.DecodeGENEVE(geneve(0x86dd, 78, frame[14:]), &p); err != nil || p.VNI != 78 || p.DstPort != 50123 || p.IPVersion != 6 {
		t.Fatalf("GENEVE IPv6: %v %+v", err, p)
	}
	// GWLB endpoint target: GENEVE(IPv4(UDP 4789(VXLAN(frame)))).
	wrapped := geneve(0x0800, 0, outerVXLAN(t, 0x1234, frame))
	if err := vxlan.DecodeGENEVE(wrapped, &p); err != nil || p.Encap != vxlan.EncapGENEVEVXLAN || p.VNI != 0x1234 || p.Src != v6a || p.SrcPort != 443 {
		t.Fatalf("GENEVE-wrapped VXLAN: %v %+v", err, p)
	}
	bad := append([]byte(nil), wrapped...)
	bad[0] |= 0x40
	if err := vxlan.DecodeGENEVE(bad, &p); err != vxlan.ErrBadGENEVEVersion {
		t.Fatalf("version: %v", err)
	}
	if err := vxlan.DecodeGENEVE(geneve(0x0806, 1, frame), &p); err != vxlan.ErrUnknownProtocol {
		t.Fatalf("protocol: %v", err)
	}
	if err := vxlan.DecodeGENEVE(wrapped[:12], &p); err != vxlan.ErrShortHeader {
		t.Fatalf("options cut: %v", err)
	}
}

func TestDecodeAllocs(t *testing.T) {
	pkts := seedPackets()
	var p vxlan.Packet
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range pkts {
			_ = vxlan.Decode(b, &p)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decode allocates %.1f times per run", allocs)
	}
}
