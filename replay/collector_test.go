package replay_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/ingest"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/replay"
)

// TestReplayTargetCaptureIntoCollector replays a capture of VXLAN frames (as taken with
// tcpdump on a mirror target) into the collector: it reports the inner flows, with their
// packet and byte counts and the session of the captured VNI, and not the tunnel.
func TestReplayTargetCaptureIntoCollector(t *testing.T) {
	flows, frames := replay.TargetCapture(t)
	frames = frames[:len(frames)-1] // only mirror packets, as `tcpdump udp port 4789` takes
	dir := t.TempDir()
	path := filepath.Join(dir, "target.pcap")
	replay.WritePcapFile(t, path, frames)
	sess, err := ingest.ParseSessions([]byte(`sessions:
  - {vni: 77, account-id: "123456789012", interface-id: eni-0077, region: us-east-1, az-id: use1-az1, ips: [10.0.1.10, "2001:db8::1"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.DefaultConfig()
	cfg.Listen, cfg.Sockets, cfg.Shards = "127.0.0.1:0", 1, 1
	rec := &testenv.Recorder{}
	reg := prometheus.NewRegistry()
	col, err := ingest.New(cfg, rec, component.Deps{Registry: reg}, ingest.WithSessions(sess))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := testenv.Run(t, col)
	select {
	case <-col.Ready():
	case <-run.Done():
		t.Fatalf("collector: %v", run.Err())
	}

	capt, err := replay.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rc := replay.DefaultConfig() // --encap auto
	rc.Target, rc.PPS = col.Addrs()[0].String(), 5000
	r, err := replay.New(rc, capt)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(ctx)
	if err != nil || rep.Packets != uint64(len(frames)) || rep.Errors != 0 {
		t.Fatalf("replay: %v %s", err, rep)
	}
	for testenv.MetricSum(t, reg, "flowtap_ingest_packets_total") < float64(len(frames)) {
		if ctx.Err() != nil {
			t.Fatalf("collector received %v of %d datagrams", testenv.MetricSum(t, reg, "flowtap_ingest_packets_total"), len(frames))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := run.Stop(); err != nil { // flushes the open window
		t.Fatal(err)
	}

	type key struct {
		src, dst         netip.Addr
		srcPort, dstPort uint16
		proto            uint8
	}
	type totals struct{ packets, bytes uint64 }
	got := map[key]totals{}
	for _, r := range rec.Records() {
		if r.SrcPort == 4789 || r.DstPort == 4789 {
			t.Errorf("the collector reported the tunnel: %s", flowlog.DefaultVPC.AppendText(nil, &r))
		}
		if r.InterfaceID != "eni-0077" {
			t.Errorf("record of interface %q, want the VNI 77 session's eni-0077", r.InterfaceID)
		}
		k := key{r.PktSrcAddr, r.PktDstAddr, r.SrcPort, r.DstPort, r.Protocol}
		c := got[k]
		c.packets += r.Packets
		c.bytes += r.Bytes
		got[k] = c
	}
	if len(got) != len(flows) {
		t.Errorf("%d flows reported, want %d: %v", len(got), len(flows), got)
	}
	for _, f := range flows {
		k := key{netip.MustParseAddr(f.Src), netip.MustParseAddr(f.Dst), f.SrcPort, f.DstPort, f.Proto}
		if c := got[k]; c.packets != uint64(len(f.Frames)) || c.bytes != f.Bytes() {
			t.Errorf("flow %v: %d packets %d bytes, want %d and %d", k, c.packets, c.bytes, len(f.Frames), f.Bytes())
		}
	}
}
