package vxlan

import (
	"encoding/binary"
	"net/netip"
)

// EtherTypes the decoder knows.
const (
	etherIPv4    = 0x0800
	etherIPv6    = 0x86dd
	etherVLAN    = 0x8100 // 802.1Q
	etherQinQ    = 0x88a8 // 802.1ad service tag
	etherQinQOld = 0x9100 // pre-standard QinQ, still seen on switches
	etherTEB     = 0x6558 // transparent Ethernet bridging (GENEVE carrying Ethernet)
)

const (
	maxVLANTags   = 4
	maxExtHeaders = 8
)

var be = binary.BigEndian

// Decode summarizes one VXLAN mirror packet, b being the UDP payload (VXLAN header first),
// into p. It returns a Reason for malformed input. It keeps no reference to b.
//
// Reserved VXLAN bits are ignored, as the reference asks of receivers.
func Decode(b []byte, p *Packet) error {
	if len(b) < 8 {
		return ErrShortHeader
	}
	if b[0]&0x08 == 0 {
		return ErrBadFlags
	}
	p.VNI = uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
	p.Encap = EncapVXLAN
	return decodeEthernet(b[8:], p)
}

// DecodeGENEVE summarizes one GENEVE packet (b = UDP payload on port 6081) into p. A GENEVE
// payload of Ethernet or IP is summarized directly; when the payload is an IP/UDP packet to
// port 4789 (a VXLAN mirror packet that a Gateway Load Balancer forwarded), the VXLAN packet
// inside is decoded instead and Encap is EncapGENEVEVXLAN.
func DecodeGENEVE(b []byte, p *Packet) error {
	if len(b) < 8 {
		return ErrShortHeader
	}
	if b[0]>>6 != 0 {
		return ErrBadGENEVEVersion
	}
	hl := 8 + int(b[0]&0x3f)*4
	if len(b) < hl {
		return ErrShortHeader
	}
	proto := be.Uint16(b[2:])
	p.VNI = uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
	p.Encap = EncapGENEVE
	payload := b[hl:]
	var err error
	var l4 int
	switch proto {
	case etherTEB:
		return decodeEthernet(payload, p)
	case etherIPv4:
		p.VLAN, p.VLANTags = 0, 0
		l4, err = decodeIPv4(payload, p)
	case etherIPv6:
		p.VLAN, p.VLANTags = 0, 0
		l4, err = decodeIPv6(payload, p)
	default:
		return ErrUnknownProtocol
	}
	if err != nil {
		return err
	}
	// A mirror packet forwarded by GWLB: outer IP/UDP to 4789 around the VXLAN packet.
	if p.Proto == ProtoUDP && p.DstPort == PortVXLAN && p.HasL4() && !p.Truncated && l4+8 <= int(p.Captured) {
		vx := payload[l4+8 : p.Captured]
		if len(vx) < 8 {
			return ErrShortHeader
		}
		if vx[0]&0x08 == 0 {
			return ErrBadFlags
		}
		p.VNI = uint32(vx[4])<<16 | uint32(vx[5])<<8 | uint32(vx[6])
		if err := decodeEthernet(vx[8:], p); err != nil {
			return err
		}
		p.Encap = EncapGENEVEVXLAN
	}
	return nil
}

// DecodeFrame summarizes a bare Ethernet frame (no encapsulation) into p, with VNI 0. Replay
// and tests use it to compute the truth of a capture.
func DecodeFrame(frame []byte, p *Packet) error {
	p.VNI = 0
	p.Encap = 0
	return decodeEthernet(frame, p)
}

func decodeEthernet(b []byte, p *Packet) error {
	if len(b) < 14 {
		return ErrShortFrame
	}
	et := be.Uint16(b[12:])
	off := 14
	p.VLAN, p.VLANTags = 0, 0
	for et == etherVLAN || et == etherQinQ || et == etherQinQOld {
		if p.VLANTags == maxVLANTags {
			return ErrTooManyVLANs
		}
		if len(b) < off+4 {
			return ErrShortFrame
		}
		if p.VLANTags == 0 {
			p.VLAN = be.Uint16(b[off:]) & 0x0fff
		}
		p.VLANTags++
		et = be.Uint16(b[off+2:])
		off += 4
	}
	var err error
	switch et {
	case etherIPv4:
		_, err = decodeIPv4(b[off:], p)
	case etherIPv6:
		_, err = decodeIPv6(b[off:], p)
	default:
		return ErrUnknownEtherType
	}
	return err
}

// decodeIPv4 fills the IP and transport fields of p and returns the offset of the transport
// header in b.
func decodeIPv4(b []byte, p *Packet) (int, error) {
	if len(b) < 20 {
		return 0, ErrTruncatedIP
	}
	if b[0]>>4 != 4 {
		return 0, ErrBadIPVersion
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 {
		return 0, ErrBadIHL
	}
	if len(b) < hl {
		return 0, ErrTruncatedIP
	}
	total := int(be.Uint16(b[2:]))
	if total < hl {
		return 0, ErrBadIPLength
	}
	p.IPVersion = 4
	p.Proto = b[9]
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.IPLength = uint32(total)
	captured := min(len(b), total) // frames under 60 bytes carry Ethernet padding
	p.Captured = uint32(captured)
	p.Truncated = len(b) < total
	fl := be.Uint16(b[6:])
	p.Frag = Fragment{Offset: fl & 0x1fff, More: fl&0x2000 != 0}
	if p.Frag.Offset != 0 || p.Frag.More {
		p.Frag.ID = uint32(be.Uint16(b[4:]))
	}
	return hl, decodeL4(b[hl:captured], p)
}

// decodeIPv6 is decodeIPv4 for IPv6: it walks the extension headers to the transport.
func decodeIPv6(b []byte, p *Packet) (int, error) {
	if len(b) < 40 {
		return 0, ErrTruncatedIP
	}
	if b[0]>>4 != 6 {
		return 0, ErrBadIPVersion
	}
	total := 40 + int(be.Uint16(b[4:]))
	p.IPVersion = 6
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	if total == 40 && len(b) > 40 && b[6] == 0 {
		// Payload length 0 with a hop-by-hop header is a jumbogram; count what arrived.
		total = len(b)
	}
	p.IPLength = uint32(total)
	captured := min(len(b), total)
	p.Captured = uint32(captured)
	p.Truncated = len(b) < total
	p.Frag = Fragment{}
	b = b[:captured]
	next := b[6]
	off := 40
	for range maxExtHeaders {
		switch next {
		case 0, 43, 60, 51: // hop-by-hop, routing, destination options; authentication header
			if len(b) < off+2 {
				return 0, p.truncatedL4(next)
			}
			n := (int(b[off+1]) + 1) * 8 // 8-byte units after the first 8
			if next == 51 {
				n = (int(b[off+1]) + 2) * 4 // AH: 4-byte units minus 2
			}
			if len(b) < off+n {
				return 0, p.truncatedL4(next)
			}
			next = b[off]
			off += n
		case 44: // fragment
			if len(b) < off+8 {
				return 0, p.truncatedL4(next)
			}
			fo := be.Uint16(b[off+2:])
			p.Frag = Fragment{ID: be.Uint32(b[off+4:]), Offset: fo >> 3, More: fo&1 != 0}
			next = b[off]
			off += 8
		default:
			p.Proto = next
			return off, decodeL4(b[off:], p)
		}
	}
	return 0, ErrBadExtHeader
}

// truncatedL4 records what is known when an IPv6 extension header was cut off.
func (p *Packet) truncatedL4(next uint8) error {
	p.Proto = next
	p.SrcPort, p.DstPort, p.TCPFlags, p.ICMPType, p.ICMPCode = 0, 0, 0, 0, 0
	return ErrTruncatedL4
}

// decodeL4 reads ports, TCP flags or ICMP type/code from the transport header in b, which
// holds only the bytes that arrived.
func decodeL4(b []byte, p *Packet) error {
	p.SrcPort, p.DstPort, p.TCPFlags, p.ICMPType, p.ICMPCode = 0, 0, 0, 0, 0
	if p.Frag.Offset != 0 {
		return nil // a later fragment: no transport header
	}
	switch p.Proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
		if len(b) < 4 {
			return ErrTruncatedL4
		}
		p.SrcPort = be.Uint16(b)
		p.DstPort = be.Uint16(b[2:])
		if p.Proto == ProtoTCP && len(b) >= 14 {
			p.TCPFlags = b[13]
		}
	case ProtoICMP, ProtoICMPv6:
		if len(b) >= 2 {
			p.ICMPType, p.ICMPCode = b[0], b[1]
		}
	}
	return nil
}
