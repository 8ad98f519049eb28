package replay

import (
	"encoding/binary"

	"github.com/flowtap/flowtap/vxlan"
)

// Encapsulation modes (Config.Encap, --encap).
const (
	// EncapAuto sends frames that are already mirror packets (VXLAN on UDP 4789, GENEVE on
	// 6081) as captured and wraps every other frame in VXLAN.
	EncapAuto = "auto"
	// EncapWrap wraps every frame in VXLAN, tunnel frames included (the pre-1.x behaviour).
	EncapWrap = "wrap"
	// EncapCaptured sends only frames that are already mirror packets, as captured; other
	// frames are skipped and counted.
	EncapCaptured = "captured"
)

// tunnelKind says what an outer frame carries.
type tunnelKind uint8

const (
	notTunnel tunnelKind = iota
	tunnelVXLAN
	tunnelGENEVE
)

func (k tunnelKind) String() string {
	switch k {
	case tunnelVXLAN:
		return "VXLAN"
	case tunnelGENEVE:
		return "GENEVE"
	}
	return "none"
}

// Well-known tunnel ports: AWS Traffic Mirroring sends VXLAN to 4789, a Gateway Load
// Balancer sends GENEVE to 6081.
const (
	portVXLAN  = 4789
	portGENEVE = 6081
	etherTEB   = 0x6558 // GENEVE protocol type of an Ethernet payload
)

// capturedTunnel recognises a frame taken on a mirror target: Ethernet (up to two VLAN
// tags), IPv4 (not a fragment) or IPv6, UDP to port 4789 carrying a VXLAN header with the
// I flag and at least an inner Ethernet header, or to 6081 carrying a version-0 GENEVE
// header. It returns the UDP payload as captured (tunnel header first, without Ethernet
// padding), the outer UDP source port, and where the inner Ethernet frame starts in the
// payload (-1 when the GENEVE payload is not Ethernet). Anything else is notTunnel.
func capturedTunnel(frame []byte) (kind tunnelKind, payload []byte, sport uint16, inner int) {
	off, etherType, ok := vxlan.L3Offset(frame)
	if !ok {
		return notTunnel, nil, 0, -1
	}
	ip := frame[off:]
	var udp []byte
	switch {
	case etherType == 0x0800 && len(ip) >= 20 && ip[0]>>4 == 4:
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < 20 || ip[9] != 17 || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 || total < ihl || len(ip) < ihl+8 {
			return notTunnel, nil, 0, -1 // not UDP, a fragment, or a cut-off header
		}
		udp = ip[ihl:min(total, len(ip))]
	case etherType == 0x86dd && len(ip) >= 40 && ip[0]>>4 == 6:
		proto, l4, ok := vxlan.IPv6Transport(ip)
		plen := 40 + int(binary.BigEndian.Uint16(ip[4:6]))
		if !ok || proto != 17 || len(ip) < l4+8 || plen < l4+8 {
			return notTunnel, nil, 0, -1
		}
		udp = ip[l4:min(plen, len(ip))]
	default:
		return notTunnel, nil, 0, -1
	}
	if len(udp) < 8 {
		return notTunnel, nil, 0, -1
	}
	sport, dport := binary.BigEndian.Uint16(udp[0:2]), binary.BigEndian.Uint16(udp[2:4])
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < 8 {
		return notTunnel, nil, 0, -1
	}
	payload = udp[8:min(ulen, len(udp))] // a capture's snap length may cut it; send what is there
	switch dport {
	case portVXLAN:
		if len(payload) < 8+14 || payload[0]&0x08 == 0 {
			return notTunnel, nil, 0, -1
		}
		return tunnelVXLAN, payload, sport, 8
	case portGENEVE:
		if len(payload) < 8 || payload[0]>>6 != 0 {
			return notTunnel, nil, 0, -1
		}
		hl := 8 + int(payload[0]&0x3f)*4
		if len(payload) < hl {
			return notTunnel, nil, 0, -1
		}
		inner = -1
		if binary.BigEndian.Uint16(payload[2:4]) == etherTEB {
			inner = hl
		}
		return tunnelGENEVE, payload, sport, inner
	}
	return notTunnel, nil, 0, -1
}
