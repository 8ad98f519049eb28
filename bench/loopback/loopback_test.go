package loopback

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
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

type countRecords struct {
	mu sync.Mutex
	n  int
}

func (c *countRecords) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	c.mu.Lock()
	c.n += len(recs)
	c.mu.Unlock()
	return nil
}

// TestFeedWriter: every record the collector counts reaches the writer, one per distinct
// flow of the capture when the run fits in one window.
func TestFeedWriter(t *testing.T) {
	w := &countRecords{}
	cfg := Config{Packets: 2000, Sockets: 1, Timeout: 20 * time.Second}
	res, err := Feed(context.Background(), cfg, FlowCapture(500), FeedConfig{PPS: 20000, Writer: w})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 2000 || res.KernelDrops != 0 || res.Records != float64(w.n) || w.n < 500 {
		t.Fatalf("result %+v, writer got %d records", res, w.n)
	}
}
