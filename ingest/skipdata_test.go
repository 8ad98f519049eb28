package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/vxlan"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

// TestSkipDataOncePerWindowAcrossShards: when the flow tables of two shards both fill up
// with one ENI's flows in a window, the window gets one SKIPDATA record for the ENI, not one
// per shard; the next window that is cut gets its own.
func TestSkipDataOncePerWindowAcrossShards(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Shards, cfg.Sockets, cfg.MaxFlows = 2, 1, 2
	rec := &testenv.Recorder{}
	c, err := New(cfg, rec, component.Deps{}, WithSessions(testSessions(t)), WithClock(func() time.Time { return time.Unix(0, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	feed := func(s *shard, sec int64, ports int) {
		for port := range uint16(ports) {
			var p vxlan.Packet
			if err := vxlan.Decode(vxlantest.VXLAN(testVNI, tcp(peer, eniA, 1000+port, 443, vxlan.TCPSyn, 0)), &p); err != nil {
				t.Fatal(err)
			}
			b := &batch{items: make([]item, 1)}
			setItem(&b.items[0], &p, sec)
			s.process(context.Background(), b)
		}
	}
	skips := func() (n int) {
		for _, r := range rec.Take() {
			if r.LogStatus == flowlog.StatusSkipData {
				n++
			}
		}
		return n
	}
	const sec = 1_700_000_000
	for window := range 2 {
		at := sec + int64(window)*60
		feed(c.shards[0], at, 5)
		feed(c.shards[1], at, 5)
		c.shards[0].closeWindow(context.Background(), at+60)
		c.shards[1].closeWindow(context.Background(), at+60)
		if n := skips(); n != 1 {
			t.Fatalf("window %d: %d SKIPDATA records for one ENI cut in two shards, want 1", window, n)
		}
	}
}
