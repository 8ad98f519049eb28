// Package demo builds testdata/demo.pcap: a small, deterministic capture of realistic
// traffic of three instances in 10.0.1.0/24 (TLS and HTTP clients, an SSH server) with
// public hosts: TCP handshakes, data and teardowns, DNS over UDP, and ICMP echo.
package demo

import (
	"bytes"
	"math/rand/v2"
	"net"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Start is the timestamp of the first packet.
var Start = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

var (
	gatewayMAC = net.HardwareAddr{0x0a, 0x3c, 0x11, 0x00, 0x00, 0x01} // the VPC router
	instMAC    = map[string]net.HardwareAddr{
		"10.0.1.10": {0x0a, 0x5e, 0x23, 0x10, 0x01, 0x0a},
		"10.0.1.20": {0x0a, 0x5e, 0x23, 0x10, 0x01, 0x14},
		"10.0.1.30": {0x0a, 0x5e, 0x23, 0x10, 0x01, 0x1e},
	}
)

type packet struct {
	at    time.Duration
	frame []byte
}

type builder struct {
	rng     *rand.Rand
	packets []packet
	ipID    uint16
}

// Build returns the demo capture as a pcap file (Ethernet, microsecond timestamps).
func Build() ([]byte, error) {
	b := &builder{rng: rand.New(rand.NewPCG(2024, 5))}
	ms := time.Millisecond

	// HTTPS from the web server to a public API: handshake, TLS hello, a response in
	// several segments, application data, FIN teardown.
	tls := b.tcp("10.0.1.10", 49822, "93.184.216.34", 443, 0, 12*ms)
	tls.open()
	tls.send(true, 517)
	tls.send(false, 1448, 1448, 1448, 806)
	tls.send(true, 126)
	tls.send(true, 210)
	tls.send(false, 1300)
	tls.close(true)

	// Plain HTTP from the app server; the server closes first.
	http := b.tcp("10.0.1.20", 51544, "52.94.236.248", 80, 150*ms, 25*ms)
	http.open()
	http.send(true, 142)
	http.send(false, 1448, 1448, 512)
	http.close(false)

	// SSH into the bastion from an admin's address, ended by a reset.
	ssh := b.tcp("198.51.100.23", 60211, "10.0.1.30", 22, 300*ms, 40*ms)
	ssh.open()
	ssh.send(false, 41)
	ssh.send(true, 41)
	ssh.send(true, 1392)
	ssh.send(false, 1080)
	for i := 0; i < 4; i++ {
		ssh.send(true, 36)
		ssh.send(false, 52)
	}
	ssh.reset(true)

	// DNS lookups.
	b.dns("10.0.1.10", 53211, "1.1.1.1", 0, 4*ms, "example.com", layers.DNSTypeA, net.IP{93, 184, 216, 34})
	b.dns("10.0.1.20", 40517, "8.8.8.8", 140*ms, 18*ms, "aws.amazon.com", layers.DNSTypeA, net.IP{52, 94, 236, 248})
	b.dns("10.0.1.20", 40518, "8.8.8.8", 141*ms, 19*ms, "aws.amazon.com", layers.DNSTypeAAAA, net.ParseIP("2600:9000:2345:aa00:1d:e9c5:2140:93a1"))
	b.dns("10.0.1.30", 33002, "1.1.1.1", 900*ms, 5*ms, "deb.debian.org", layers.DNSTypeA, net.IP{151, 101, 2, 132})

	// Pings from the app server, and an unanswered probe from the internet.
	for i := 0; i < 4; i++ {
		at := 500*ms + time.Duration(i)*time.Second
		b.icmp("10.0.1.20", "8.8.8.8", at, layers.ICMPv4TypeEchoRequest, uint16(i+1))
		b.icmp("8.8.8.8", "10.0.1.20", at+11*ms, layers.ICMPv4TypeEchoReply, uint16(i+1))
	}
	b.icmp("203.0.113.77", "10.0.1.10", 2200*ms, layers.ICMPv4TypeEchoRequest, 1)

	sort.SliceStable(b.packets, func(i, j int) bool { return b.packets[i].at < b.packets[j].at })
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	for _, p := range b.packets {
		ci := gopacket.CaptureInfo{Timestamp: Start.Add(p.at), CaptureLength: len(p.frame), Length: len(p.frame)}
		if err := w.WritePacket(ci, p.frame); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// add serializes a frame from src to dst (MACs from which side is the instance).
func (b *builder) add(at time.Duration, src, dst string, l4 ...gopacket.SerializableLayer) {
	eth := &layers.Ethernet{SrcMAC: gatewayMAC, DstMAC: gatewayMAC, EthernetType: layers.EthernetTypeIPv4}
	if m, ok := instMAC[src]; ok {
		eth.SrcMAC = m
	}
	if m, ok := instMAC[dst]; ok {
		eth.DstMAC = m
	}
	b.ipID += 1 + uint16(b.rng.IntN(40))
	ttl := uint8(64)
	if _, ok := instMAC[src]; !ok {
		ttl = 64 - 10 - net.ParseIP(src).To4()[3]%10 // arrived over a path of 10–19 hops
	}
	ip := &layers.IPv4{Version: 4, TTL: ttl, Id: b.ipID, Flags: layers.IPv4DontFragment, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	switch l := l4[0].(type) {
	case *layers.TCP:
		ip.Protocol = layers.IPProtocolTCP
		_ = l.SetNetworkLayerForChecksum(ip)
	case *layers.UDP:
		ip.Protocol = layers.IPProtocolUDP
		ip.Flags = 0
		_ = l.SetNetworkLayerForChecksum(ip)
	case *layers.ICMPv4:
		ip.Protocol = layers.IPProtocolICMPv4
		ip.Flags = 0
	}
	buf := gopacket.NewSerializeBuffer()
	ls := append([]gopacket.SerializableLayer{eth, ip}, l4...)
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err) // layers built here are always valid
	}
	b.packets = append(b.packets, packet{at, append([]byte(nil), buf.Bytes()...)})
}

func (b *builder) payload(n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(b.rng.IntN(256))
	}
	return p
}

// conn is a TCP connection between a client and a server with a given round-trip time.
type conn struct {
	b              *builder
	cli, srv       string
	cport, sport   uint16
	cseq, sseq     uint32
	at, rtt        time.Duration
	cliWin, srvWin uint16
}

func (b *builder) tcp(cli string, cport uint16, srv string, sport uint16, start, rtt time.Duration) *conn {
	return &conn{b: b, cli: cli, srv: srv, cport: cport, sport: sport, cseq: b.rng.Uint32(), sseq: b.rng.Uint32(), at: start, rtt: rtt, cliWin: 64240, srvWin: 65535}
}

// seg sends one segment from the client (fromCli) or the server.
func (c *conn) seg(fromCli bool, syn, ack, psh, fin, rst bool, n int) {
	t := &layers.TCP{SYN: syn, ACK: ack, PSH: psh, FIN: fin, RST: rst}
	src, dst := c.srv, c.cli
	t.SrcPort, t.DstPort = layers.TCPPort(c.sport), layers.TCPPort(c.cport)
	t.Seq, t.Ack, t.Window = c.sseq, c.cseq, c.srvWin
	if fromCli {
		src, dst = c.cli, c.srv
		t.SrcPort, t.DstPort = layers.TCPPort(c.cport), layers.TCPPort(c.sport)
		t.Seq, t.Ack, t.Window = c.cseq, c.sseq, c.cliWin
	}
	if !ack {
		t.Ack = 0
	}
	if syn {
		t.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xa8}}}
	}
	ls := []gopacket.SerializableLayer{t}
	if n > 0 {
		ls = append(ls, c.b.payload(n))
	}
	c.b.add(c.at, src, dst, ls...)
	adv := uint32(n)
	if syn || fin {
		adv++
	}
	if fromCli {
		c.cseq += adv
	} else {
		c.sseq += adv
	}
}

func (c *conn) open() {
	c.seg(true, true, false, false, false, false, 0)
	c.at += c.rtt / 2
	c.seg(false, true, true, false, false, false, 0)
	c.at += c.rtt / 2
	c.seg(true, false, true, false, false, false, 0)
	c.at += time.Millisecond
}

// send sends segments of the given sizes one way, then the other side's ACK.
func (c *conn) send(fromCli bool, sizes ...int) {
	for i, n := range sizes {
		c.seg(fromCli, false, true, i == len(sizes)-1, false, false, n)
		c.at += 200 * time.Microsecond
	}
	c.at += c.rtt / 2
	c.seg(!fromCli, false, true, false, false, false, 0)
	c.at += c.rtt/2 + time.Millisecond
}

// close is a FIN handshake started by the client (cliFirst) or the server.
func (c *conn) close(cliFirst bool) {
	c.seg(cliFirst, false, true, false, true, false, 0)
	c.at += c.rtt / 2
	c.seg(!cliFirst, false, true, false, true, false, 0)
	c.at += c.rtt / 2
	c.seg(cliFirst, false, true, false, false, false, 0)
}

// reset ends the connection with an RST from the client (fromCli) or the server.
func (c *conn) reset(fromCli bool) {
	c.seg(fromCli, false, true, false, false, true, 0)
}

// dns adds a query and its answer.
func (b *builder) dns(cli string, cport uint16, srv string, at, rtt time.Duration, name string, qtype layers.DNSType, answer net.IP) {
	id := uint16(b.rng.IntN(65536))
	q := layers.DNSQuestion{Name: []byte(name), Type: qtype, Class: layers.DNSClassIN}
	query := &layers.DNS{ID: id, RD: true, QDCount: 1, Questions: []layers.DNSQuestion{q}}
	b.add(at, cli, srv, &layers.UDP{SrcPort: layers.UDPPort(cport), DstPort: 53}, query)
	rr := layers.DNSResourceRecord{Name: []byte(name), Type: qtype, Class: layers.DNSClassIN, TTL: 300, IP: answer}
	resp := &layers.DNS{ID: id, QR: true, RD: true, RA: true, QDCount: 1, ANCount: 1, Questions: []layers.DNSQuestion{q}, Answers: []layers.DNSResourceRecord{rr}}
	b.add(at+rtt, srv, cli, &layers.UDP{SrcPort: 53, DstPort: layers.UDPPort(cport)}, resp)
}

// icmp adds an echo request or reply with a ping-like 56-byte payload.
func (b *builder) icmp(src, dst string, at time.Duration, typ uint8, seq uint16) {
	m := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 0x1f2e, Seq: seq}
	b.add(at, src, dst, m, gopacket.Payload(bytes.Repeat([]byte{0x5a}, 56)))
}
