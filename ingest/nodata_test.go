package ingest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/vxlan"
	"github.com/flowtap/flowtap/vxlan/vxlantest"
)

const idleVNI = 0x99 // a known session that only talks in the last window

func noDataSessions(t *testing.T) Sessions {
	t.Helper()
	s := testSessions(t)
	idle, err := ParseSessions([]byte("sessions:\n  - {vni: 153, account-id: \"123456789012\", interface-id: eni-0idle}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s[idleVNI] = idle[idleVNI]
	return s
}

// summary renders records as "interface start end status" lines (NODATA) or
// "interface status packets" (OK), in the order written.
func summary(recs []flowlog.Record) []string {
	var out []string
	for _, r := range recs {
		if r.LogStatus == flowlog.StatusOK {
			out = append(out, fmt.Sprintf("%s OK %d", r.InterfaceID, r.Packets))
		} else {
			out = append(out, fmt.Sprintf("%s %d %d %s", r.InterfaceID, r.Start, r.End, r.LogStatus))
		}
	}
	return out
}

// TestNoDataPerWindow drives two shards by hand through five windows on an injected clock
// and checks that each whole window gets exactly one NODATA record per silent known session,
// none for the window the collector started in or the one open at shutdown, and none for
// unknown VNIs; and that shard 0 waits for the slower shard before judging a window.
func TestNoDataPerWindow(t *testing.T) {
	const w0 = 1_699_999_980 // windows are 60 s: w0, w0+60, ...
	var now atomic.Int64
	now.Store(w0 + 30) // the collector starts mid-window: w0 is not whole
	cfg := DefaultConfig()
	cfg.Shards, cfg.Sockets = 2, 1
	rec := &testenv.Recorder{}
	reg := prometheus.NewRegistry()
	c, err := New(cfg, rec, component.Deps{Registry: reg}, WithSessions(noDataSessions(t)), WithClock(func() time.Time { return time.Unix(now.Load(), 0) }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s0, s1 := c.shards[0], c.shards[1]
	mkItem := func(vni uint32, sport uint16, sec int64) item {
		t.Helper()
		var p vxlan.Packet
		if err := vxlan.Decode(vxlantest.VXLAN(vni, tcp(peer, eniA, sport, 443, vxlan.TCPAck, 10)), &p); err != nil {
			t.Fatal(err)
		}
		var it item
		setItem(&it, &p, sec)
		return it
	}
	send := func(vni uint32, sport uint16, sec int64) {
		b := &batch{items: []item{mkItem(vni, sport, sec)}}
		c.shards[shardOf(b.items[0].shash, 2)].process(ctx, b)
	}
	tickAll := func(sec int64) {
		now.Store(sec)
		s1.tick(ctx, sec)
		s0.tick(ctx, sec)
	}
	expect := func(step string, want ...string) {
		t.Helper()
		if got := summary(rec.Take()); !slices.Equal(got, want) {
			t.Fatalf("%s:\ngot  %q\nwant %q", step, got, want)
		}
	}

	tickAll(w0 + 31)
	send(testVNI, 1000, w0+35)
	send(0xabc, 1000, w0+35) // unknown VNI: records, never NODATA
	tickAll(w0 + 61)
	expect("first, partial window", "eni-1235b8ca123456789 OK 1", "eni-vni00000abc OK 1")

	// Window w0+60: the main session talks, the idle one does not. Shard 0 passes the window
	// first; the NODATA waits until shard 1 has passed it too.
	send(testVNI, 2000, w0+70)
	now.Store(w0 + 121)
	s0.tick(ctx, w0+121)
	want := []string{}
	if shardOf(mkItem(testVNI, 2000, 0).shash, 2) == 0 {
		want = append(want, "eni-1235b8ca123456789 OK 1")
	}
	expect("shard 0 passed w0+60, shard 1 not yet", want...)
	s1.tick(ctx, w0+121)
	s0.tick(ctx, w0+121)
	want = []string{"eni-0idle 1700000040 1700000100 NODATA"}
	if shardOf(mkItem(testVNI, 2000, 0).shash, 2) == 1 {
		want = append([]string{"eni-1235b8ca123456789 OK 1"}, want...)
	}
	expect("both shards passed w0+60", want...)
	// More ticks in the same window add nothing: once per window.
	tickAll(w0 + 122)
	expect("repeated ticks")

	// Window w0+120 is silent: both known sessions get NODATA, in VNI order.
	tickAll(w0 + 181)
	expect("silent window", "eni-0idle 1700000100 1700000160 NODATA", "eni-1235b8ca123456789 1700000100 1700000160 NODATA")

	// The clock jumps two windows: each gets its NODATA records.
	tickAll(w0 + 301)
	expect("clock jump",
		"eni-0idle 1700000160 1700000220 NODATA", "eni-1235b8ca123456789 1700000160 1700000220 NODATA",
		"eni-0idle 1700000220 1700000280 NODATA", "eni-1235b8ca123456789 1700000220 1700000280 NODATA")

	// Shutdown in window w0+300, where only the idle session talked: its flow is flushed,
	// and the window, not whole, gets no NODATA (Run's last pass runs after the shards stop).
	send(idleVNI, 3000, w0+310)
	s0.closeWindow(ctx, 0)
	s1.closeWindow(ctx, 0)
	c.emitNoData(ctx, s0)
	expect("shutdown", "eni-0idle OK 1")

	if n := testutil.ToFloat64(c.m.records.WithLabelValues("NODATA")); n != 7 {
		t.Errorf("records_total{log_status=NODATA} = %v, want 7", n)
	}
}

// TestNoDataText checks the NODATA line against the reference's example shape.
func TestNoDataText(t *testing.T) {
	var r flowlog.Record
	statusRecord(&r, testSessions(t)[testVNI], flowlog.StatusNoData, 1431280876, 1431280934)
	got := string(flowlog.DefaultVPC.AppendText(nil, &r))
	if want := "2 123456789012 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestNoDataCollector runs a real collector (two sockets, two shards, ticking every 2 ms)
// on an injected clock: a silent whole window yields one NODATA record per known session,
// written once although both shards tick, and a drained shutdown adds none.
func TestNoDataCollector(t *testing.T) {
	const w0 = 1_699_999_980
	var now atomic.Int64
	now.Store(w0 + 30)
	cfg := DefaultConfig()
	cfg.Listen, cfg.Sockets, cfg.Shards = "127.0.0.1:0", 2, 2
	rec := &testenv.Recorder{}
	c, err := New(cfg, rec, component.Deps{}, WithSessions(noDataSessions(t)),
		WithClock(func() time.Time { return time.Unix(now.Load(), 0) }))
	if err != nil {
		t.Fatal(err)
	}
	c.tick = 2 * time.Millisecond
	run := testenv.Run(t, c)
	<-c.Ready()
	if len(c.Addrs()) == 0 {
		t.Fatalf("collector did not start: %v", run.Stop())
	}
	conn, err := net.Dial("udp", c.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(vxlantest.VXLAN(testVNI, tcp(peer, eniA, 1, 443, vxlan.TCPSyn, 0))); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the packet", func() bool { return testutil.ToFloat64(c.m.packets) == 1 })
	// Let both shards see the clock in w0 before it moves on.
	waitFor("both shards in w0", func() bool { return c.shards[0].through.Load() == w0 && c.shards[1].through.Load() == w0 })
	now.Store(w0 + 61)
	waitFor("w0 closed", func() bool { return c.shards[0].through.Load() == w0+60 && c.shards[1].through.Load() == w0+60 })
	now.Store(w0 + 121)
	count := func() (nodata, ok int) {
		for _, r := range rec.Records() {
			switch r.LogStatus {
			case flowlog.StatusNoData:
				nodata++
			case flowlog.StatusOK:
				ok++
			}
		}
		return nodata, ok
	}
	waitFor("NODATA of w0+60", func() bool { n, _ := count(); return n >= 2 })
	time.Sleep(50 * time.Millisecond) // many more ticks of both shards in w0+120
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{"eni-1235b8ca123456789 OK 1", "eni-0idle 1700000040 1700000100 NODATA", "eni-1235b8ca123456789 1700000040 1700000100 NODATA"}
	if got := summary(rec.Take()); !slices.Equal(got, want) {
		t.Fatalf("records:\ngot  %q\nwant %q", got, want)
	}
}
