package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/ingest"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/replay"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

type key struct {
	vni          uint32
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
}

type counts struct {
	packets, bytes uint64
	flags          uint8
}

func (k key) String() string {
	return fmt.Sprintf("vni %d %s:%d→%s:%d proto %d", k.vni, k.src, k.sport, k.dst, k.dport, k.proto)
}

var (
	client  = netip.MustParseAddr("10.0.0.71")
	server  = netip.MustParseAddr("52.95.128.179")
	client6 = netip.MustParseAddr("2001:db8:1234:a100::71")
	server6 = netip.MustParseAddr("2001:db8:1234:a102::80")
)

const (
	vniMain  = 1 // the ENI of sessions.yaml: handshakes, UDP, ICMP, IPv6, VLAN
	vniFrag  = 2 // fragmented datagrams, VNI not in the sessions file
	vniTrunc = 3 // whole frames in the pcap, sent cut to PacketLength 64
)

// tcpSession returns a whole TCP connection: handshake, data both ways, FIN teardown.
func tcpSession(c, s netip.Addr, cport, sport uint16, vlans []uint16, data int) [][]byte {
	f := func(src, dst netip.Addr, sp, dp uint16, flags uint8, n int) []byte {
		return vxlantest.Frame(vxlantest.Spec{VLANs: vlans, Src: src, Dst: dst, Proto: 6, SrcPort: sp, DstPort: dp, TCPFlags: flags, Payload: n})
	}
	const syn, ack, fin, psh = 0x02, 0x10, 0x01, 0x08
	return [][]byte{
		f(c, s, cport, sport, syn, 0),
		f(s, c, sport, cport, syn|ack, 0),
		f(c, s, cport, sport, ack, 0),
		f(c, s, cport, sport, ack|psh, data),
		f(s, c, sport, cport, ack|psh, 3*data),
		f(s, c, sport, cport, ack|psh, 2*data),
		f(c, s, cport, sport, ack, 0),
		f(c, s, cport, sport, fin|ack, 0),
		f(s, c, sport, cport, fin|ack, 0),
		f(c, s, cport, sport, ack, 0),
	}
}

func mainTraffic() [][]byte {
	var fs [][]byte
	fs = append(fs, tcpSession(client, server, 34210, 443, nil, 700)...)
	fs = append(fs, tcpSession(client6, server6, 34892, 22, nil, 300)...)
	fs = append(fs, tcpSession(client, netip.MustParseAddr("10.0.1.9"), 40000, 5432, []uint16{120}, 1000)...) // VLAN-tagged
	for i := range 5 {
		fs = append(fs, vxlantest.Frame(vxlantest.Spec{Src: client, Dst: netip.MustParseAddr("10.0.0.2"), Proto: 17, SrcPort: 5353, DstPort: 53, Payload: 30 + i}))
		fs = append(fs, vxlantest.Frame(vxlantest.Spec{Src: netip.MustParseAddr("10.0.0.2"), Dst: client, Proto: 17, SrcPort: 53, DstPort: 5353, Payload: 90 + i}))
		fs = append(fs, vxlantest.Frame(vxlantest.Spec{VLANs: []uint16{7, 8}, QinQ: true, Src: client6, Dst: server6, Proto: 17, SrcPort: 123, DstPort: 123, Payload: 48}))
	}
	for range 4 {
		fs = append(fs, vxlantest.Frame(vxlantest.Spec{Src: server, Dst: client, Proto: 1, ICMPType: 8, Payload: 56}))
		fs = append(fs, vxlantest.Frame(vxlantest.Spec{Src: client, Dst: server, Proto: 1, ICMPType: 0, Payload: 56}))
		fs = append(fs, vxlantest.Frame(vxlantest.Spec{Src: client6, Dst: server6, Proto: 58, ICMPType: 128, Payload: 32}))
	}
	return fs
}

func fragTraffic() [][]byte {
	var fs [][]byte
	for i := range 3 {
		big := vxlantest.Frame(vxlantest.Spec{Src: client, Dst: server, Proto: 17, SrcPort: 4000 + uint16(i), DstPort: 9000,
			Payload: 3000 + 500*i, FragID: 0x100 + uint32(i)})
		fs = append(fs, vxlantest.FragmentIPv4(big, 1500)...)
		fs = append(fs, vxlantest.Frame(vxlantest.Spec{Src: client, Dst: server, Proto: 17, SrcPort: 4000 + uint16(i), DstPort: 9000, Payload: 10}))
	}
	return fs
}

func truncTraffic() [][]byte {
	return tcpSession(client, server, 50000, 8080, []uint16{99}, 1400)
}

func writePcap(t *testing.T, path string, frames [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// truth computes the expected flow counters of a capture with gopacket: bytes from the IP
// header's length, tcp-flags mapped as AWS does, fragments attributed to their datagram by
// the ports in the first fragment.
func truth(t *testing.T, vni uint32, frames [][]byte, into map[key]counts) {
	t.Helper()
	type fragID struct {
		src, dst netip.Addr
		id       uint16
	}
	ports := map[fragID][2]uint16{}
	for _, fr := range frames {
		pkt := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		var k key
		var length uint64
		k.vni = vni
		if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			k.src, _ = netip.AddrFromSlice(ip.SrcIP)
			k.dst, _ = netip.AddrFromSlice(ip.DstIP)
			k.proto = uint8(ip.Protocol)
			length = uint64(ip.Length)
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				fid := fragID{k.src, k.dst, ip.Id}
				if ip.FragOffset == 0 {
					ports[fid] = [2]uint16{binary.BigEndian.Uint16(ip.Payload), binary.BigEndian.Uint16(ip.Payload[2:])}
				}
				p, ok := ports[fid]
				if !ok {
					t.Fatalf("test capture has a later fragment before its first")
				}
				k.sport, k.dport = p[0], p[1]
			}
		} else if ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			k.src, _ = netip.AddrFromSlice(ip.SrcIP)
			k.dst, _ = netip.AddrFromSlice(ip.DstIP)
			k.proto = uint8(ip.NextHeader)
			length = 40 + uint64(ip.Length)
		} else {
			t.Fatalf("test capture has a non-IP frame")
		}
		var flags uint8
		if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			k.sport, k.dport = uint16(tcp.SrcPort), uint16(tcp.DstPort)
			switch {
			case tcp.SYN && tcp.ACK:
				flags |= 18
			case tcp.SYN:
				flags |= 2
			}
			if tcp.FIN {
				flags |= 1
			}
			if tcp.RST {
				flags |= 4
			}
		} else if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			k.sport, k.dport = uint16(udp.SrcPort), uint16(udp.DstPort)
		}
		c := into[k]
		c.packets++
		c.bytes += length
		c.flags |= flags
		into[k] = c
	}
}

func fromRecords(t *testing.T, recs []flowlog.Record, vniOf map[string]uint32) map[key]counts {
	t.Helper()
	out := map[key]counts{}
	for _, r := range recs {
		if r.LogStatus != flowlog.StatusOK || r.Action != flowlog.ActionAccept {
			t.Fatalf("unexpected record %s", flowlog.DefaultVPC.AppendText(nil, &r))
		}
		vni, ok := vniOf[r.InterfaceID]
		if !ok {
			t.Fatalf("record for unexpected interface %s", r.InterfaceID)
		}
		k := key{vni: vni, src: r.PktSrcAddr, dst: r.PktDstAddr, sport: r.SrcPort, dport: r.DstPort, proto: r.Protocol}
		c := out[k] // a flow may span a window boundary: sum its records
		c.packets += r.Packets
		c.bytes += r.Bytes
		c.flags |= r.TCPFlags
		out[k] = c
		if r.Start > r.End || r.End-r.Start > 60 {
			t.Errorf("%v: start %d end %d", k, r.Start, r.End)
		}
	}
	return out
}

func compare(t *testing.T, what string, got, want map[key]counts) {
	t.Helper()
	var keys []key
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	bad := 0
	for _, k := range keys {
		if got[k] != want[k] {
			bad++
			t.Errorf("%s: %v: collector %+v, truth %+v", what, k, got[k], want[k])
		}
	}
	if bad == 0 && len(want) == 0 {
		t.Errorf("%s: no flows to compare", what)
	}
}

// requireTshark finds tshark, failing (not skipping) with the fix when it is missing.
func requireTshark(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatalf("tshark is not on PATH; it is the independent oracle of this test: run `make test-deps` (installs the Debian tshark package)")
	}
	return p
}

// tsharkTruth has tshark dissect the capture and sums its per-packet fields by flow.
func tsharkTruth(t *testing.T, tshark, pcap string, vni uint32) map[key]counts {
	t.Helper()
	fields := []string{"ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt", "tcp.srcport", "tcp.dstport",
		"udp.srcport", "udp.dstport", "ip.len", "ipv6.plen", "tcp.flags"}
	args := []string{"-n", "-r", pcap, "-T", "fields", "-E", "separator=|", "-o", "ip.defragment:FALSE"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile, no config writes
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	res := map[key]counts{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	num := func(s string) uint64 {
		if s == "" {
			return 0
		}
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(s, "0x")], 64)
		if err != nil {
			t.Fatalf("tshark field %q: %v", s, err)
		}
		return v
	}
	n := 0
	for sc.Scan() {
		n++
		v := strings.Split(sc.Text(), "|")
		if len(v) != len(fields) {
			t.Fatalf("tshark line %q", sc.Text())
		}
		k := key{vni: vni}
		var length uint64
		if v[0] != "" {
			k.src, k.dst = netip.MustParseAddr(v[0]), netip.MustParseAddr(v[1])
			k.proto = uint8(num(v[4]))
			length = num(v[10])
		} else {
			k.src, k.dst = netip.MustParseAddr(v[2]), netip.MustParseAddr(v[3])
			k.proto = uint8(num(v[5]))
			length = 40 + num(v[11])
		}
		k.sport, k.dport = uint16(num(v[6])+num(v[8])), uint16(num(v[7])+num(v[9]))
		raw := uint8(num(v[12]))
		var flags uint8
		if raw&0x02 != 0 {
			flags |= 2
			if raw&0x10 != 0 {
				flags |= 16
			}
		}
		flags |= raw & 0x05
		c := res[k]
		c.packets++
		c.bytes += length
		c.flags |= flags
		res[k] = c
	}
	if n == 0 {
		t.Fatalf("tshark printed no packets: %s", stderr.String())
	}
	return res
}

// TestAccuracy replays captures made here through a real collector on 127.0.0.1 and checks
// every record against the truth computed from the captures (by gopacket, and for the main
// capture also by tshark).
func TestAccuracy(t *testing.T) {
	tshark := requireTshark(t)
	dir := t.TempDir()
	captures := []struct {
		name         string
		vni          uint32
		frames       [][]byte
		packetLength int
	}{
		{"main.pcap", vniMain, mainTraffic(), 0},
		{"frag.pcap", vniFrag, fragTraffic(), 0},
		{"trunc.pcap", vniTrunc, truncTraffic(), 64},
	}
	want := map[key]counts{}
	total := 0
	for _, c := range captures {
		writePcap(t, filepath.Join(dir, c.name), c.frames)
		truth(t, c.vni, c.frames, want)
		total += len(c.frames)
	}

	sessions := filepath.Join(dir, "sessions.yaml")
	if err := os.WriteFile(sessions, []byte(`sessions:
  - {vni: 1, account-id: "123456789012", interface-id: eni-0aaa, region: us-east-1, az-id: use1-az1, ips: [10.0.0.71, "2001:db8:1234:a100::71"]}
  - {vni: 3, account-id: "123456789012", interface-id: eni-0ccc, ips: [10.0.0.71]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	sess, err := ingest.LoadSessions(sessions)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.DefaultConfig()
	cfg.Listen, cfg.HealthAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Sockets, cfg.Shards = 2, 2
	rec := &testenv.Recorder{}
	reg := prometheus.NewRegistry()
	col, err := ingest.New(cfg, rec, component.Deps{Registry: reg}, ingest.WithSessions(sess))
	if err != nil {
		t.Fatal(err)
	}
	run := testenv.Run(t, col)
	<-col.Ready()
	if len(col.Addrs()) == 0 {
		t.Fatalf("collector did not start: %v", run.Stop())
	}
	health := "http://" + col.HealthAddr().String() + "/healthz"
	if code := httpStatus(t, health); code != http.StatusOK {
		t.Fatalf("healthz while receiving: %d", code)
	}

	target := col.Addrs()[0].String()
	for _, c := range captures {
		capt, err := replay.ReadFile(filepath.Join(dir, c.name))
		if err != nil {
			t.Fatal(err)
		}
		rc := replay.DefaultConfig()
		rc.Target, rc.VNI, rc.PPS, rc.PacketLength, rc.Sockets, rc.Batch = target, c.vni, 20000, c.packetLength, 2, 16
		r, err := replay.New(rc, capt)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Run(t.Context())
		if err != nil || rep.Errors != 0 || rep.Packets != uint64(len(c.frames)) {
			t.Fatalf("replay %s: %v %s", c.name, err, rep)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for testenv.MetricSum(t, reg, "flowtap_ingest_packets_total") < float64(total) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := testenv.MetricSum(t, reg, "flowtap_ingest_packets_total"); got != float64(total) {
		t.Fatalf("collector received %v datagrams, sent %d (kernel drops %v)", got, total, testenv.MetricSum(t, reg, "flowtap_ingest_kernel_drops_total"))
	}
	if err := run.Stop(); err != nil { // graceful shutdown flushes the open windows
		t.Fatal(err)
	}
	if d := testenv.MetricSum(t, reg, "flowtap_ingest_drops_total"); d != 0 {
		t.Errorf("%v datagrams dropped as malformed", d)
	}

	got := fromRecords(t, rec.Records(), map[string]uint32{"eni-0aaa": vniMain, "eni-vni00000002": vniFrag, "eni-0ccc": vniTrunc})
	compare(t, "gopacket truth", got, want)

	// tshark, an independent dissector, on the main capture.
	mainOnly := map[key]counts{}
	for k, c := range got {
		if k.vni == vniMain {
			mainOnly[k] = c
		}
	}
	compare(t, "tshark", mainOnly, tsharkTruth(t, tshark, filepath.Join(dir, "main.pcap"), vniMain))

	// Direction and ENI metadata on the main session.
	for _, r := range rec.Records() {
		if r.InterfaceID != "eni-0aaa" {
			continue
		}
		wantDir := flowlog.DirectionIngress
		if r.PktSrcAddr == client || r.PktSrcAddr == client6 {
			wantDir = flowlog.DirectionEgress
		}
		if r.FlowDirection != wantDir || r.AccountID != "123456789012" || r.AZID != "use1-az1" {
			t.Errorf("record %s: direction %v", flowlog.AllVPC.AppendText(nil, &r), r.FlowDirection)
		}
	}
	if u := testenv.MetricSum(t, reg, "flowtap_ingest_unknown_vni_packets_total"); u != float64(len(fragTraffic())) {
		t.Errorf("unknown-VNI packets %v, want %d", u, len(fragTraffic()))
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// blockingWriter holds the first WriteRecords call until released, so the test can look at
// the collector while it drains.
type blockingWriter struct {
	entered, release chan struct{}
	once             atomic.Bool
	testenv.Recorder
}

func (w *blockingWriter) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	if !w.once.Swap(true) {
		w.entered <- struct{}{}
		<-w.release
	}
	return w.Recorder.WriteRecords(ctx, recs)
}

func TestHealthWhileDraining(t *testing.T) {
	cfg := ingest.DefaultConfig()
	cfg.Listen, cfg.HealthAddr, cfg.Sockets, cfg.Shards = "127.0.0.1:0", "127.0.0.1:0", 1, 1
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	col, err := ingest.New(cfg, w, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	run := testenv.Run(t, col)
	<-col.Ready()
	health := "http://" + col.HealthAddr().String() + "/healthz"
	if code := httpStatus(t, health); code != http.StatusOK {
		t.Fatalf("receiving: %d", code)
	}
	conn, err := net.Dial("udp", col.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	frame := vxlantest.Frame(vxlantest.Spec{Src: client, Dst: server, Proto: 17, SrcPort: 1, DstPort: 2})
	if _, err := conn.Write(vxlantest.VXLAN(9, frame)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	time.Sleep(100 * time.Millisecond) // let the shard take the packet in
	run.Cancel()
	select {
	case <-w.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not flush the open window")
	}
	if code := httpStatus(t, health); code != http.StatusServiceUnavailable {
		t.Errorf("draining: %d, want 503", code)
	}
	close(w.release)
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := w.Records(); len(got) != 1 || got[0].InterfaceID != "eni-vni00000009" || got[0].Packets != 1 {
		t.Fatalf("flushed records: %+v", got)
	}
}
