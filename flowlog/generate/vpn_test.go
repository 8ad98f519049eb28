package generate

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
)

type vpnCollect struct{ evs []VPNEvent }

func (c *vpnCollect) WriteVPNEvents(_ context.Context, evs []VPNEvent) error {
	c.evs = append(c.evs, evs...)
	return nil
}

func runVPN(t *testing.T, client bool, hours int) []VPNEvent {
	t.Helper()
	topo, err := topology.Build(topology.DefaultSpec(), 4)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{Kind: map[bool]Kind{false: KindVPNS2S, true: KindVPNClient}[client], Interval: 60, TrafficType: "ALL",
		Start: time.Unix(t0, 0), End: time.Unix(t0+int64(hours)*3600, 0), Seed: 5}, topo, nil, &vpnCollect{}, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var c vpnCollect
	g.vw = &c
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c.evs
}

func TestS2SLogs(t *testing.T) {
	evs := runVPN(t, false, 72)
	states := map[string]bool{stDown: true, stNegotiating: true, stEstablished: true, stRekeying: true}
	var tunnels, bgp, up, routes int
	for i, e := range evs {
		if i > 0 && e.Time.Before(evs[i-1].Time) {
			t.Fatal("events out of time order")
		}
		js := e.AppendJSON(nil)
		switch e.Log {
		case LogTunnel:
			tunnels++
			got, err := flowlog.ParseTunnelLog(js)
			if err != nil || !states[got.IKEPhase1State] || !states[got.IKEPhase2State] || got.Details == "" {
				t.Fatalf("tunnel event %s: %v", js, err)
			}
		case LogBGP:
			bgp++
			got, err := flowlog.ParseBGPLog(js)
			if err != nil || !strings.HasPrefix(got.ResourceID, "vpn-") || !strings.Contains(got.ResourceID, "_") {
				t.Fatalf("bgp event %s: %v", js, err)
			}
			if got.Type == "BGPStatus" && got.Status == "UP" && strings.Contains(got.Message.Details, "to Established") {
				up++
			}
			if got.Type == "RouteStatus" {
				routes++
			}
		default:
			t.Fatalf("unexpected log %q", e.Log)
		}
	}
	if tunnels < 20 || up < 2 || routes < 2 {
		t.Fatalf("%d tunnel events, %d BGP (%d sessions up, %d route events) in 72 h", tunnels, bgp, up, routes)
	}
}

func TestClientVPNCountersGrow(t *testing.T) {
	evs := runVPN(t, true, 12)
	last := map[string]flowlog.ClientVPNLog{}
	resets := 0
	for _, e := range evs {
		c, err := flowlog.ParseClientVPNLog(e.AppendJSON(nil))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.ConnectionID, "cvpn-connection-") || !strings.HasPrefix(c.EndpointID, "cvpn-endpoint-") {
			t.Fatalf("ids %q %q", c.ConnectionID, c.EndpointID)
		}
		if p, ok := last[c.ConnectionID]; ok {
			if c.IngressBytes < p.IngressBytes || c.EgressBytes < p.EgressBytes || c.IngressPackets < p.IngressPackets ||
				!c.LastUpdateTime.After(p.LastUpdateTime) {
				t.Fatalf("counters of %s went backwards: %+v then %+v", c.ConnectionID, p, c)
			}
		}
		if c.LogType == "connection-reset" {
			resets++
			if c.EndTime.IsZero() || c.DurationSeconds < 0 || c.IngressBytes == 0 {
				t.Fatalf("reset without end, duration or bytes: %+v", c)
			}
		}
		last[c.ConnectionID] = c
	}
	if resets == 0 || len(last) < 10 {
		t.Fatalf("%d connections, %d resets", len(last), resets)
	}
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		if err := NewJSONLines(buf).WriteVPNEvents(context.Background(), runVPN(t, true, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) || a.Len() == 0 {
		t.Fatal("client VPN output not deterministic")
	}
}
