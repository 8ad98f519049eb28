// Package vxlan decodes VPC Traffic Mirroring packets: the VXLAN header (UDP 4789), or the
// GENEVE header (UDP 6081) that Gateway Load Balancer targets receive, and the mirrored
// frame inside (Ethernet, 802.1Q/QinQ, IPv4 with options and fragments, IPv6 with extension
// headers, TCP, UDP, SCTP, ICMP, ICMPv6), into a small Packet summary for flow accounting.
// It also builds such packets for replay (encap.go).
//
// The decoder is hand-written rather than built on gopacket because it sits on the receive
// hot path: its budget is a few tens of nanoseconds and zero allocations per packet (see
// BenchmarkDecode; gopacket serves as its test oracle and benchmark baseline). Malformed
// input yields a Reason, a typed error that callers count by its Label.
//
// Truncation: mirror sessions may cut packets to PacketLength, so Packet.IPLength comes from
// the IP header's length field, never from the bytes that arrived.
package vxlan

import (
	"net/netip"
)

// Well-known UDP ports of the encapsulations this package decodes.
const (
	PortVXLAN  = 4789
	PortGENEVE = 6081
)

// Encap says how the mirrored frame reached the collector.
type Encap uint8

const (
	// EncapVXLAN is plain VXLAN, as an NLB or ENI mirror target receives it.
	EncapVXLAN Encap = iota + 1
	// EncapGENEVE is a GENEVE packet carrying the frame directly (Ethernet or IP payload).
	EncapGENEVE
	// EncapGENEVEVXLAN is a VXLAN mirror packet wrapped by a Gateway Load Balancer in GENEVE.
	EncapGENEVEVXLAN
)

func (e Encap) String() string {
	switch e {
	case EncapVXLAN:
		return "vxlan"
	case EncapGENEVE:
		return "geneve"
	case EncapGENEVEVXLAN:
		return "geneve+vxlan"
	}
	return "none"
}

// IP protocol numbers the decoder looks into.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// TCP header flag bits as they appear on the wire (byte 13 of the TCP header).
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Fragment describes IP fragmentation of a packet (IPv4 header or IPv6 fragment header).
// A packet that is not a fragment has the zero value.
type Fragment struct {
	ID     uint32 // IPv4 identification (16 bits) or IPv6 fragment identification
	Offset uint16 // fragment offset in 8-byte units; only offset 0 carries the L4 header
	More   bool   // more fragments follow
}

// Packet is the summary of one mirrored packet: what flow accounting needs, nothing more.
// Decode fills every field, so a Packet can be reused without clearing.
type Packet struct {
	VNI   uint32 // VXLAN VNI (the mirror session's VirtualNetworkId) or GENEVE VNI
	Encap Encap

	VLAN     uint16 // VLAN ID of the outermost 802.1Q/802.1ad tag; 0 when untagged
	VLANTags uint8  // number of VLAN tags (2 for QinQ)

	IPVersion uint8 // 4 or 6
	Proto     uint8 // IANA protocol of the transport (after IPv6 extension headers)
	TCPFlags  uint8 // raw TCP flags byte; 0 if not TCP or cut off by truncation
	ICMPType  uint8 // ICMP/ICMPv6 type, when Proto is ICMP or ICMPv6
	ICMPCode  uint8

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // 0 for protocols without ports and for non-first fragments

	// IPLength is the length of the IP packet according to its header (IPv4 total length,
	// IPv6 40 + payload length): the bytes a flow record counts.
	IPLength uint32
	// Captured is how many bytes of the IP packet arrived (≤ IPLength).
	Captured uint32
	// Truncated is set when fewer bytes arrived than the IP header announces.
	Truncated bool

	Frag Fragment
}

// IsFragment reports whether the packet is an IP fragment (first or later).
func (p *Packet) IsFragment() bool { return p.Frag.More || p.Frag.Offset != 0 }

// HasL4 reports whether the packet carries its transport header: true unless it is a
// non-first fragment.
func (p *Packet) HasL4() bool { return p.Frag.Offset == 0 }

// HasPorts reports whether the protocol carries ports (TCP, UDP, SCTP).
func HasPorts(proto uint8) bool {
	return proto == ProtoTCP || proto == ProtoUDP || proto == ProtoSCTP
}
