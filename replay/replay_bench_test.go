package replay

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// BenchmarkReplayLoopback sends b.N packets at top speed to a UDP socket on 127.0.0.1
// drained with recvmmsg, and reports packets/s. bench/replay compares the same path with
// tcpreplay.
func BenchmarkReplayLoopback(b *testing.B) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadBuffer(16 << 20)
	go func() {
		pc := ipv4.NewPacketConn(conn)
		msgs := make([]ipv4.Message, 64)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 9216)}
		}
		for {
			if _, err := pc.ReadBatch(msgs, 0); err != nil {
				return
			}
		}
	}()
	frames := testFrames(b, 1000)
	c := &Capture{}
	for _, f := range frames {
		c.Packets = append(c.Packets, Packet{Time: t0, Frame: f})
	}
	cfg := DefaultConfig()
	cfg.Target = conn.LocalAddr().String()
	cfg.TopSpeed = true
	cfg.Loop = b.N/len(frames) + 1
	r, err := New(cfg, c)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	rep, err := r.Run(ctx)
	b.StopTimer()
	if err != nil || rep.Errors != 0 {
		b.Fatalf("run: %v, report %s", err, rep)
	}
	b.ReportMetric(rep.PPS(), "pkts/s")
	b.ReportMetric(float64(rep.Duration.Nanoseconds())/float64(rep.Packets), "ns/pkt")
}
