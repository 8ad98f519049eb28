package replay

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// mirrorFrame builds what tcpdump on a mirror target captures: Ethernet/IPv4/UDP to 4789
// from sport, a VXLAN header with vni, and the mirrored frame inside.
func mirrorFrame(t testing.TB, vni uint32, sport uint16, inner []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 0, 9, 9).To4(), DstIP: net.IPv4(10, 0, 0, 5).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 4789}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, udp,
		&layers.VXLAN{ValidIDFlag: true, VNI: vni}, gopacket.Payload(inner))
}

// genevePayload is a GENEVE header (one 4-byte option) carrying an Ethernet frame.
func genevePayload(vni uint32, inner []byte) []byte {
	h := []byte{0x01, 0, 0x65, 0x58, byte(vni >> 16), byte(vni >> 8), byte(vni), 0, 0x01, 0x08, 0x01, 0x00}
	return append(h, inner...)
}

// TestFlow is one mirrored flow of the test capture and its truth.
// (Exported, with TargetCapture and WritePcapFile, for the external test package's
// collector test: package ingest imports replay, so only replay_test may import ingest.)
type TestFlow struct {
	Sport   uint16 // outer (VXLAN) source port, per flow as AWS picks it
	Frames  [][]byte
	Src     string
	Dst     string
	SrcPort uint16
	DstPort uint16
	Proto   uint8
}

// Bytes is the flow's byte count as a flow log has it.
func (f TestFlow) Bytes() uint64 {
	var n uint64
	for _, fr := range f.Frames {
		ip := fr[14:] // the inner IP packet's own length (not Ethernet padding) is what a flow log counts
		if ip[0]>>4 == 4 {
			n += uint64(binary.BigEndian.Uint16(ip[2:4]))
		} else {
			n += 40 + uint64(binary.BigEndian.Uint16(ip[4:6]))
		}
	}
	return n
}

// WritePcapFile writes frames as an Ethernet pcap file.
func WritePcapFile(t testing.TB, path string, frames [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, writePcap(t, layers.LinkTypeEthernet, frames), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TargetCapture is three flows captured on a mirror target (VNI 77), interleaved, plus
// one frame that is not a mirror packet (ARP-like noise a target also sees).
func TargetCapture(t testing.TB) (flows []TestFlow, frames [][]byte) {
	flows = []TestFlow{
		{Sport: 21001, Src: "10.0.1.10", Dst: "93.184.216.34", SrcPort: 40001, DstPort: 443, Proto: 6},
		{Sport: 21002, Src: "93.184.216.34", Dst: "10.0.1.10", SrcPort: 443, DstPort: 40001, Proto: 6},
		{Sport: 21003, Src: "2001:db8::1", Dst: "2001:db8::2", SrcPort: 5353, DstPort: 53, Proto: 17},
	}
	for i := 0; i < 5; i++ {
		flows[0].Frames = append(flows[0].Frames, frameTCP(t, flows[0].Src, flows[0].Dst, 40001, 443, i == 0, i > 0, bytes.Repeat([]byte{1}, 100*i)))
		flows[1].Frames = append(flows[1].Frames, frameTCP(t, flows[1].Src, flows[1].Dst, 443, 40001, i == 0, true, bytes.Repeat([]byte{2}, 300*i)))
		if i < 3 {
			flows[2].Frames = append(flows[2].Frames, frameUDP6(t, flows[2].Src, flows[2].Dst, 5353, 53, []byte("query")))
		}
	}
	for i := 0; i < 5; i++ {
		for _, f := range flows {
			if i < len(f.Frames) {
				frames = append(frames, mirrorFrame(t, 77, f.Sport, f.Frames[i]))
			}
		}
	}
	frames = append(frames, frameTCP(t, "10.0.0.5", "10.0.0.6", 22, 50000, false, true, []byte("ssh")))
	return flows, frames
}

// TestCapturedTunnelFrames: every VXLAN frame of a target capture is sent as captured: the
// same UDP payload (VXLAN header, VNI, inner frame) from its captured outer source port;
// the frame that is not a mirror packet is wrapped (auto) or skipped (captured); wrap
// wraps everything.
func TestCapturedTunnelFrames(t *testing.T) {
	flows, frames := TargetCapture(t)
	capt := captureOf(t, frames, func(int) time.Duration { return time.Millisecond })
	sportOf := map[string]uint16{}
	for _, f := range flows {
		for _, fr := range f.Frames {
			sportOf[string(fr)] = f.Sport
		}
	}
	for _, mode := range []string{EncapAuto, EncapCaptured, EncapWrap} {
		t.Run(mode, func(t *testing.T) {
			sink := newUDPSink(t)
			cfg := DefaultConfig()
			cfg.Target, cfg.TopSpeed, cfg.Encap, cfg.VNI, cfg.Threads = sink.addr(), true, mode, 5, 1
			r, err := New(cfg, capt)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.PortsChanged != 0 {
				t.Fatalf("captured ports not kept: %s", rep)
			}
			want := len(frames)
			if mode == EncapCaptured {
				want--
				if rep.Skipped != 1 {
					t.Errorf("encap captured: %d skipped, want the one non-tunnel frame", rep.Skipped)
				}
			}
			got := sink.collect(want)
			if len(got) != want || int(rep.Packets) != want {
				t.Fatalf("received %d, sent %d, want %d", len(got), rep.Packets, want)
			}
			asCaptured, wrapped := 0, 0
			for _, d := range got {
				inner := d.b[8:]
				vni := uint32(d.b[4])<<16 | uint32(d.b[5])<<8 | uint32(d.b[6])
				if sport, ok := sportOf[string(inner)]; ok && mode != EncapWrap {
					asCaptured++
					if vni != 77 || d.port != int(sport) {
						t.Errorf("captured frame sent with VNI %d from port %d, want VNI 77 from %d", vni, d.port, sport)
					}
					continue
				}
				wrapped++
				if vni != 5 {
					t.Errorf("wrapped frame has VNI %d, want --vni 5", vni)
				}
			}
			switch mode {
			case EncapAuto:
				if asCaptured != len(frames)-1 || wrapped != 1 {
					t.Errorf("auto: %d as captured, %d wrapped; want %d and 1", asCaptured, wrapped, len(frames)-1)
				}
			case EncapCaptured:
				if asCaptured != len(frames)-1 || wrapped != 0 {
					t.Errorf("captured: %d as captured, %d wrapped", asCaptured, wrapped)
				}
			case EncapWrap:
				if wrapped != len(frames) {
					t.Errorf("wrap: %d wrapped of %d", wrapped, len(frames))
				}
			}
		})
	}
}

// TestCapturedTunnelKinds checks the detector on VXLAN, GENEVE, IPv6 outer headers,
// Ethernet padding, fragments and near misses.
func TestCapturedTunnelKinds(t *testing.T) {
	inner := frameTCP(t, "10.0.1.10", "10.0.2.20", 1000, 80, true, false, nil)
	vx := mirrorFrame(t, 9, 30000, inner)
	if k, p, sport, in := capturedTunnel(vx); k != tunnelVXLAN || sport != 30000 || in != 8 || !bytes.Equal(p[8:], inner) {
		t.Errorf("VXLAN: %v port %d inner at %d", k, sport, in)
	}
	padded := append(append([]byte(nil), vx...), 0, 0, 0, 0) // Ethernet trailer beyond the IP length
	if _, p, _, _ := capturedTunnel(padded); !bytes.Equal(p[8:], inner) {
		t.Error("Ethernet padding was sent as part of the payload")
	}
	noI := append([]byte(nil), vx...)
	noI[14+20+8] = 0 // VXLAN flags without I: not a VXLAN header
	if k, _, _, _ := capturedTunnel(noI); k != notTunnel {
		t.Errorf("VXLAN without the I flag detected as %v", k)
	}
	frag := append([]byte(nil), vx...)
	frag[14+6] = 0x20 // more fragments
	if k, _, _, _ := capturedTunnel(frag); k != notTunnel {
		t.Errorf("a fragment detected as %v", k)
	}
	gp := genevePayload(0x123456, inner)
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("2001:db8::9"), DstIP: net.ParseIP("2001:db8::5")}
	udp := &layers.UDP{SrcPort: 31000, DstPort: 6081}
	if err := udp.SetNetworkLayerForChecksum(ip6); err != nil {
		t.Fatal(err)
	}
	gf := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}, ip6, udp, gopacket.Payload(gp))
	if k, p, sport, in := capturedTunnel(gf); k != tunnelGENEVE || sport != 31000 || in != 12 || !bytes.Equal(p, gp) {
		t.Errorf("GENEVE over IPv6: %v port %d inner at %d", k, sport, in)
	}
	if k, _, _, _ := capturedTunnel(inner); k != notTunnel {
		t.Errorf("a plain TCP frame detected as %v", k)
	}
}

// FuzzCapturedTunnel: the detector never panics, and what it returns lies inside the frame.
func FuzzCapturedTunnel(f *testing.F) {
	inner := frameTCP(f, "10.0.1.10", "10.0.2.20", 1000, 80, true, false, nil)
	f.Add(mirrorFrame(f, 9, 30000, inner))
	f.Add(inner)
	f.Fuzz(func(t *testing.T, frame []byte) {
		k, p, _, in := capturedTunnel(frame)
		if k == notTunnel {
			if p != nil {
				t.Fatal("payload without a tunnel")
			}
			return
		}
		if len(p) > len(frame) || in > len(p) || (k == tunnelVXLAN && in != 8) {
			t.Fatalf("payload %d bytes of a %d-byte frame, inner at %d", len(p), len(frame), in)
		}
	})
}
