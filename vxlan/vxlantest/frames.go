// Package vxlantest builds real-shaped mirrored frames for tests, fuzz seeds and benchmarks
// of the decoder and the collector: Ethernet with optional 802.1Q/QinQ tags, IPv4 with
// options or IPv6 with extension headers, TCP/UDP/ICMP/ICMPv6, and IPv4 fragmentation.
// Frames are serialized with gopacket so that lengths and checksums are what a NIC sends.
package vxlantest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"

	"github.com/flowtap/flowtap/vxlan"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Spec describes one frame to build.
type Spec struct {
	VLANs []uint16 // 802.1Q tags, outermost first; with QinQ the first is an 802.1ad tag
	QinQ  bool

	Src, Dst netip.Addr // the IP family follows Src
	Proto    uint8      // 6, 17, 1 or 58 (anything else gets a raw payload)

	SrcPort, DstPort   uint16
	TCPFlags           uint8 // raw flag byte
	ICMPType, ICMPCode uint8
	Payload            int // bytes of transport payload

	IPv4Options int     // bytes of IPv4 NOP options (rounded up to 4)
	IPv6Ext     []uint8 // IPv6 extension headers in order: 0, 43, 60, 44 (8 bytes each) or 51 (AH, 12 bytes)
	FragID      uint32  // identification for the IPv6 fragment header (with 44 in IPv6Ext)
	TTL         uint8
}

// rawLayer lets tests place hand-made bytes (IPv6 extension headers) between gopacket layers.
type rawLayer []byte

func (r rawLayer) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	dst, err := b.PrependBytes(len(r))
	if err != nil {
		return err
	}
	copy(dst, r)
	return nil
}

func (rawLayer) LayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// Frame serializes s into an Ethernet frame (no FCS).
func Frame(s Spec) []byte {
	var ls []gopacket.SerializableLayer
	eth := &layers.Ethernet{
		SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 1},
		DstMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 2},
	}
	ls = append(ls, eth)
	v6 := s.Src.Is6() && !s.Src.Is4In6()
	ipType := layers.EthernetTypeIPv4
	if v6 {
		ipType = layers.EthernetTypeIPv6
	}
	next := &eth.EthernetType
	for i, id := range s.VLANs {
		*next = layers.EthernetTypeDot1Q
		if i == 0 && s.QinQ {
			*next = layers.EthernetTypeQinQ
		}
		tag := &layers.Dot1Q{VLANIdentifier: id}
		ls = append(ls, tag)
		next = &tag.Type
	}
	*next = ipType

	ttl := s.TTL
	if ttl == 0 {
		ttl = 64
	}
	var netLayer gopacket.NetworkLayer
	proto := layers.IPProtocol(s.Proto)
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: ttl, SrcIP: s.Src.AsSlice(), DstIP: s.Dst.AsSlice()}
		netLayer = ip
		ls = append(ls, ip)
		ip.NextHeader = layers.IPProtocol(firstOr(s.IPv6Ext, s.Proto))
		for i, t := range s.IPv6Ext {
			following := proto
			if i+1 < len(s.IPv6Ext) {
				following = layers.IPProtocol(s.IPv6Ext[i+1])
			}
			h := make([]byte, 8, 12)
			h[0] = byte(following)
			switch t {
			case 51:
				h = h[:12]
				h[1] = 1 // AH length in 4-byte units minus 2: SPI, sequence number, 4 bytes of ICV
			case 44:
				binary.BigEndian.PutUint32(h[4:], s.FragID)
				// offset 0, M=0: an atomic fragment, whose transport follows
			case 43:
				h[2] = 4 // segment routing type with no segments: skipped by receivers
			default:
				h[2], h[3] = 1, 4 // PadN option filling the header
			}
			ls = append(ls, rawLayer(h))
		}
	} else {
		ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: proto, Id: uint16(s.FragID),
			SrcIP: s.Src.AsSlice(), DstIP: s.Dst.AsSlice()}
		for n := 0; n < s.IPv4Options; n += 4 {
			for range 4 {
				ip.Options = append(ip.Options, layers.IPv4Option{OptionType: 1, OptionLength: 1})
			}
		}
		netLayer = ip
		ls = append(ls, ip)
	}
	payload := make([]byte, s.Payload)
	for i := range payload {
		payload[i] = byte(i)
	}
	switch s.Proto {
	case 6:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(s.SrcPort), DstPort: layers.TCPPort(s.DstPort),
			Seq: 1000, Ack: 2000, Window: 65535,
			FIN: s.TCPFlags&0x01 != 0, SYN: s.TCPFlags&0x02 != 0, RST: s.TCPFlags&0x04 != 0,
			PSH: s.TCPFlags&0x08 != 0, ACK: s.TCPFlags&0x10 != 0, URG: s.TCPFlags&0x20 != 0,
			ECE: s.TCPFlags&0x40 != 0, CWR: s.TCPFlags&0x80 != 0}
		_ = tcp.SetNetworkLayerForChecksum(netLayer)
		ls = append(ls, tcp)
	case 17:
		udp := &layers.UDP{SrcPort: layers.UDPPort(s.SrcPort), DstPort: layers.UDPPort(s.DstPort)}
		_ = udp.SetNetworkLayerForChecksum(netLayer)
		ls = append(ls, udp)
	case 1:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(s.ICMPType, s.ICMPCode), Id: 7, Seq: 1})
	case 58:
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(s.ICMPType, s.ICMPCode)}
		_ = icmp.SetNetworkLayerForChecksum(netLayer)
		ls = append(ls, icmp)
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(fmt.Sprintf("vxlantest: serialize %+v: %v", s, err))
	}
	return append([]byte(nil), buf.Bytes()...)
}

func firstOr(xs []uint8, d uint8) uint8 {
	if len(xs) > 0 {
		return xs[0]
	}
	return d
}

// VXLAN prepends a VXLAN header with the given VNI to frame: the UDP payload a mirror
// target receives. (replay's encapsulation builds whole datagrams; tests of the decoder
// need only this.)
func VXLAN(vni uint32, frame []byte) []byte {
	b := make([]byte, 8, 8+len(frame))
	b[0] = 0x08
	b[4], b[5], b[6] = byte(vni>>16), byte(vni>>8), byte(vni)
	return append(b, frame...)
}

// FragmentIPv4 splits the IPv4 packet in an Ethernet frame (untagged) into fragments whose
// IP packets are at most mtu bytes, as a router would, and returns them as frames.
func FragmentIPv4(frame []byte, mtu int) [][]byte {
	const eth = 14
	ip := frame[eth:]
	hl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	data := ip[hl:total]
	chunk := (mtu - hl) &^ 7
	var out [][]byte
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		f := make([]byte, 0, eth+hl+end-off)
		f = append(f, frame[:eth]...)
		f = append(f, ip[:hl]...)
		f = append(f, data[off:end]...)
		h := f[eth:]
		binary.BigEndian.PutUint16(h[2:], uint16(hl+end-off))
		fl := uint16(off / 8)
		if end < len(data) {
			fl |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], fl)
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:], ^vxlan.OnesSum(h[:hl]))
		out = append(out, f)
	}
	return out
}

// Random returns a random real-shaped spec: TCP, UDP or ICMP over IPv4 or IPv6, sometimes
// VLAN-tagged, with IPv4 options or IPv6 extension headers.
func Random(rng *rand.Rand) Spec {
	var s Spec
	switch rng.IntN(6) {
	case 0:
		s.VLANs = []uint16{uint16(rng.IntN(4095) + 1)}
	case 1:
		s.VLANs = []uint16{uint16(rng.IntN(4095) + 1), uint16(rng.IntN(4095) + 1)}
		s.QinQ = rng.IntN(2) == 0
	}
	v6 := rng.IntN(3) == 0
	if v6 {
		var a, b [16]byte
		a[0], a[1] = 0x20, 0x01
		b[0], b[1] = 0x20, 0x01
		for i := 8; i < 16; i++ {
			a[i], b[i] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		s.Src, s.Dst = netip.AddrFrom16(a), netip.AddrFrom16(b)
		// Each extension header at most once, in RFC 8200 order.
		for _, t := range []uint8{0, 60, 43, 44} {
			if rng.IntN(3) == 0 {
				s.IPv6Ext = append(s.IPv6Ext, t)
			}
		}
		s.FragID = rng.Uint32()
	} else {
		s.Src = netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(254) + 1)})
		s.Dst = netip.AddrFrom4([4]byte{172, 16, byte(rng.IntN(256)), byte(rng.IntN(254) + 1)})
		if rng.IntN(4) == 0 {
			s.IPv4Options = 4 * (1 + rng.IntN(10))
		}
		s.FragID = uint32(rng.IntN(65536))
	}
	switch rng.IntN(4) {
	case 0, 1:
		s.Proto = 6
		s.TCPFlags = uint8(rng.IntN(256))
	case 2:
		s.Proto = 17
	default:
		s.Proto = 1
		if v6 {
			s.Proto = 58
		}
		types := []uint8{0, 3, 8, 11} // echo reply, unreachable, echo, time exceeded
		if v6 {
			types = []uint8{1, 2, 3, 128, 129}
		}
		s.ICMPType, s.ICMPCode = types[rng.IntN(len(types))], uint8(rng.IntN(16))
	}
	s.SrcPort, s.DstPort = uint16(rng.IntN(65536)), uint16(rng.IntN(65536))
	s.Payload = rng.IntN(1400)
	return s
}
