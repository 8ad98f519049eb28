package vxlan

import (
	"encoding/binary"
	"math/bits"
)

// EncapHeaderLen is the size of the VXLAN header that AppendEncap writes before the frame.
const EncapHeaderLen = 8

// encapFlagI is the VXLAN "I" flag: the VNI field is valid.
const encapFlagI = 0x08

// The range AWS-style source ports are drawn from (IANA dynamic ports).
const (
	EphemeralPortMin = 49152
	EphemeralPortMax = 65535
)

// MaxVNI is the largest VXLAN network identifier (24 bits).
const MaxVNI = 1<<24 - 1

// AppendEncap appends to dst the UDP payload of a VPC Traffic Mirroring packet: the 8-byte
// VXLAN header (flags 0x08, reserved bytes 0, vni in bytes 4–6) followed by frame, the
// original L2 frame without FCS, cut to packetLength bytes when 0 < packetLength <
// len(frame). Like AWS it does not fix checksums after cutting. Only the low 24 bits of
// vni are used; callers validate it against MaxVNI. It allocates nothing when dst has
// room for EncapHeaderLen+len(frame) more bytes.
func AppendEncap(dst []byte, vni uint32, frame []byte, packetLength int) []byte {
	if packetLength > 0 && packetLength < len(frame) {
		frame = frame[:packetLength]
	}
	dst = append(dst, encapFlagI, 0, 0, 0, byte(vni>>16), byte(vni>>8), byte(vni), 0)
	return append(dst, frame...)
}

// SourcePort is the outer UDP source port AWS would pick for frame: FlowHash mapped into
// [EphemeralPortMin, EphemeralPortMax], so every packet of a flow gets the same port and
// flows spread over the range.
func SourcePort(frame []byte) uint16 {
	const span = EphemeralPortMax - EphemeralPortMin + 1
	return uint16(EphemeralPortMin + FlowHash(frame)%span)
}

// FlowHash hashes the flow identity of an Ethernet frame (802.1Q/QinQ tags skipped): the
// 5-tuple (addresses, protocol, ports) for TCP, UDP and SCTP; addresses, protocol and zero
// ports for ICMP/ICMPv6 and for non-first IP fragments (whose ports are not in the packet);
// the 3-tuple (addresses, protocol) for other IP protocols; the EtherType alone for non-IP
// frames and the whole frame's first bytes when the frame is too short to parse. It is
// directional (A→B and B→A are different flows, as in flow logs) and allocates nothing.
func FlowHash(frame []byte) uint32 {
	off, etherType, ok := L3Offset(frame)
	if !ok {
		return encapMix(uint64(len(frame)), encapPrefix(frame))
	}
	l3 := frame[off:]
	switch etherType {
	case 0x0800:
		if len(l3) < 20 || l3[0]>>4 != 4 {
			break
		}
		ihl := int(l3[0]&0x0f) * 4
		proto := l3[9]
		a := uint64(binary.BigEndian.Uint32(l3[12:16]))<<32 | uint64(binary.BigEndian.Uint32(l3[16:20]))
		var ports uint32
		if fragOff := binary.BigEndian.Uint16(l3[6:8]) & 0x1fff; fragOff == 0 && ihl >= 20 {
			ports = encapPorts(proto, l3, ihl)
		}
		return encapMix(a, uint64(proto)<<32|uint64(ports))
	case 0x86dd:
		if len(l3) < 40 || l3[0]>>4 != 6 {
			break
		}
		proto, l4, ok := IPv6Transport(l3)
		var ports uint32
		if ok {
			ports = encapPorts(proto, l3, l4)
		}
		h := encapMix(binary.BigEndian.Uint64(l3[8:16]), binary.BigEndian.Uint64(l3[16:24]))
		h = encapMix(uint64(h)^binary.BigEndian.Uint64(l3[24:32]), binary.BigEndian.Uint64(l3[32:40]))
		return encapMix(uint64(h), uint64(proto)<<32|uint64(ports))
	}
	return encapMix(uint64(etherType), encapPrefix(l3))
}

// L3Offset returns where the IP header of an Ethernet frame starts, skipping up to two
// VLAN tags, and the EtherType found there; ok is false for a cut-off header.
func L3Offset(frame []byte) (off int, etherType uint16, ok bool) {
	if len(frame) < 14 {
		return 0, 0, false
	}
	off = 12
	etherType = binary.BigEndian.Uint16(frame[off:])
	for tags := 0; tags < 2 && (etherType == 0x8100 || etherType == 0x88a8 || etherType == 0x9100); tags++ {
		off += 4
		if len(frame) < off+2 {
			return 0, 0, false
		}
		etherType = binary.BigEndian.Uint16(frame[off:])
	}
	return off + 2, etherType, true
}

// encapPorts returns the two ports of a TCP/UDP/SCTP header at l3[l4:], or 0 for other
// protocols and cut-off headers.
func encapPorts(proto byte, l3 []byte, l4 int) uint32 {
	switch proto {
	case 6, 17, 132: // TCP, UDP, SCTP
		if len(l3) >= l4+4 {
			return binary.BigEndian.Uint32(l3[l4:])
		}
	}
	return 0
}

// IPv6Transport walks the extension headers of the IPv6 packet l3 to its transport header:
// the protocol and the offset of that header. ok is false when the transport header is not
// in this packet (a non-first fragment, a chain cut off by truncation).
func IPv6Transport(l3 []byte) (proto byte, l4 int, ok bool) {
	proto, l4 = l3[6], 40
	for i := 0; i < 8; i++ {
		switch proto {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(l3) < l4+2 {
				return proto, l4, false
			}
			proto, l4 = l3[l4], l4+8+int(l3[l4+1])*8
		case 44: // fragment
			if len(l3) < l4+8 {
				return proto, l4, false
			}
			first := binary.BigEndian.Uint16(l3[l4+2:])&0xfff8 == 0
			proto, l4 = l3[l4], l4+8
			if !first {
				return proto, l4, false
			}
		default:
			return proto, l4, true
		}
	}
	return proto, l4, false
}

// encapPrefix packs up to the first 8 bytes of b, for hashing unparseable frames.
func encapPrefix(b []byte) uint64 {
	var v uint64
	for i := 0; i < len(b) && i < 8; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// encapMix folds two words into a well-spread 32-bit hash (a 64×64→128 multiply mix, as in
// wyhash), so that hash mod any small K spreads flows evenly.
func encapMix(a, b uint64) uint32 {
	hi, lo := bits.Mul64(a^0xa0761d6478bd642f, b^0xe7037ed1a0b428db)
	h := hi ^ lo
	return uint32(h ^ h>>32)
}

// OnesSum is the folded 16-bit one's-complement sum of b (RFC 1071; b of even length), the
// base of the IPv4, TCP and UDP checksums: a header's checksum is ^OnesSum of it with the
// checksum field zero, and a header with a valid checksum sums to 0xffff.
func OnesSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
