package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/loki"
)

// startLogstore runs the embedded log store behind an httptest server on 127.0.0.1.
func startLogstore(t *testing.T, maxLine int) string {
	t.Helper()
	cfg := testenv.LogstoreConfig(t)
	no := false
	cfg.RejectOldSamples = &no // the fixtures carry timestamps older than a week
	if maxLine > 0 {
		cfg.MaxLineBytes = maxLine
	}
	_, url := testenv.Logstore(t, cfg)
	return url
}

type vpnCollect struct{ evs []generate.VPNEvent }

func (c *vpnCollect) WriteVPNEvents(_ context.Context, evs []generate.VPNEvent) error {
	c.evs = append(c.evs, evs...)
	return nil
}

// genVPN returns the events of the default topology's VPN connections (or Client VPN
// endpoints) over the given minutes from start.
func genVPN(t *testing.T, client bool, start time.Time, minutes int) []generate.VPNEvent {
	t.Helper()
	topo, err := topology.Build(topology.DefaultSpec(), 3)
	if err != nil {
		t.Fatal(err)
	}
	g, err := generate.NewVPNGen(topo, client, start, 11)
	if err != nil {
		t.Fatal(err)
	}
	var c vpnCollect
	for w := range minutes {
		if err := g.Window(context.Background(), start.Unix()+int64(w)*60, &c); err != nil {
			t.Fatal(err)
		}
	}
	return c.evs
}

// lokiStream is one stream of a query_range answer.
type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

func queryRange(t *testing.T, base, q string, from, to time.Time) []lokiStream {
	t.Helper()
	v := url.Values{"query": {q}, "start": {strconv.FormatInt(from.UnixNano(), 10)},
		"end": {strconv.FormatInt(to.UnixNano(), 10)}, "limit": {"5000"}, "direction": {"forward"}}
	resp, err := http.Get(base + "/loki/api/v1/query_range?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("query %s: HTTP %d: %s", q, resp.StatusCode, body)
	}
	var out struct {
		Data struct {
			ResultType string       `json:"resultType"`
			Result     []lokiStream `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Data.ResultType != "streams" {
		t.Fatalf("query %s: %v: %.300s", q, err, body)
	}
	return out.Data.Result
}

// entries flattens streams to sorted "labels|ns|line" strings.
func entries(streams []lokiStream, labels ...string) []string {
	var out []string
	for _, s := range streams {
		var ls []string
		for _, l := range labels {
			ls = append(ls, l+"="+s.Stream[l])
		}
		for _, v := range s.Values {
			out = append(out, strings.Join(ls, ",")+"|"+v[0]+"|"+v[1])
		}
	}
	sort.Strings(out)
	return out
}

// TestVPNEventsToLoki: generated Site-to-Site and Client VPN events go through the producer
// to the VPN topic, the runner reads them with the Loki sink as its event sink and pushes
// them to the embedded log store, where LogQL finds them with CloudWatch-like labels, the
// JSON unchanged and the events' own times. Undecodable events are dead-lettered.
func TestVPNEventsToLoki(t *testing.T) {
	b, p := brokerAndProducer(t)
	lokiURL := startLogstore(t, 0)

	start := time.Date(2025, 11, 8, 5, 0, 0, 0, time.UTC)
	evs := append(genVPN(t, false, start, 30), genVPN(t, true, start, 30)...)
	if err := WriteVPNEvents(context.Background(), p, evs); err != nil {
		t.Fatal(err)
	}
	// Two bad events: a BGP log of an unknown type, an unknown kind.
	if err := p.WriteVPN(context.Background(), KindVPNBGP, "vpn-0bad_1.2.3.4", [][]byte{[]byte(`{"type":"Nope","event_timestamp":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteVPN(context.Background(), "vpn-flow", "vpn-0bad_1.2.3.4", [][]byte{[]byte(`{}`)}); err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{} // Loki keeps one of identical entries (stream, time, line)
	var nBGPStatus int
	groups := map[string]string{generate.LogTunnel: "/aws/vendedlogs/vpn-tunnel-logs",
		generate.LogBGP: "/aws/vendedlogs/vpn-bgp-logs", generate.LogClient: "client-vpn-connection-logs"}
	kinds := map[string]int{}
	for i := range evs {
		e := &evs[i]
		var ts time.Time
		switch e.Log {
		case generate.LogTunnel:
			ts = e.Tunnel.EventTime
		case generate.LogBGP:
			ts = e.BGP.EventTime
			if e.BGP.Type == "BGPStatus" {
				nBGPStatus++
			}
		case generate.LogClient:
			ts = e.Client.LastUpdateTime.Truncate(time.Second) // the JSON holds whole seconds
		}
		key := fmt.Sprintf("kind=%s,log_group=%s,log_stream=%s,account=,region=|%d|%s", vpnKinds[e.Log], groups[e.Log], e.Stream, ts.UnixNano(), e.AppendJSON(nil))
		want[key] = true
		kinds[e.Log]++
	}
	if kinds[generate.LogTunnel] == 0 || kinds[generate.LogBGP] == 0 || kinds[generate.LogClient] == 0 || nBGPStatus == 0 {
		t.Fatalf("generator made too few kinds of event: %v, %d BGPStatus", kinds, nBGPStatus)
	}
	if len(evs) > 4000 {
		t.Fatalf("%d events: more than one query can return", len(evs))
	}

	lcfg := loki.DefaultConfig()
	lcfg.URL, lcfg.MinBackoff = lokiURL, 10*time.Millisecond
	ls, err := loki.New(lcfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	lake := t.TempDir()
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-vpn"
	r, err := NewRunner(cfg, []sinks.Sink{&fileSink{dir: lake}, ls}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, r)

	from, to := start.Add(-time.Hour), start.Add(2*time.Hour)
	all := `{log_group=~".+"}`
	labels := []string{"kind", "log_group", "log_stream", "account", "region"}
	var got []string
	waitFor(t, 30*time.Second, "every event in the log store", func() bool {
		got = entries(queryRange(t, lokiURL, all, from, to), labels...)
		return len(got) >= len(want)
	})
	// Everything is committed, so nothing more can arrive.
	for _, pi := range b.Cluster().PartitionInfos(TopicVPN) {
		waitFor(t, 10*time.Second, "VPN commits at the high watermark", func() bool {
			hwm := b.Cluster().PartitionInfo(TopicVPN, pi.Partition).HighWatermark
			return hwm == 0 || committed(b, cfg.Group, TopicVPN, int(pi.Partition)) == hwm
		})
	}
	got = entries(queryRange(t, lokiURL, all, from, to), labels...)
	if len(got) != len(want) {
		t.Fatalf("log store has %d entries, sent %d distinct events", len(got), len(want))
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("unexpected entry %.400s", g)
		}
		delete(want, g) // a second equal entry fails too
	}
	if len(readLake(t, lake)) != 0 {
		t.Fatal("the record sink got VPN events")
	}

	// LogQL over the JSON: the BGP session events.
	bgp := queryRange(t, lokiURL, `{kind="vpn-bgp"} | json | type="BGPStatus"`, from, to)
	n := 0
	for _, s := range bgp {
		if s.Stream["type"] != "BGPStatus" || s.Stream["log_group"] != "/aws/vendedlogs/vpn-bgp-logs" ||
			!strings.HasPrefix(s.Stream["log_stream"], "vpn-") || s.Stream["status"] == "" {
			t.Fatalf("BGPStatus stream labels %v", s.Stream)
		}
		n += len(s.Values)
	}
	if n != nBGPStatus {
		t.Fatalf(`{kind="vpn-bgp"} | json | type="BGPStatus" found %d events, want %d`, n, nBGPStatus)
	}

	// The two bad events went to the dead-letter topic, with reasons.
	rd := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "dlq-check-vpn",
		Topic: TopicDeadLetter, MaxWait: 100 * time.Millisecond, StartOffset: kafkago.FirstOffset})
	defer rd.Close()
	reasons := map[string]string{}
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		m, err := rd.FetchMessage(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if hdr(m, HeaderDLQTopic) != TopicVPN || string(m.Key) != "vpn-0bad_1.2.3.4" {
			t.Fatalf("dead letter %q headers %v", m.Key, m.Headers)
		}
		reasons[hdr(m, HeaderKind)] = hdr(m, HeaderDLQReason)
	}
	if !strings.Contains(reasons[KindVPNBGP], `type "Nope"`) || !strings.Contains(reasons["vpn-flow"], `VPN event kind "vpn-flow"`) {
		t.Fatalf("dead letter reasons %q", reasons)
	}
	if v := testutil.ToFloat64(r.m.deadLettered.WithLabelValues(TopicVPN, reasonUndecodable)); v != 2 {
		t.Fatalf("undecodable metric %v, want 2", v)
	}
	if v := testutil.ToFloat64(r.m.consumed.WithLabelValues(TopicVPN)); v != float64(len(evs)) {
		t.Fatalf("consumed metric %v, want %d", v, len(evs))
	}
	t.Logf("%d events (%v), %d BGPStatus", len(evs), kinds, nBGPStatus)
}

// TestLokiRefusalDeadLettersVPNBatch: the log store refuses a push whose line is over its
// size limit (HTTP 400, a permanent error); the runner dead-letters that batch with the
// server's reason and the partition goes on to later events.
func TestLokiRefusalDeadLettersVPNBatch(t *testing.T) {
	b, p := brokerAndProducer(t)
	lokiURL := startLogstore(t, 1024)
	const stream = "vpn-0123abcd_203.0.113.9"
	tunnel := func(ms int64, details string) []byte {
		tl := flowlog.TunnelLog{EventTime: time.UnixMilli(ms).UTC(), DPDEnabled: true, IKEPhase1State: "Established",
			IKEPhase2State: "Established", Details: details}
		return tl.AppendJSON(nil)
	}
	t0 := int64(1762580429641)
	first := [][]byte{tunnel(t0, "AWS tunnel processed request (id=1) for CREATE_CHILD_SA"),
		tunnel(t0+1, strings.Repeat("AWS tunnel detected a pre-shared key mismatch with cgw: x ", 40)),
		tunnel(t0+2, "AWS tunnel is sending response (id=1) for CREATE_CHILD_SA")}
	if err := p.WriteVPN(context.Background(), KindVPNTunnel, stream, first); err != nil {
		t.Fatal(err)
	}

	lcfg := loki.DefaultConfig()
	lcfg.URL, lcfg.MinBackoff = lokiURL, 10*time.Millisecond
	ls, err := loki.New(lcfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-vpn-refused"
	r, err := NewRunner(cfg, []sinks.Sink{&fileSink{dir: t.TempDir()}, ls}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, r)
	refused := func() float64 {
		return testutil.ToFloat64(r.m.deadLettered.WithLabelValues(TopicVPN, "refused:loki"))
	}
	waitFor(t, 30*time.Second, "the refused batch dead-lettered", func() bool { return refused() > 0 })

	later := [][]byte{tunnel(t0+3, "AWS tunnel processed response (id=2) for CREATE_CHILD_SA")}
	if err := p.WriteVPN(context.Background(), KindVPNTunnel, stream, later); err != nil {
		t.Fatal(err)
	}
	part := laneOf(stream, len(b.Cluster().PartitionInfos(TopicVPN)))
	waitFor(t, 30*time.Second, "commit past every event", func() bool {
		return committed(b, cfg.Group, TopicVPN, part) == 4
	})
	from, to := time.UnixMilli(t0).Add(-time.Minute), time.UnixMilli(t0).Add(time.Minute)
	stored := map[string]bool{}
	for _, s := range queryRange(t, lokiURL, `{log_stream="`+stream+`"}`, from, to) {
		if s.Stream["kind"] != KindVPNTunnel || s.Stream["log_group"] != "/aws/vendedlogs/vpn-tunnel-logs" {
			t.Fatalf("stream labels %v", s.Stream)
		}
		for _, v := range s.Values {
			stored[v[1]] = true
		}
	}
	rd := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, GroupID: "dlq-check-vpn-refused",
		Topic: TopicDeadLetter, MaxWait: 100 * time.Millisecond, StartOffset: kafkago.FirstOffset})
	defer rd.Close()
	dead := map[string]bool{}
	for range int(refused()) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		m, err := rd.FetchMessage(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if reason := hdr(m, HeaderDLQReason); !strings.Contains(reason, "sink loki") || !strings.Contains(reason, "HTTP 400") {
			t.Fatalf("dead letter reason %q", reason)
		}
		if string(m.Key) != stream || hdr(m, HeaderKind) != KindVPNTunnel {
			t.Fatalf("dead letter key %q headers %v", m.Key, m.Headers)
		}
		dead[string(m.Value)] = true
	}
	// Every event is in exactly one place; the long one and the later one where they must be.
	for i, e := range append(first, later...) {
		if stored[string(e)] == dead[string(e)] {
			t.Fatalf("event %d: stored %v, dead-lettered %v", i, stored[string(e)], dead[string(e)])
		}
	}
	if !dead[string(first[1])] || !stored[string(later[0])] {
		t.Fatalf("long event dead-lettered %v, later event stored %v", dead[string(first[1])], stored[string(later[0])])
	}
}
