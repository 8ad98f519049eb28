package replay

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var (
	macA = net.HardwareAddr{0x0a, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x0a, 0, 0, 0, 0, 2}
)

// frameTCP builds an Ethernet/IPv4/TCP frame with valid checksums.
func frameTCP(t testing.TB, src, dst string, sport, dport uint16, syn, ack bool, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: syn, ACK: ack, Window: 65535, Seq: 1000}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, tcp, gopacket.Payload(payload))
}

// frameUDP6 builds an Ethernet/IPv6/UDP frame with a valid checksum.
func frameUDP6(t testing.TB, src, dst string, sport, dport uint16, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}, ip, udp, gopacket.Payload(payload))
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// testFrames is a small mixed set: several TCP flows and an IPv6 UDP flow.
func testFrames(t testing.TB, n int) [][]byte {
	var fs [][]byte
	for i := 0; i < n; i++ {
		if i%4 == 3 {
			fs = append(fs, frameUDP6(t, "2001:db8::1", "2001:db8::2", uint16(5000+i%7), 53, []byte("query")))
			continue
		}
		fs = append(fs, frameTCP(t, "10.0.1.10", "93.184.216.34", uint16(40000+i%13), 443, i%13 == 0, true, bytes.Repeat([]byte{byte(i)}, 100+i%200)))
	}
	return fs
}

// writePcap writes frames as a classic pcap, 1 ms apart, starting at t0.
func writePcap(t testing.TB, lt layers.LinkType, frames [][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(ci(i, f), f); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// writePcapng writes frames as pcapng.
func writePcapng(t testing.TB, lt layers.LinkType, frames [][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, lt)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(ci(i, f), f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func ci(i int, f []byte) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}
}

// udpSink is a UDP socket on 127.0.0.1 that counts and keeps what arrives.
type udpSink struct {
	conn *net.UDPConn
	got  chan datagram
}

// datagram is one received UDP payload and its source port.
type datagram struct {
	port int
	b    []byte
}

func newUDPSink(t testing.TB) *udpSink {
	t.Helper()
	s := newUDPSinkOn(t, "udp4")
	if s == nil {
		t.Fatal("cannot listen on 127.0.0.1")
	}
	return s
}

// newUDPSinkOn listens on the loopback address of network (udp4 or udp6); nil when the
// host has none.
func newUDPSinkOn(t testing.TB, network string) *udpSink {
	t.Helper()
	ip := net.IPv4(127, 0, 0, 1)
	if network == "udp6" {
		ip = net.IPv6loopback
	}
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
	if err != nil {
		return nil
	}
	_ = c.SetReadBuffer(8 << 20)
	s := &udpSink{conn: c, got: make(chan datagram, 1<<16)}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				close(s.got)
				return
			}
			select {
			case s.got <- datagram{from.Port, append([]byte(nil), buf[:n]...)}:
			default:
			}
		}
	}()
	return s
}

func (s *udpSink) addr() string { return s.conn.LocalAddr().String() }

// collect waits for n datagrams, or until no more arrive for a second.
func (s *udpSink) collect(n int) []datagram {
	var out []datagram
	for len(out) < n {
		select {
		case b, ok := <-s.got:
			if !ok {
				return out
			}
			out = append(out, b)
		case <-time.After(time.Second):
			return out
		}
	}
	return out
}
