package loopback

import (
	"context"
	"testing"
	"time"
)

// TestRunLoopbackSmall runs the loopback comparison on a few thousand packets: every phase
// must send them all and both receivers must have taken some in.
func TestRunLoopbackSmall(t *testing.T) {
	cfg := Config{Packets: 3000, Sockets: 1, Timeout: 20 * time.Second}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 3000 || res.BarePPS <= 0 || res.CollectorPPS <= 0 || res.Ratio != res.CollectorPPS/res.BarePPS ||
		res.HalfRatePPS != res.BarePPS/2 || res.DropsAtHalf < 0 {
		t.Fatalf("result: %+v", res)
	}
	if _, err := Run(context.Background(), Config{Packets: 10}); err == nil {
		t.Fatal("zero sockets and timeout accepted")
	}
}
