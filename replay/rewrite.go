package replay

import (
	"encoding/binary"

	"github.com/flowtap/flowtap/vxlan"
)

// addrPatch locates what --unique-loops rewrites in one encoded packet: the inner IP
// addresses and the checksums that cover them. Offsets are into the encoded payload
// (VXLAN header included); a negative offset means "absent or cut off by truncation".
type addrPatch struct {
	ip    int32 // start of the IP header
	v6    bool
	l4sum int32 // TCP/UDP/ICMPv6 checksum field
	udp4  bool  // the L4 checksum is an IPv4 UDP one, where 0 means "none"
}

var noPatch = addrPatch{ip: -1, l4sum: -1}

// locatePatch finds the addresses and checksums in the Ethernet frame that starts at
// b[base:]. Only what lies within b (which may be truncated) is patched later.
func locatePatch(b []byte, base int) addrPatch {
	p := noPatch
	off, etherType, ok := vxlan.L3Offset(b[base:])
	if !ok {
		return p
	}
	l3 := base + off
	ip := b[l3:]
	switch {
	case etherType == 0x0800 && len(ip) >= 20 && ip[0]>>4 == 4:
		p.ip = int32(l3)
		ihl := int(ip[0]&0x0f) * 4
		if ihl < 20 || binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
			return p // bad header or a non-first fragment: no L4 header here
		}
		switch ip[9] {
		case 6:
			p.l4sum = checksumAt(len(ip), ihl+16, l3)
		case 17:
			p.l4sum = checksumAt(len(ip), ihl+6, l3)
			p.udp4 = true
		}
	case etherType == 0x86dd && len(ip) >= 40 && ip[0]>>4 == 6:
		p.ip = int32(l3)
		p.v6 = true
		proto, l4, ok := vxlan.IPv6Transport(ip)
		if !ok {
			return p
		}
		switch proto {
		case 6:
			p.l4sum = checksumAt(len(ip), l4+16, l3)
		case 17:
			p.l4sum = checksumAt(len(ip), l4+6, l3)
		case 58:
			p.l4sum = checksumAt(len(ip), l4+2, l3)
		}
	}
	return p
}

// checksumAt is base+at when the 2-byte field at ip[at:] is within the n bytes present.
func checksumAt(n, at, base int) int32 {
	if at+2 > n {
		return -1
	}
	return int32(base + at)
}

// shiftAddrs adds delta to the inner source and destination addresses of the packet in b
// (as 32-bit integers: IPv4 addresses, the low 32 bits of IPv6 ones) and updates the IPv4
// header checksum and the transport checksum incrementally (RFC 1624), so that a checksum
// that was right stays right and one that was wrong stays exactly as wrong.
func shiftAddrs(b []byte, p addrPatch, delta uint32) {
	if p.ip < 0 {
		return
	}
	ip := int(p.ip)
	lo, hi, src, dst := ip+12, ip+20, ip+12, ip+16
	if p.v6 {
		lo, hi, src, dst = ip+8, ip+40, ip+20, ip+36
	}
	if hi > len(b) {
		return // the addresses were cut off
	}
	before := vxlan.OnesSum(b[lo:hi])
	binary.BigEndian.PutUint32(b[src:], binary.BigEndian.Uint32(b[src:])+delta)
	binary.BigEndian.PutUint32(b[dst:], binary.BigEndian.Uint32(b[dst:])+delta)
	after := vxlan.OnesSum(b[lo:hi])
	if !p.v6 && ip+12 <= len(b) {
		putChecksum(b[ip+10:], before, after, false)
	}
	if p.l4sum >= 0 && int(p.l4sum)+2 <= len(b) {
		putChecksum(b[p.l4sum:], before, after, p.udp4)
	}
}

// putChecksum updates the checksum field at f[0:2] for covered data whose one's-complement
// sum went from before to after.
func putChecksum(f []byte, before, after uint16, udp4 bool) {
	old := binary.BigEndian.Uint16(f)
	if udp4 && old == 0 {
		return // IPv4 UDP without a checksum
	}
	s := uint32(^old) + uint32(^before) + uint32(after)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	sum := ^uint16(s)
	if udp4 && sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(f, sum)
}
