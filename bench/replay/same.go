package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/replay"
)

// arrivals is what one receiving socket got, per outer source port: how many datagrams
// and a digest of their payloads in the order they arrived.
type arrivals map[int]*portArrivals

type portArrivals struct {
	n      int
	digest [sha256.Size]byte
}

func (a arrivals) add(port int, payload []byte) {
	p := a[port]
	if p == nil {
		p = &portArrivals{}
		a[port] = p
	}
	d := sha256.Sum256(payload)
	p.digest = sha256.Sum256(append(p.digest[:], d[:]...))
	p.n++
}

// lines is the golden file's form: "port N datagrams DIGEST", by port.
func (a arrivals) lines() []string {
	var out []string
	for port, p := range a {
		out = append(out, fmt.Sprintf("%d %d %s", port, p.n, hex.EncodeToString(p.digest[:16])))
	}
	slices.Sort(out)
	return out
}

// flows is lines without the ports: what is compared when a sender could not keep every
// captured port.
func flows(lines []string) []string {
	var out []string
	for _, l := range lines {
		if _, rest, ok := strings.Cut(l, " "); ok {
			out = append(out, rest)
		}
	}
	slices.Sort(out)
	return out
}

// listenArrivals binds addr and records what arrives until nothing has for idle.
func listenArrivals(addr string) (*net.UDPConn, func(idle time.Duration) arrivals, error) {
	c, err := net.ListenUDP("udp4", mustUDPAddr(addr))
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetReadBuffer(8 << 20)
	collect := func(idle time.Duration) arrivals {
		a := arrivals{}
		buf := make([]byte, 65536)
		for {
			_ = c.SetReadDeadline(time.Now().Add(idle))
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return a
			}
			a.add(from.Port, buf[:n])
		}
	}
	return c, collect, nil
}

func mustUDPAddr(s string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp4", s)
	if err != nil {
		panic(err)
	}
	return a
}

// sameAsTcpreplay sends two loops of the capture with tcpreplay and with flowtap replay to
// a socket of its own on ip, port 4789 (where --encap captured recognises VXLAN), and
// compares, port by port, the datagrams each delivered. With
// record, tcpreplay's answer is written to golden (make test then checks flowtap replay
// against it without tcpreplay).
func sameAsTcpreplay(cpus *cpuSplit, tcpreplayBin, flowtapBin string, gso bool, ip net.IP, dir, pcap, golden string, record bool) error {
	inner, err := replay.ReadFile(pcap)
	if err != nil {
		return err
	}
	c, collect, err := listenArrivals(net.JoinHostPort(ip.String(), "4789"))
	if err != nil {
		return err
	}
	defer c.Close()
	to := c.LocalAddr().(*net.UDPAddr)
	path := filepath.Join(dir, "same.pcap")
	if _, err := writeEncapsulated(path, inner, to); err != nil {
		return err
	}
	if _, _, out, err := runTcpreplay(cpus, tcpreplayBin, path, 2); err != nil {
		return fmt.Errorf("tcpreplay: %v\n%s", err, out)
	}
	theirs := collect(time.Second).lines()
	if _, out, err := runFlowtap(cpus, flowtapBin, path, to.String(), 2, 64, 1, gso); err != nil {
		return fmt.Errorf("flowtap replay: %v\n%s", err, out)
	}
	ours := collect(time.Second).lines()
	if record {
		if err := writeGolden(golden, theirs); err != nil {
			return err
		}
		fmt.Printf("recorded tcpreplay's arrivals in %s\n", golden)
	}
	if !slices.Equal(ours, theirs) {
		return fmt.Errorf("flowtap replay delivered other datagrams than tcpreplay (port count digest):\nflowtap:   %v\ntcpreplay: %v", ours, theirs)
	}
	fmt.Printf("same datagrams: flowtap replay and tcpreplay delivered the same payloads, in the same order, from the same %d ports (2 loops)\n", len(ours))
	return nil
}

const goldenHeader = "# What tcpreplay delivered to one UDP socket, sending bench/replay's wrapping of\n" +
	"# testdata/demo.pcap twice (go run ./bench/replay -record-golden). One line per outer\n" +
	"# source port: port, datagrams, and the first 16 bytes of the chained SHA-256 of their\n" +
	"# payloads in arrival order.\n"

func writeGolden(path string, lines []string) error {
	return os.WriteFile(path, []byte(goldenHeader+strings.Join(lines, "\n")+"\n"), 0o644)
}

func readGolden(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := s.Text(); l != "" && !strings.HasPrefix(l, "#") {
			if _, err := strconv.Atoi(strings.Fields(l)[0]); err != nil {
				return nil, fmt.Errorf("%s: bad line %q", path, l)
			}
			out = append(out, l)
		}
	}
	return out, s.Err()
}
