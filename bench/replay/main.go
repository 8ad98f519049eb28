// Command replay compares `flowtap replay --topspeed` with `tcpreplay --topspeed -i lo` on
// the same pcap and host, and prints both packet rates and their ratio (the DESIGN budget
// is a ratio ≥ 1).
//
//	go run ./bench/replay [-pcap testdata/demo.pcap] [-packets 1000000] [-sockets 4] [-rounds 3]
//
// flowtap replay sends to a UDP socket on 127.0.0.1 that a goroutine drains with recvmmsg
// and discards; tcpreplay injects the raw frames on lo (it needs root; -K preloads the file,
// as flowtap replay always does). Both send the same number of packets (the pcap looped).
//
// The two do not do the same work: tcpreplay's frames are not addressed to lo, so the
// kernel drops each one as soon as it arrives, while every flowtap datagram goes through
// the UDP send path, loopback and the UDP receive path into the receiver's socket (frames
// injected on lo with a packet socket are not delivered to local sockets, so tcpreplay
// cannot be given the same end-to-end work on one host).
// Packet rates on a shared machine move with the load of other processes: compare the two
// figures of one run, not figures of different runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/flowtap/flowtap/replay"
)

func main() {
	pcap := flag.String("pcap", "testdata/demo.pcap", "capture to replay")
	packets := flag.Int("packets", 1_000_000, "packets to send (the capture is looped)")
	sockets := flag.Int("sockets", replay.DefaultConfig().Sockets, "flowtap replay --sockets")
	batch := flag.Int("batch", replay.DefaultConfig().Batch, "flowtap replay --batch")
	rounds := flag.Int("rounds", 3, "alternating runs of each; medians are compared")
	tcpreplay := flag.String("tcpreplay", "tcpreplay", "tcpreplay binary")
	flag.Parse()
	if err := run(*pcap, *packets, *sockets, *batch, *rounds, *tcpreplay); err != nil {
		fmt.Fprintln(os.Stderr, "bench/replay:", err)
		os.Exit(1)
	}
}

func run(pcap string, packets, sockets, batch, rounds int, tcpreplayBin string) error {
	c, err := replay.ReadFile(pcap)
	if err != nil {
		return err
	}
	loops := max(1, (packets+len(c.Packets)-1)/len(c.Packets))
	total := loops * len(c.Packets)
	fmt.Printf("pcap %s: %d packets × %d loops = %d packets per run, %d alternating rounds\n", pcap, len(c.Packets), loops, total, rounds)
	var ours, theirs []float64
	for i := 0; i < rounds; i++ {
		rep, received, err := runFlowtap(c, loops, sockets, batch)
		if err != nil {
			return err
		}
		fmt.Printf("  flowtap replay --topspeed --sockets %d --batch %d: %.0f pps (%.0f Mbps, %d errors), receiver got %d of %d\n",
			sockets, batch, rep.PPS(), rep.Mbps(), rep.Errors, received, rep.Packets)
		ours = append(ours, rep.PPS())
		pps, out, err := runTcpreplay(tcpreplayBin, pcap, loops)
		if err != nil {
			fmt.Printf("  tcpreplay: not measured: %v\n%s", err, out)
			continue
		}
		fmt.Printf("  tcpreplay --topspeed -K -i lo: %.0f pps\n", pps)
		theirs = append(theirs, pps)
	}
	fmt.Printf("median flowtap replay: %.0f pps\n", median(ours))
	if len(theirs) > 0 {
		fmt.Printf("median tcpreplay:      %.0f pps\n", median(theirs))
		fmt.Printf("ratio flowtap/tcpreplay: %.2f\n", median(ours)/median(theirs))
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func runFlowtap(c *replay.Capture, loops, sockets, batch int) (replay.Report, uint64, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return replay.Report{}, 0, err
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(16 << 20)
	var received atomic.Uint64
	go drain(conn, &received)

	cfg := replay.DefaultConfig()
	cfg.Target = conn.LocalAddr().String()
	cfg.TopSpeed = true
	cfg.Loop = loops
	cfg.Sockets = sockets
	cfg.Batch = batch
	r, err := replay.New(cfg, c)
	if err != nil {
		return replay.Report{}, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := r.Run(ctx)
	time.Sleep(200 * time.Millisecond) // let the receiver drain its buffer
	return rep, received.Load(), err
}

// drain receives and discards datagrams with recvmmsg until conn is closed.
func drain(conn *net.UDPConn, n *atomic.Uint64) {
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 9216)}
	}
	for {
		k, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		n.Add(uint64(k))
	}
}

var ratedPPS = regexp.MustCompile(`Rated:.*?([0-9.]+) pps`)

func runTcpreplay(bin, pcap string, loops int) (float64, []byte, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return 0, nil, err
	}
	out, err := exec.Command(path, "--topspeed", "-K", "--loop="+strconv.Itoa(loops), "-i", "lo", pcap).CombinedOutput()
	if err != nil {
		return 0, out, err
	}
	m := ratedPPS.FindSubmatch(out)
	if m == nil {
		return 0, out, fmt.Errorf("no \"Rated: … pps\" line in its output")
	}
	pps, err := strconv.ParseFloat(string(m[1]), 64)
	return pps, out, err
}
