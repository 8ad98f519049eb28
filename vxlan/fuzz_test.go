package vxlan_test

import (
	"math/rand/v2"
	"testing"

	"github.com/flowtap/flowtap/vxlan"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

// seedPackets returns real-shaped VXLAN mirror packets: the fuzz seed corpus and the
// benchmark mix.
func seedPackets() [][]byte {
	specs := []vxlantest.Spec{
		{Src: v4a, Dst: v4b, Proto: 6, SrcPort: 34210, DstPort: 80, TCPFlags: vxlan.TCPSyn},
		{Src: v4b, Dst: v4a, Proto: 6, SrcPort: 80, DstPort: 34210, TCPFlags: vxlan.TCPSyn | vxlan.TCPAck},
		{Src: v4a, Dst: v4b, Proto: 6, SrcPort: 34210, DstPort: 80, TCPFlags: vxlan.TCPAck | vxlan.TCPPsh, Payload: 1200},
		{Src: v4a, Dst: v4b, Proto: 17, SrcPort: 5353, DstPort: 53, Payload: 40, IPv4Options: 12},
		{VLANs: []uint16{42}, Src: v4a, Dst: v4b, Proto: 1, ICMPType: 8, Payload: 56},
		{VLANs: []uint16{10, 20}, QinQ: true, Src: v4a, Dst: v4b, Proto: 17, SrcPort: 1, DstPort: 2},
		{Src: v6a, Dst: v6b, Proto: 6, SrcPort: 34892, DstPort: 22, TCPFlags: vxlan.TCPFin | vxlan.TCPAck},
		{Src: v6a, Dst: v6b, Proto: 17, SrcPort: 123, DstPort: 123, IPv6Ext: []uint8{0, 60}, Payload: 48},
		{Src: v6b, Dst: v6a, Proto: 58, ICMPType: 128, Payload: 32, IPv6Ext: []uint8{44}},
	}
	var out [][]byte
	for i, s := range specs {
		out = append(out, vxlantest.VXLAN(uint32(1000+i), vxlantest.Frame(s)))
	}
	big := vxlantest.Frame(vxlantest.Spec{Src: v4a, Dst: v4b, Proto: 17, SrcPort: 9, DstPort: 9, Payload: 2000})
	for _, f := range vxlantest.FragmentIPv4(big, 1500) {
		out = append(out, vxlantest.VXLAN(7, f))
	}
	out = append(out, out[2][:8+14+20+10]) // truncated by PacketLength
	return out
}

// checkInvariants fails when a successful decode produced an impossible summary.
func checkInvariants(t *testing.T, p *vxlan.Packet, n int) {
	if p.IPVersion != 4 && p.IPVersion != 6 {
		t.Fatalf("IP version %d", p.IPVersion)
	}
	if p.Captured > p.IPLength || int(p.Captured) > n {
		t.Fatalf("captured %d of %d, input %d", p.Captured, p.IPLength, n)
	}
	if p.Truncated != (p.Captured < p.IPLength) {
		t.Fatalf("truncated %v with %d of %d", p.Truncated, p.Captured, p.IPLength)
	}
	if !p.HasL4() && (p.SrcPort != 0 || p.DstPort != 0) {
		t.Fatalf("ports on a later fragment: %+v", p)
	}
	if p.Src.Is4() != (p.IPVersion == 4) || p.Dst.Is4() != (p.IPVersion == 4) {
		t.Fatalf("address family: %+v", p)
	}
}

// decodeChecked is a fuzz body: decode must fail with a known Reason or give a packet
// that holds checkInvariants.
func decodeChecked(decode func([]byte, *vxlan.Packet) error) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		var p vxlan.Packet
		if err := decode(b, &p); err != nil {
			if r, ok := err.(vxlan.Reason); !ok || r.Label() == "unknown" {
				t.Fatalf("error %v is not a known Reason", err)
			}
			return
		}
		checkInvariants(t, &p, len(b))
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range seedPackets() {
		f.Add(b)
	}
	f.Fuzz(decodeChecked(vxlan.Decode))
}

func FuzzDecodeGENEVE(f *testing.F) {
	for i, b := range seedPackets() {
		f.Add(geneve(0x6558, uint32(i), b[8:]))
	}
	f.Add(geneve(0x0800, 0, outerVXLANBytes(seedPackets()[0])))
	f.Fuzz(decodeChecked(vxlan.DecodeGENEVE))
}

// outerVXLANBytes is outerVXLAN for fuzz seeds (no *testing.T): a fixed IPv4/UDP header.
func outerVXLANBytes(vx []byte) []byte {
	n := 28 + len(vx)
	h := []byte{0x45, 0, byte(n >> 8), byte(n), 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0xc3, 0x50, 0x12, 0xb5, byte((n - 20) >> 8), byte(n - 20), 0, 0}
	return append(h, vx...)
}

// TestDecodeRandomBytes is a short deterministic fuzz run for plain `go test`: mutated seeds
// must decode to a consistent packet or fail with a known Reason, never panic.
func TestDecodeRandomBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	seeds := seedPackets()
	decodeVXLAN, decodeGENEVE := decodeChecked(vxlan.Decode), decodeChecked(vxlan.DecodeGENEVE)
	for range 20000 {
		b := append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		}
		b = b[:rng.IntN(len(b)+1)]
		decodeVXLAN(t, b)
		decodeGENEVE(t, b)
	}
}
