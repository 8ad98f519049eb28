// Command replay compares `flowtap replay` with tcpreplay doing the same work: sending a
// capture of pre-encapsulated VXLAN frames (what tcpdump takes on a mirror target) to one
// receiving UDP socket, as fast as each can.
//
//	go run ./bench/replay [-pcap testdata/demo.pcap] [-packets 1000000] [-rounds 3]
//
// The bench binds a receiver on this host's IPv4 address, port 4789, then writes a capture
// in which every frame of -pcap is wrapped as Ethernet/IPv4/UDP/VXLAN addressed to that
// receiver (MAC 0, the receiver's address, a per-flow outer source port as AWS picks it,
// VNI 1). tcpreplay injects those frames on lo (-K preloads them, --topspeed); loopback
// hands them to the IP stack, which delivers them to the receiver like any datagram.
// `flowtap replay`, built from this tree and run as its own process like tcpreplay, sends
// the same capture with --encap captured --topspeed: the same UDP payloads, from the same
// outer source ports, to the same socket, from one sending thread (--threads 1) as
// tcpreplay. Both are measured at the sender (its own packets/s: tcpreplay's "Rated",
// flowtap's report) and at the receiver (datagrams delivered per second between the first
// and the last one received, and how many of those sent arrived), in alternating rounds;
// medians are compared. tcpreplay needs root (a packet socket).
//
// flowtap replay sends a socket's runs of equal-size datagrams as UDP GSO messages, which
// the kernel cuts up again before the receiving socket (the receiver gets the same
// datagrams in the same order); -gso=false measures it sending one datagram per message.
//
// With -pin (the default, on hosts with 2 or more CPUs) the receiver runs on the last CPU
// and both senders on the others (taskset), so neither sender shares a CPU with the
// receiver by the scheduler's chance: on loopback the sender's CPU also runs the receive
// path up to the socket, and a receiver that the scheduler puts beside it halves the rate.
//
// First, both send two loops of the capture to a socket of the bench's own, which checks
// that they deliver the same datagrams, in the same order per outer source port;
// -record-golden keeps tcpreplay's answer in testdata, where make test compares flowtap
// replay with it.
//
// Packet rates on a shared machine move with the load of other processes: compare the two
// figures of one run, not figures of different runs.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/ipv4"

	"github.com/flowtap/flowtap/replay"
	"github.com/flowtap/flowtap/vxlan"
)

func main() {
	pcap := flag.String("pcap", "testdata/demo.pcap", "capture whose frames are mirrored (wrapped in VXLAN for the bench)")
	packets := flag.Int("packets", 1_000_000, "packets per run (the capture is looped)")
	batch := flag.Int("batch", replay.DefaultConfig().Batch, "flowtap replay --batch")
	threads := flag.Int("threads", 1, "flowtap replay --threads (tcpreplay sends from one thread)")
	rounds := flag.Int("rounds", 3, "alternating runs of each; medians are compared")
	tcpreplay := flag.String("tcpreplay", "tcpreplay", "tcpreplay binary")
	flowtap := flag.String("flowtap", "", "flowtap binary (default: built from this tree; run from the repository root)")
	gso := flag.Bool("gso", true, "let flowtap replay send runs of equal-size datagrams as UDP GSO messages (false: --no-gso)")
	pin := flag.Bool("pin", true, "receiver on the last CPU, senders on the others (needs taskset and 2 or more CPUs)")
	golden := flag.String("golden", "bench/replay/testdata/tcpreplay-demo.golden", "with -record-golden: where tcpreplay's arrivals are written")
	record := flag.Bool("record-golden", false, "write what tcpreplay delivered (2 loops of -pcap) to -golden, for make test")
	receive := flag.Bool("receive", false, "internal: be the receiving process")
	flag.Parse()
	if *receive {
		if err := receiveMain(); err != nil {
			fmt.Fprintln(os.Stderr, "bench/replay receiver:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*pcap, *packets, *batch, *threads, *rounds, *tcpreplay, *flowtap, *gso, *pin, *golden, *record); err != nil {
		fmt.Fprintln(os.Stderr, "bench/replay:", err)
		os.Exit(1)
	}
}

// receiver counts datagrams on one UDP socket and notes when the first and last arrived.
type receiver struct {
	conn        *net.UDPConn
	n           atomic.Uint64
	first, last atomic.Int64 // unix ns
}

// newReceiver binds UDP port 4789 (where mirror packets go, and what `--encap captured`
// recognises) on this host's first non-loopback IPv4 address. Not 127.0.0.1: a frame that
// a packet socket injects on lo is routed like one arriving from a wire, and the kernel
// drops those addressed to 127/8 (martian destination, unless route_localnet) or coming
// from one of its own addresses (martian source) without a counter, so the frames come
// from a TEST-NET-2 address to a local, non-loopback one.
func newReceiver() (*receiver, error) {
	ip, err := hostIPv4()
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: 4789})
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(32 << 20)
	r := &receiver{conn: c}
	go r.drain()
	return r, nil
}

// hostIPv4 is this host's first non-loopback IPv4 address.
func hostIPv4() (net.IP, error) {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range ifs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.To4(), nil
		}
	}
	return nil, fmt.Errorf("no non-loopback IPv4 address on this host to receive on")
}

func (r *receiver) drain() {
	pc := ipv4.NewPacketConn(r.conn)
	msgs := make([]ipv4.Message, 256)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 9216)}
	}
	for {
		k, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		if r.n.Add(uint64(k)) == uint64(k) {
			r.first.Store(now)
		}
		r.last.Store(now)
	}
}

// receiveMain is the receiving process: it binds, prints its address, then answers each
// line on stdin: "reset" starts a new measurement, "settle" waits until nothing more
// arrives and prints the count and the delivered rate. The receiver is a process of its
// own so that it has the same share of the CPUs whichever sender runs.
func receiveMain() error {
	r, err := newReceiver()
	if err != nil {
		return err
	}
	fmt.Println(r.conn.LocalAddr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "reset":
			r.n.Store(0)
			r.first.Store(0)
			r.last.Store(0)
			fmt.Println("ok")
		case "settle":
			n, rate := r.settle()
			fmt.Println(n, rate)
		}
	}
	return nil
}

// remoteReceiver drives the receiving process.
type remoteReceiver struct {
	addr *net.UDPAddr
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

func startReceiver(cpus *cpuSplit) (*remoteReceiver, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := cpus.receiver(self, "-receive")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &remoteReceiver{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if !r.out.Scan() {
		r.stop()
		return nil, fmt.Errorf("receiver did not start")
	}
	if r.addr, err = net.ResolveUDPAddr("udp4", r.out.Text()); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *remoteReceiver) ask(q string) (string, error) {
	if _, err := fmt.Fprintln(r.in, q); err != nil {
		return "", err
	}
	if !r.out.Scan() {
		return "", fmt.Errorf("receiver: no answer to %s", q)
	}
	return r.out.Text(), nil
}

func (r *remoteReceiver) reset() error { _, err := r.ask("reset"); return err }

func (r *remoteReceiver) settle() (n uint64, rate float64, err error) {
	a, err := r.ask("settle")
	if err != nil {
		return 0, 0, err
	}
	_, err = fmt.Sscan(a, &n, &rate)
	return n, rate, err
}

func (r *remoteReceiver) stop() {
	r.in.Close()
	_ = r.cmd.Wait()
}

// settle waits until nothing more arrives.
func (r *receiver) settle() (count uint64, rate float64) {
	for prev := ^uint64(0); ; {
		time.Sleep(150 * time.Millisecond)
		n := r.n.Load()
		if n == prev {
			break
		}
		prev = n
	}
	count = r.n.Load()
	if d := time.Duration(r.last.Load() - r.first.Load()); d > 0 {
		rate = float64(count) / d.Seconds()
	}
	return count, rate
}

func run(pcap string, packets, batch, threads, rounds int, tcpreplayBin, flowtapBin string, gso, pin bool, golden string, record bool) error {
	inner, err := replay.ReadFile(pcap)
	if err != nil {
		return err
	}
	cpus := splitCPUs(pin)
	fmt.Println(cpus)
	dir, err := os.MkdirTemp("", "bench-replay-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if flowtapBin == "" {
		flowtapBin = filepath.Join(dir, "flowtap")
		if out, err := exec.Command("go", "build", "-o", flowtapBin, "./cmd/flowtap").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/flowtap (run from the repository root, or give -flowtap): %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath(tcpreplayBin); err == nil {
		ip, err := hostIPv4()
		if err != nil {
			return err
		}
		if err := sameAsTcpreplay(cpus, tcpreplayBin, flowtapBin, gso, ip, dir, pcap, golden, record); err != nil {
			return err
		}
	}
	recv, err := startReceiver(cpus)
	if err != nil {
		return err
	}
	defer recv.stop()
	encapPath := filepath.Join(dir, "target.pcap")
	flows, err := writeEncapsulated(encapPath, inner, recv.addr)
	if err != nil {
		return err
	}
	capt, err := replay.ReadFile(encapPath)
	if err != nil {
		return err
	}
	per := len(capt.Packets)
	loops := max(1, (packets+per-1)/per)
	total := loops * per
	fmt.Printf("pcap %s as pre-encapsulated VXLAN to %s: %d frames (%d outer source ports) × %d loops = %d datagrams per run, %d alternating rounds\n",
		pcap, recv.addr, per, flows, loops, total, rounds)
	var oursSent, oursDelivered, theirsSent, theirsDelivered []float64
	for i := 0; i < rounds; i++ {
		if err := recv.reset(); err != nil {
			return err
		}
		rep, out, err := runFlowtap(cpus, flowtapBin, encapPath, recv.addr.String(), loops, batch, threads, gso)
		if err != nil {
			return fmt.Errorf("flowtap replay: %v\n%s", err, out)
		}
		got, rate, err := recv.settle()
		if err != nil {
			return err
		}
		fmt.Printf("  flowtap replay --encap captured --topspeed --batch %d --threads %d%s: sender %.0f pps (%d errors, %d datagrams in GSO runs); receiver %.0f delivered/s, %d of %d (%.1f%%)\n",
			batch, threads, map[bool]string{false: " --no-gso"}[gso], rep.pps, rep.errors, rep.gso, rate, got, rep.packets, 100*float64(got)/float64(max(rep.packets, 1)))
		oursSent, oursDelivered = append(oursSent, rep.pps), append(oursDelivered, rate)

		if err := recv.reset(); err != nil {
			return err
		}
		pps, sent, out, err := runTcpreplay(cpus, tcpreplayBin, encapPath, loops)
		if err != nil {
			fmt.Printf("  tcpreplay: not measured: %v\n%s", err, out)
			continue
		}
		if got, rate, err = recv.settle(); err != nil {
			return err
		}
		fmt.Printf("  tcpreplay --topspeed -K -i lo: sender %.0f pps; receiver %.0f delivered/s, %d of %d (%.1f%%)\n",
			pps, rate, got, sent, 100*float64(got)/float64(max(sent, 1)))
		theirsSent, theirsDelivered = append(theirsSent, pps), append(theirsDelivered, rate)
	}
	fmt.Printf("median flowtap replay: sender %.0f pps, receiver %.0f delivered/s\n", median(oursSent), median(oursDelivered))
	if len(theirsSent) > 0 {
		fmt.Printf("median tcpreplay:      sender %.0f pps, receiver %.0f delivered/s\n", median(theirsSent), median(theirsDelivered))
		fmt.Printf("ratio flowtap/tcpreplay: delivered %.2f, sent %.2f\n", median(oursDelivered)/median(theirsDelivered), median(oursSent)/median(theirsSent))
	}
	return nil
}

// writeEncapsulated writes every frame of c wrapped as a mirror target would capture it:
// Ethernet (MAC 0, as lo expects) / IPv4 198.51.100.7 → the receiver / UDP from the frame's
// AWS-style per-flow port to the receiver's port / VXLAN VNI 1. It returns the number of outer ports.
func writeEncapsulated(path string, c *replay.Capture, to *net.UDPAddr) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return 0, err
	}
	ports := map[uint16]bool{}
	buf := gopacket.NewSerializeBuffer()
	for _, p := range c.Packets {
		sport := vxlan.SourcePort(p.Frame)
		ports[sport] = true
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(198, 51, 100, 7).To4(), DstIP: to.IP.To4()}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(to.Port)}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return 0, err
		}
		payload := vxlan.AppendEncap(nil, 1, p.Frame, 0)
		err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.Ethernet{SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6), EthernetType: layers.EthernetTypeIPv4},
			ip, udp, gopacket.Payload(payload))
		if err != nil {
			return 0, err
		}
		b := buf.Bytes()
		binary.BigEndian.PutUint16(b[14+20+6:], 0) // no UDP checksum (allowed over IPv4), as AWS sends
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			return 0, err
		}
	}
	return len(ports), nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// flowtapReport is what the bench reads from `flowtap replay`'s final report line.
type flowtapReport struct {
	packets, errors, gso uint64
	pps                  float64
}

var (
	flowtapLine = regexp.MustCompile(`replay: ([0-9]+) packets, .*: ([0-9.]+) pps, [0-9.]+ Mbps, ([0-9]+) errors`)
	flowtapGSO  = regexp.MustCompile(`; ([0-9]+) datagrams in UDP GSO runs`)
)

func runFlowtap(cpus *cpuSplit, bin, pcap, target string, loops, batch, threads int, gso bool) (flowtapReport, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"replay", "--target", target, "--encap", replay.EncapCaptured, "--topspeed",
		"--loop", strconv.Itoa(loops), "--batch", strconv.Itoa(batch), "--threads", strconv.Itoa(threads), pcap}
	if !gso {
		args = append(args, "--no-gso")
	}
	out, err := cpus.sender(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return flowtapReport{}, out, err
	}
	m := flowtapLine.FindSubmatch(out)
	if m == nil {
		return flowtapReport{}, out, fmt.Errorf("no report line in its output")
	}
	var rep flowtapReport
	rep.packets, _ = strconv.ParseUint(string(m[1]), 10, 64)
	rep.pps, _ = strconv.ParseFloat(string(m[2]), 64)
	rep.errors, _ = strconv.ParseUint(string(m[3]), 10, 64)
	if g := flowtapGSO.FindSubmatch(out); g != nil {
		rep.gso, _ = strconv.ParseUint(string(g[1]), 10, 64)
	}
	return rep, out, nil
}

// cpuSplit places the receiver on one CPU and the senders on the others, with taskset;
// a nil *cpuSplit places nothing.
type cpuSplit struct {
	taskset          string
	receive, senders string // CPU lists
}

func splitCPUs(pin bool) *cpuSplit {
	n := runtime.NumCPU()
	path, err := exec.LookPath("taskset")
	if !pin || n < 2 || err != nil {
		return nil
	}
	return &cpuSplit{taskset: path, receive: strconv.Itoa(n - 1), senders: fmt.Sprintf("0-%d", n-2)}
}

func (c *cpuSplit) String() string {
	if c == nil {
		return "CPUs: not pinned"
	}
	return fmt.Sprintf("CPUs: receiver on %s, senders on %s", c.receive, c.senders)
}

func (c *cpuSplit) receiver(bin string, args ...string) *exec.Cmd {
	if c == nil {
		return exec.Command(bin, args...)
	}
	return exec.Command(c.taskset, append([]string{"-c", c.receive, bin}, args...)...)
}

func (c *cpuSplit) sender(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if c == nil {
		return exec.CommandContext(ctx, bin, args...)
	}
	return exec.CommandContext(ctx, c.taskset, append([]string{"-c", c.senders, bin}, args...)...)
}

var (
	ratedPPS   = regexp.MustCompile(`Rated:.*?([0-9.]+) pps`)
	actualSent = regexp.MustCompile(`Actual: ([0-9]+) packets`)
)

func runTcpreplay(cpus *cpuSplit, bin, pcap string, loops int) (pps float64, sent uint64, out []byte, err error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return 0, 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err = cpus.sender(ctx, path, "--topspeed", "-K", "--loop="+strconv.Itoa(loops), "-i", "lo", pcap).CombinedOutput()
	if err != nil {
		return 0, 0, out, err
	}
	m := ratedPPS.FindSubmatch(out)
	a := actualSent.FindSubmatch(out)
	if m == nil || a == nil {
		return 0, 0, out, fmt.Errorf("no \"Actual: … packets\" and \"Rated: … pps\" lines in its output")
	}
	pps, err = strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, 0, out, err
	}
	sent, err = strconv.ParseUint(string(a[1]), 10, 64)
	return pps, sent, out, err
}
