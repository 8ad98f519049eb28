package generate

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
)

// collect keeps copies of every record written.
type collect struct{ recs []flowlog.Record }

func (c *collect) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	c.recs = append(c.recs, recs...)
	return nil
}

const t0 = int64(1714521600) // 2024-05-01T00:00:00Z

func run(t testing.TB, cfg FlowConfig, windows int) []flowlog.Record {
	t.Helper()
	topo, err := topology.Build(topology.DefaultSpec(), 7)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewFlowGen(topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var c collect
	for i := 0; i < windows; i++ {
		if err := g.Window(context.Background(), t0+int64(i)*cfg.Interval, &c); err != nil {
			t.Fatal(err)
		}
	}
	return c.recs
}

var vpcFlagsOK = map[uint8]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 18: true, 19: true, 22: true, 23: true}

func TestVPCInvariants(t *testing.T) {
	var seen [4]int
	for _, c := range []struct {
		interval int64
		rate     float64
	}{{60, 300}, {600, 20}, {60, 0.5}} {
		interval := c.interval
		recs := run(t, FlowConfig{Interval: interval, Rate: c.rate, VPC: true, Seed: 3}, 3)
		if len(recs) < 100 {
			t.Fatalf("interval %d: only %d records", interval, len(recs))
		}
		for i := range recs {
			r := &recs[i]
			ws := t0 + (r.Start-t0)/interval*interval
			if r.Kind != flowlog.KindVPC || r.Start > r.End || r.End >= ws+interval || r.Start < t0 {
				t.Fatalf("record %d: kind %v start %d end %d outside its %d s window", i, r.Kind, r.Start, r.End, interval)
			}
			if !strings.HasPrefix(r.InterfaceID, "eni-") || len(r.InterfaceID) != 21 || len(r.AccountID) != 12 {
				t.Fatalf("record %d: ids %q %q", i, r.InterfaceID, r.AccountID)
			}
			if r.LogStatus != flowlog.StatusOK {
				// NODATA / SKIPDATA shape (reference §1.6): srcaddr..bytes and action absent.
				line := string(flowlog.DefaultVPC.AppendText(nil, r))
				f := strings.Fields(line)
				if strings.Join(f[3:10], " ") != "- - - - - - -" || f[12] != "-" || f[13] != r.LogStatus.String() {
					t.Fatalf("NODATA/SKIPDATA shape: %s", line)
				}
				seen[2]++
				continue
			}
			if r.Action == flowlog.ActionReject {
				seen[1]++
			} else {
				seen[0]++
			}
			if r.Type == flowlog.TypeIPv6 {
				seen[3]++
			}
			if r.Packets == 0 {
				t.Fatalf("record %d: zero packets", i)
			}
			switch r.Protocol {
			case protoTCP:
				if r.Bytes < 40*r.Packets {
					t.Fatalf("record %d: TCP with %d bytes for %d packets", i, r.Bytes, r.Packets)
				}
				if !vpcFlagsOK[r.TCPFlags] {
					t.Fatalf("record %d: tcp-flags %d not in the VPC set", i, r.TCPFlags)
				}
				if r.Action == flowlog.ActionReject && r.TCPFlags != 2 {
					t.Fatalf("record %d: REJECT with tcp-flags %d, want SYN only", i, r.TCPFlags)
				}
			case protoUDP, protoICMP, protoICMPv6:
				if r.TCPFlags != 0 || r.Bytes < 28*r.Packets {
					t.Fatalf("record %d: proto %d flags %d bytes %d", i, r.Protocol, r.TCPFlags, r.Bytes)
				}
			default:
				t.Fatalf("record %d: protocol %d", i, r.Protocol)
			}
			ephem := func(p uint16) bool { return p >= 32768 && p <= 60999 }
			if r.Protocol == protoTCP || r.Protocol == protoUDP {
				if ephem(r.SrcPort) == ephem(r.DstPort) {
					t.Fatalf("record %d: ports %d→%d: want one ephemeral side", i, r.SrcPort, r.DstPort)
				}
			}
			egress := r.FlowDirection == flowlog.DirectionEgress
			if _, ok := r.Int(flowlog.FieldTrafficPath); ok != egress || (egress && (r.TrafficPath < 1 || r.TrafficPath > 8)) {
				t.Fatalf("record %d: traffic-path %d present=%v on %v", i, r.TrafficPath, ok, r.FlowDirection)
			}
			if r.InstanceID == "-" && r.PktSrcAddr == r.SrcAddr && r.PktDstAddr == r.DstAddr && r.InterfaceType == "nat_gateway" &&
				r.SrcAddr.IsPrivate() && r.DstAddr.IsPrivate() {
				t.Fatalf("record %d: NAT gateway record inside leg without translated pkt addresses", i)
			}
			for _, s := range []string{r.PktSrcAWSService, r.PktDstAWSService} {
				if s != "" && awsService(r.PktSrcAddr) != s && awsService(r.PktDstAddr) != s {
					t.Fatalf("record %d: service %s for addresses %v %v", i, s, r.PktSrcAddr, r.PktDstAddr)
				}
			}
		}
	}
	if seen[0] == 0 || seen[1] == 0 || seen[2] == 0 || seen[3] == 0 {
		t.Fatalf("accept %d reject %d nodata %d ipv6 %d: want all kinds", seen[0], seen[1], seen[2], seen[3])
	}
}

// TestBothDirections: every accepted, answered flow on an instance ENI is logged in both
// directions with swapped addresses and ports.
func TestBothDirections(t *testing.T) {
	recs := run(t, FlowConfig{Interval: 60, Rate: 200, VPC: true, Seed: 5}, 2)
	type key struct {
		eni, a, b string
		pa, pb    uint16
		start     int64
	}
	have := map[key]bool{}
	for _, r := range recs {
		if r.LogStatus == flowlog.StatusOK {
			have[key{r.InterfaceID, r.SrcAddr.String(), r.DstAddr.String(), r.SrcPort, r.DstPort, r.Start}] = true
		}
	}
	paired := 0
	for _, r := range recs {
		if r.LogStatus != flowlog.StatusOK || r.Action == flowlog.ActionReject || r.TCPFlags == 2 {
			continue
		}
		if have[key{r.InterfaceID, r.DstAddr.String(), r.SrcAddr.String(), r.DstPort, r.SrcPort, r.Start}] {
			paired++
		}
	}
	if paired < len(recs)/2 {
		t.Fatalf("only %d of %d records have their reverse on the same ENI", paired, len(recs))
	}
}

func TestTGWConsistentWithVPC(t *testing.T) {
	recs := run(t, FlowConfig{Interval: 60, Rate: 400, VPC: true, TGW: true, Seed: 11}, 3)
	type key struct {
		eni, src, dst string
		sp, dp        uint16
		start, end    int64
		pk, by        uint64
	}
	vpc := map[key]bool{}
	for _, r := range recs {
		if r.Kind == flowlog.KindVPC && r.LogStatus == flowlog.StatusOK {
			vpc[key{r.InterfaceID, r.PktSrcAddr.String(), r.PktDstAddr.String(), r.SrcPort, r.DstPort, r.Start, r.End, r.Packets, r.Bytes}] = true
		}
	}
	tgw, matched, lost := 0, 0, 0
	tgwFlagsOK := func(v uint8) bool { return v != 16 && v < 64 }
	for _, r := range recs {
		if r.Kind != flowlog.KindTGW {
			continue
		}
		tgw++
		if !strings.HasPrefix(r.TGWAttachmentID, "tgw-attach-") || !strings.HasPrefix(r.TGWID, "tgw-") || r.ResourceType != "TransitGateway" {
			t.Fatalf("TGW ids: %+v", r)
		}
		if r.Protocol == protoTCP && !tgwFlagsOK(r.TCPFlags) {
			t.Fatalf("TGW tcp-flags %d", r.TCPFlags)
		}
		if r.Start > r.End || r.End-r.Start >= 60 {
			t.Fatalf("TGW times %d..%d", r.Start, r.End)
		}
		if r.PacketsLostNoRoute > 0 {
			lost++
			if r.TGWPairAttachmentID != "" || r.FlowDirection != flowlog.DirectionIngress {
				t.Fatalf("no-route drop with a pair attachment: %+v", r)
			}
		}
		// The attachment ENI on the side where the packet is in its VPC saw the same flow.
		eni := r.TGWSrcENI
		if r.FlowDirection == flowlog.DirectionEgress {
			eni = r.TGWDstENI
		}
		if eni == "" {
			continue // the VPN / Direct Connect / peering side
		}
		if !vpc[key{eni, r.SrcAddr.String(), r.DstAddr.String(), r.SrcPort, r.DstPort, r.Start, r.End, r.Packets, r.Bytes}] {
			t.Fatalf("TGW record without its VPC record on %s: %s", eni, flowlog.DefaultTGW.AppendText(nil, &r))
		}
		matched++
	}
	if tgw == 0 || matched < tgw/2 || lost == 0 {
		t.Fatalf("%d TGW records, %d matched, %d no-route", tgw, matched, lost)
	}
}

func TestTrafficTypeFilter(t *testing.T) {
	for _, a := range []flowlog.Action{flowlog.ActionAccept, flowlog.ActionReject} {
		recs := run(t, FlowConfig{Interval: 60, Rate: 50, VPC: true, Action: a, Seed: 2}, 2)
		n := 0
		for _, r := range recs {
			if r.LogStatus == flowlog.StatusOK {
				n++
				if r.Action != a {
					t.Fatalf("filter %v let through %v", a, r.Action)
				}
			}
		}
		if n == 0 {
			t.Fatalf("filter %v: no records", a)
		}
	}
}

func TestDeterministic(t *testing.T) {
	text := func(seed uint64) []byte {
		var b bytes.Buffer
		w := NewTextWriter(&b, flowlog.AllVPC, true)
		if err := w.WriteRecords(context.Background(), run(t, FlowConfig{Interval: 60, Rate: 100, VPC: true, Seed: seed}, 3)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b, c := text(9), text(9), text(10)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different output")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
}

func TestRateAndDiurnal(t *testing.T) {
	recs := run(t, FlowConfig{Interval: 60, Rate: 100, VPC: true, Seed: 1}, 5)
	ok := 0
	for _, r := range recs {
		if r.LogStatus == flowlog.StatusOK {
			ok++
		}
	}
	want := 100 * 300 * Diurnal(t0)
	if float64(ok) < 0.9*want || float64(ok) > 1.2*want {
		t.Fatalf("%d records in 5 min at 100/s (diurnal %.2f): want about %.0f", ok, Diurnal(t0), want)
	}
	if Diurnal(15*3600) < 1.5 || Diurnal(3*3600) > 0.5 {
		t.Fatalf("diurnal curve: 15:00 %.2f 03:00 %.2f", Diurnal(15*3600), Diurnal(3*3600))
	}
}

func TestBadConfig(t *testing.T) {
	topo, err := topology.Build(topology.DefaultSpec(), 1)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cfg  FlowConfig
		want string
	}{
		{FlowConfig{Interval: 120, Rate: 1, VPC: true}, "60 or 600"},
		{FlowConfig{Interval: 600, Rate: 1, TGW: true}, "fixed at 60"},
		{FlowConfig{Interval: 60, Rate: 1, TGW: true, Action: flowlog.ActionReject}, "no traffic type"},
		{FlowConfig{Interval: 60, Rate: 0, VPC: true}, "must be positive"},
	}
	for _, c := range cases {
		if _, err := NewFlowGen(topo, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := ParseTrafficType("DENY"); err == nil {
		t.Error("DENY accepted")
	}
	f := flowlog.MustParseFormat("${version} ${interface-id}")
	if err := CheckFormat(f, KindTGW); err == nil || !strings.Contains(err.Error(), "interface-id") {
		t.Errorf("VPC field in a TGW format: %v", err)
	}
	if _, err := flowlog.ParseFormat("${version} ${srcadr}"); err == nil || !strings.Contains(err.Error(), "srcadr") {
		t.Errorf("bad token not named: %v", err)
	}
	_ = fmt.Sprint()
}
