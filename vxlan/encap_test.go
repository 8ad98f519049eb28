package vxlan_test

import (
	"bytes"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/flowtap/flowtap/vxlan"
)

// encapFlow is one inner flow for building test frames.
type encapFlow struct {
	v6           bool
	src, dst     net.IP
	proto        layers.IPProtocol
	sport, dport uint16
	vlan         uint16 // 0: untagged
}

// encapFrame builds a frame of flow f; variant changes everything that is not part of the
// flow (payload, TTL, IP ID, TCP flags and sequence numbers, ICMP type and id).
func encapFrame(t testing.TB, f encapFlow, variant int) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	ipType := layers.EthernetTypeIPv4
	if f.v6 {
		ipType = layers.EthernetTypeIPv6
	}
	if f.vlan != 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: f.vlan, Type: ipType})
	} else {
		eth.EthernetType = ipType
	}
	var netL gopacket.NetworkLayer
	if f.v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: uint8(1 + variant%200), NextHeader: f.proto, SrcIP: f.src, DstIP: f.dst}
		ls, netL = append(ls, ip), ip
	} else {
		ip := &layers.IPv4{Version: 4, TTL: uint8(1 + variant%200), Id: uint16(variant * 7), Protocol: f.proto, SrcIP: f.src, DstIP: f.dst}
		ls, netL = append(ls, ip), ip
	}
	payload := gopacket.Payload(bytes.Repeat([]byte{byte(variant)}, variant%300))
	switch f.proto {
	case layers.IPProtocolTCP:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(f.sport), DstPort: layers.TCPPort(f.dport), Seq: uint32(variant * 1000), SYN: variant%3 == 0, ACK: variant%3 != 0, FIN: variant%5 == 0, Window: 512}
		_ = tcp.SetNetworkLayerForChecksum(netL)
		ls = append(ls, tcp)
	case layers.IPProtocolUDP:
		udp := &layers.UDP{SrcPort: layers.UDPPort(f.sport), DstPort: layers.UDPPort(f.dport)}
		_ = udp.SetNetworkLayerForChecksum(netL)
		ls = append(ls, udp)
	case layers.IPProtocolICMPv4:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(variant%2*8), 0), Id: uint16(variant), Seq: uint16(variant)})
	case layers.IPProtocolICMPv6:
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(uint8(128+variant%2), 0)}
		_ = icmp.SetNetworkLayerForChecksum(netL)
		ls = append(ls, icmp)
	}
	ls = append(ls, payload)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func encapRandomFlow(rng *rand.Rand) encapFlow {
	f := encapFlow{v6: rng.IntN(3) == 0, sport: uint16(rng.IntN(65536)), dport: uint16(rng.IntN(65536))}
	if rng.IntN(4) == 0 {
		f.vlan = uint16(1 + rng.IntN(4094))
	}
	n := 4
	if f.v6 {
		n = 16
	}
	f.src, f.dst = make(net.IP, n), make(net.IP, n)
	for i := range f.src {
		f.src[i], f.dst[i] = byte(rng.IntN(256)), byte(rng.IntN(256))
	}
	if !f.v6 {
		f.src[0], f.dst[0] = 10, 52 // stay clear of multicast/reserved first octets
	}
	switch rng.IntN(4) {
	case 0, 1:
		f.proto = layers.IPProtocolTCP
	case 2:
		f.proto = layers.IPProtocolUDP
	default:
		f.proto = layers.IPProtocolICMPv4
		if f.v6 {
			f.proto = layers.IPProtocolICMPv6
		}
	}
	return f
}

func TestAppendEncapRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		frame := encapFrame(t, encapRandomFlow(rng), i)
		vni := uint32(rng.IntN(vxlan.MaxVNI + 1))
		for _, pl := range []int{0, 1, 14, 54, len(frame) - 1, len(frame), len(frame) + 100, 8500} {
			prefix := []byte("keep")
			out := vxlan.AppendEncap(prefix, vni, frame, pl)
			if !bytes.Equal(out[:4], []byte("keep")) {
				t.Fatal("AppendEncap overwrote dst's existing bytes")
			}
			payload := out[4:]
			want := frame
			if pl > 0 && pl < len(frame) {
				want = frame[:pl]
			}
			if len(payload) != vxlan.EncapHeaderLen+len(want) {
				t.Fatalf("packetLength %d, frame %d B: payload %d B, want %d", pl, len(frame), len(payload), vxlan.EncapHeaderLen+len(want))
			}
			if payload[0] != 0x08 || payload[1]|payload[2]|payload[3]|payload[7] != 0 {
				t.Fatalf("header % x: want flags 08 and zero reserved bytes", payload[:8])
			}
			p := gopacket.NewPacket(payload, layers.LayerTypeVXLAN, gopacket.Default)
			vx, ok := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
			if !ok {
				t.Fatalf("gopacket does not see VXLAN in % x", payload[:8])
			}
			if !vx.ValidIDFlag || vx.VNI != vni || vx.GBPExtension {
				t.Fatalf("decoded I=%v VNI=%d GBP=%v, want I=true VNI=%d", vx.ValidIDFlag, vx.VNI, vx.GBPExtension, vni)
			}
			if !bytes.Equal(vx.LayerPayload(), want) {
				t.Fatalf("inner frame differs after packetLength %d", pl)
			}
			if pl == 0 || pl >= len(frame) {
				// A whole frame decodes to the same layers as the original.
				eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				if !ok || !bytes.Equal(eth.Contents, frame[:14]) {
					t.Fatalf("inner Ethernet header not decoded")
				}
			}
		}
	}
}

func TestAppendEncapAllocatesNothing(t *testing.T) {
	frame := encapFrame(t, encapRandomFlow(rand.New(rand.NewPCG(3, 4))), 1)
	buf := make([]byte, 0, 2048)
	allocs := testing.AllocsPerRun(100, func() {
		buf = vxlan.AppendEncap(buf[:0], 7, frame, 0)
		_ = vxlan.SourcePort(frame)
	})
	if allocs != 0 {
		t.Fatalf("AppendEncap+SourcePort allocate %.1f times per packet, want 0", allocs)
	}
}

// TestSourcePortStablePerFlow is a property test: every packet of a flow, whatever its
// payload, TTL, IP ID, TCP flags, ICMP type or VLAN tag, gets the same source port.
func TestSourcePortStablePerFlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 300; i++ {
		f := encapRandomFlow(rng)
		want := vxlan.SourcePort(encapFrame(t, f, 0))
		if want < vxlan.EphemeralPortMin {
			t.Fatalf("port %d below the ephemeral range", want)
		}
		for v := 1; v < 8; v++ {
			g := f
			if v%2 == 0 {
				g.vlan = uint16(v) // a tag is L2, not part of the flow
			}
			if got := vxlan.SourcePort(encapFrame(t, g, v*37)); got != want {
				t.Fatalf("flow %+v: packet %d got port %d, first packet %d", f, v, got, want)
			}
		}
	}
}

// TestSourcePortSpread checks that flows spread evenly: over 16 buckets (as replay's
// sockets use them) and over the port range, and that changing any one 5-tuple field
// almost always changes the port.
func TestSourcePortSpread(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const flows, buckets = 8000, 16
	var count [buckets]int
	ports := map[uint16]bool{}
	changed := 0
	for i := 0; i < flows; i++ {
		f := encapRandomFlow(rng)
		f.proto = layers.IPProtocolTCP
		frame := encapFrame(t, f, i)
		h := vxlan.FlowHash(frame)
		count[h%buckets]++
		ports[vxlan.SourcePort(frame)] = true
		g := f
		switch i % 3 {
		case 0:
			g.sport++
		case 1:
			g.dport++
		default:
			g.src = append(net.IP(nil), f.src...)
			g.src[len(g.src)-1]++
		}
		if vxlan.FlowHash(encapFrame(t, g, i)) != h {
			changed++
		}
	}
	for b, n := range count {
		if exp := flows / buckets; n < exp*8/10 || n > exp*12/10 {
			t.Errorf("bucket %d holds %d flows, expected %d ± 20%%", b, n, exp)
		}
	}
	// 8000 random draws from 16384 ports leave about 6500 distinct ones.
	if len(ports) < 6000 {
		t.Errorf("%d flows used only %d distinct ports", flows, len(ports))
	}
	if changed < flows-2 {
		t.Errorf("changing one tuple field kept the hash in %d of %d flows", flows-changed, flows)
	}
}

// TestFlowHashOddFrames makes sure short, non-IP, truncated and fragmented frames hash
// without panicking and that non-first fragments do not depend on bytes where ports would
// be.
func TestFlowHashOddFrames(t *testing.T) {
	f := encapFrame(t, encapFlow{src: net.IP{10, 0, 1, 1}, dst: net.IP{10, 0, 1, 2}, proto: layers.IPProtocolUDP, sport: 1, dport: 2}, 3)
	for n := 0; n <= len(f); n++ {
		_ = vxlan.FlowHash(f[:n])
	}
	frag := append([]byte(nil), f...)
	frag[14+6] = 0x00
	frag[14+7] = 0x10 // fragment offset 16 × 8 bytes
	other := append([]byte(nil), frag...)
	other[14+20], other[14+21] = 0xff, 0xff // "ports" in a non-first fragment are payload
	if vxlan.FlowHash(frag) != vxlan.FlowHash(other) {
		t.Error("non-first fragment hash depends on payload bytes")
	}
}

func BenchmarkEncap(b *testing.B) {
	frames := make([][]byte, 64)
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range frames {
		frames[i] = encapFrame(b, encapRandomFlow(rng), i*20)
	}
	buf := make([]byte, 0, 2048)
	var sum uint32
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := frames[i&63]
		buf = vxlan.AppendEncap(buf[:0], 42, f, 0)
		sum += uint32(vxlan.SourcePort(f))
	}
	_ = sum
}
