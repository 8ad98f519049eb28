package vxlan_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/flowtap/flowtap/vxlan"
)

// BenchmarkDecode measures the hand-written decoder on the seed mix (budget: well under the
// 50 ns/packet of decode + flow-table update, 0 allocs). Compare with BenchmarkGopacket*.
func BenchmarkDecode(b *testing.B) {
	pkts := seedPackets()
	var p vxlan.Packet
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = vxlan.Decode(pkts[i%len(pkts)], &p)
	}
}

// BenchmarkGopacketNewPacket is the baseline: the same packets through gopacket.NewPacket
// from the VXLAN layer down, then reading the 5-tuple.
func BenchmarkGopacketNewPacket(b *testing.B) {
	pkts := seedPackets()
	b.ReportAllocs()
	var sink uint16
	for i := 0; b.Loop(); i++ {
		pkt := gopacket.NewPacket(pkts[i%len(pkts)], layers.LayerTypeVXLAN, gopacket.NoCopy)
		if tl := pkt.TransportLayer(); tl != nil {
			if raw := tl.TransportFlow().Src().Raw(); len(raw) > 0 {
				sink += uint16(raw[0])
			}
		}
	}
	_ = sink
}

// BenchmarkGopacketDecodingLayerParser is gopacket's fast path (preallocated layers, no
// Packet object): a stronger baseline than NewPacket.
func BenchmarkGopacketDecodingLayerParser(b *testing.B) {
	pkts := seedPackets()
	var (
		vx   layers.VXLAN
		eth  layers.Ethernet
		dot  layers.Dot1Q
		ip4  layers.IPv4
		ip6  layers.IPv6
		ext  layers.IPv6ExtensionSkipper
		tcp  layers.TCP
		udp  layers.UDP
		ic4  layers.ICMPv4
		ic6  layers.ICMPv6
		pay  gopacket.Payload
		seen []gopacket.LayerType
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeVXLAN, &vx, &eth, &dot, &ip4, &ip6, &ext, &tcp, &udp, &ic4, &ic6, &pay)
	parser.IgnoreUnsupported = true
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = parser.DecodeLayers(pkts[i%len(pkts)], &seen)
	}
}
