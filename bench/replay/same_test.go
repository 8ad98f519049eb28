package main

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flowtap/flowtap/replay"
)

// TestSameAsTcpreplayGolden: flowtap replay, sending two loops of the wrapped demo
// capture as captured (with and without UDP GSO), delivers to a socket the datagrams that
// tcpreplay delivered when the golden was recorded: the same payloads, in the same order,
// per outer source port.
func TestSameAsTcpreplayGolden(t *testing.T) {
	want, err := readGolden(filepath.Join("testdata", "tcpreplay-demo.golden"))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := replay.ReadFile(filepath.Join("..", "..", "testdata", "demo.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, noGSO := range []bool{false, true} {
		c, collect, err := listenArrivals("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		to := c.LocalAddr().(*net.UDPAddr)
		// The frames say port 4789, where --encap captured recognises VXLAN; their payloads
		// go to the socket's free port.
		path := filepath.Join(t.TempDir(), "same.pcap")
		if _, err := writeEncapsulated(path, inner, &net.UDPAddr{IP: to.IP, Port: 4789}); err != nil {
			t.Fatal(err)
		}
		capt, err := replay.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := replay.DefaultConfig()
		cfg.Target, cfg.TopSpeed, cfg.Loop, cfg.Encap, cfg.Threads, cfg.NoGSO = to.String(), true, 2, replay.EncapCaptured, 1, noGSO
		r, err := replay.New(cfg, capt)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		rep, err := r.Run(ctx)
		cancel()
		if err != nil || rep.Errors != 0 {
			t.Fatalf("no-gso %v: %v %s", noGSO, err, rep)
		}
		got, expect := collect(500*time.Millisecond).lines(), want
		c.Close()
		if rep.PortsChanged > 0 {
			// Some captured port was taken on this host: compare the flows without ports.
			got, expect = flows(got), flows(want)
		}
		if !slices.Equal(got, expect) {
			t.Fatalf("no-gso %v: delivered (port datagrams digest)\n%v\nwant tcpreplay's\n%v", noGSO, got, expect)
		}
	}
}
