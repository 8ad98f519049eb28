package loki

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/logstore"
	"github.com/flowtap/flowtap/logstore/logql"
	"github.com/flowtap/flowtap/sinks"
)

var v5 = flowlog.MustParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${region} ${flow-direction}")

var vpcLines = []string{
	"5 123456789012 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK us-east-1 ingress",
	"5 123456789012 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530005 1418530070 REJECT OK us-east-1 ingress",
	"5 123456789012 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA us-east-1 -",
	"5 123456789012 eni-0000000000000000b 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK eu-west-3 egress",
	"5 210987654321 eni-0000000000000000c 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK us-east-1 ingress",
}

const tgwLine = "6 TransitGateway 123456789012 tgw-0123456789abcdef0 tgw-attach-0123456789abcdef0 123456789012 210987654321 vpc-0123456789abcdef0 vpc-0fedcba9876543210 subnet-0123456789abcdef0 subnet-0fedcba9876543210 eni-0123456789abcdef0 eni-0fedcba9876543210 use1-az1 use1-az2 tgw-attach-0fedcba9876543210 10.0.1.5 10.1.2.6 49152 443 6 10 5000 1616729292 1616729349 OK IPv4 0 0 0 0 19 us-east-1 egress - -"

func batch(t testing.TB) *sinks.Batch {
	var recs []flowlog.Record
	for _, l := range vpcLines {
		var r flowlog.Record
		if err := v5.Parse(&r, l); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	var r flowlog.Record
	if err := flowlog.DefaultTGW.Parse(&r, tgwLine); err != nil {
		t.Fatal(err)
	}
	recs = append(recs, r)
	return &sinks.Batch{Topic: "flowlogs", Partition: 1, FirstOffset: 5, LastOffset: 10, Records: recs}
}

func startLogstore(t *testing.T) (*logstore.Store, string) {
	t.Helper()
	cfg := testenv.LogstoreConfig(t)
	no := false
	cfg.RejectOldSamples = &no // the fixtures carry timestamps older than a week
	cfg.AuthEnabled = true
	return testenv.Logstore(t, cfg)
}

type stream struct {
	labels  logql.Labels
	entries []logql.Entry
}

func query(t *testing.T, st *logstore.Store, tenant string, matchers ...*logql.Matcher) []stream {
	t.Helper()
	var out []stream
	err := st.Querier(tenant).Select(context.Background(), matchers, 0, 1<<62, func(ls logql.Labels, it logql.EntryIterator) error {
		s := stream{labels: append(logql.Labels(nil), ls...)}
		for it.Next() {
			s.entries = append(s.entries, it.At())
		}
		out = append(out, s)
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPushToLogstore(t *testing.T) {
	st, url := startLogstore(t)
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.URL = url
	cfg.Tenant = "team-a"
	s, err := New(cfg, component.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	b := batch(t)
	ctx := context.Background()
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, b); err != nil { // redelivery
		t.Fatal(err)
	}
	group, _ := logql.NewMatcher(logql.MatchRegexp, "log_group", ".+")
	streams := query(t, st, "team-a", group)
	want := map[string][]string{} // stream labels -> "ts line"
	for i := range b.Records {
		r := &b.Records[i]
		f := flowlog.DefaultVPC
		if r.Kind == flowlog.KindTGW {
			f = flowlog.DefaultTGW
		}
		want[s.Labels(r)] = append(want[s.Labels(r)], fmt.Sprintf("%d %s", Timestamp(r).UnixNano(), f.AppendText(nil, r)))
	}
	if len(streams) != len(want) {
		t.Fatalf("%d streams, want %d", len(streams), len(want))
	}
	n := 0
	for _, got := range streams {
		key := got.labels.String()
		w, ok := want[key]
		if !ok {
			t.Fatalf("unexpected stream %s", key)
		}
		var have []string
		for _, e := range got.entries {
			have = append(have, fmt.Sprintf("%d %s", e.Timestamp, e.Line))
		}
		// Entries come back sorted by time; the batch lists them in record order.
		if len(have) != len(w) {
			t.Fatalf("stream %s: %d entries after a redelivery, want %d (duplicates?)", key, len(have), len(w))
		}
		for _, x := range w {
			if !strings.Contains(strings.Join(have, "\n"), x) {
				t.Fatalf("stream %s lacks %q; has %q", key, x, have)
			}
		}
		n += len(have)
	}
	if n != len(b.Records) {
		t.Fatalf("%d entries stored, want %d", n, len(b.Records))
	}
	// CloudWatch-like labels.
	eni, _ := logql.NewMatcher(logql.MatchEqual, "log_stream", "eni-1235b8ca123456789-all")
	got := query(t, st, "team-a", eni)
	if len(got) != 1 || got[0].labels.Get("log_group") != "vpc-flow-logs" || got[0].labels.Get("account") != "123456789012" ||
		got[0].labels.Get("region") != "us-east-1" || got[0].labels.Get("kind") != "vpc" || len(got[0].entries) != 3 {
		t.Fatalf("ENI stream: %+v", got)
	}
	if got[0].entries[0].Timestamp != 1418530005e9 || got[0].entries[0].Line != "5 123456789012 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530005 1418530070 REJECT OK" {
		t.Fatalf("first entry %+v", got[0].entries[0])
	}
	tgw, _ := logql.NewMatcher(logql.MatchEqual, "kind", "tgw")
	if got := query(t, st, "team-a", tgw); len(got) != 1 || got[0].labels.Get("log_stream") != "tgw-0123456789abcdef0" ||
		got[0].labels.Get("log_group") != "tgw-flow-logs" || got[0].entries[0].Line != tgwLine {
		t.Fatalf("TGW stream: %+v", got)
	}
	// Tenants are separate.
	if got := query(t, st, "team-b", group); len(got) != 0 {
		t.Fatalf("tenant team-b sees %d streams", len(got))
	}
	if v := testutil.ToFloat64(s.m.lines); v != float64(2*len(b.Records)) {
		t.Fatalf("lines metric %v", v)
	}
}

func TestSplitsLargeBatches(t *testing.T) {
	st, url := startLogstore(t)
	cfg := DefaultConfig()
	cfg.URL, cfg.Tenant, cfg.MaxPushBytes = url, "t", 300
	s, _ := New(cfg, component.Deps{})
	b := batch(t)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(s.m.pushes.WithLabelValues("2xx")); n < 3 {
		t.Fatalf("%v pushes, want several with MaxPushBytes=300", n)
	}
	group, _ := logql.NewMatcher(logql.MatchRegexp, "log_group", ".+")
	total := 0
	for _, s := range query(t, st, "t", group) {
		total += len(s.entries)
	}
	if total != len(b.Records) {
		t.Fatalf("%d entries, want %d", total, len(b.Records))
	}
}

func TestRetriesServerErrorsThenSucceeds(t *testing.T) {
	_, url := startLogstore(t)
	var calls atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "ingester unavailable", http.StatusServiceUnavailable)
			return
		case 2:
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, url+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	defer proxy.Close()
	cfg := DefaultConfig()
	cfg.URL, cfg.Tenant, cfg.MinBackoff, cfg.MaxBackoff = proxy.URL, "t", time.Millisecond, 5*time.Millisecond
	s, _ := New(cfg, component.Deps{})
	if err := s.Write(context.Background(), batch(t)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3", calls.Load())
	}
	if testutil.ToFloat64(s.m.pushes.WithLabelValues("5xx")) != 1 || testutil.ToFloat64(s.m.pushes.WithLabelValues("429")) != 1 {
		t.Fatal("5xx and 429 outcomes not counted")
	}
}

func TestRefusalIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "entry too far behind", http.StatusBadRequest)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL, cfg.MinBackoff = srv.URL, time.Millisecond
	s, _ := New(cfg, component.Deps{})
	err := s.Write(context.Background(), batch(t))
	var pe *PushError
	if !errors.As(err, &pe) || pe.Status != 400 || !strings.Contains(pe.Body, "too far behind") || !pe.Permanent() {
		t.Fatalf("want a permanent PushError with the server's reason, got %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls, want 1 (no retry on 400)", calls.Load())
	}
	if testutil.ToFloat64(s.m.errors.WithLabelValues("refused")) != 1 {
		t.Fatal("refusal not counted")
	}
}

func TestUnreachableBacksOffAndReports(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL, cfg.MinBackoff, cfg.MaxBackoff, cfg.MaxRetries = "http://127.0.0.1:1", 20*time.Millisecond, 40*time.Millisecond, 3
	s, _ := New(cfg, component.Deps{})
	t0 := time.Now()
	err := s.Write(context.Background(), batch(t))
	if err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("want a give-up error with the cause, got %v", err)
	}
	// Three waits of at least half the backoff each: it did not spin.
	if el := time.Since(t0); el < 30*time.Millisecond {
		t.Fatalf("gave up after %v: no backoff", el)
	}
	if testutil.ToFloat64(s.m.pushes.WithLabelValues("network")) != 4 {
		t.Fatal("network failures not counted")
	}
	// With no retry limit, cancellation ends the wait.
	cfg.MaxRetries = 0
	s, _ = New(cfg, component.Deps{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Write(ctx, batch(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{}, {URL: "127.0.0.1:3100"}, {URL: "http://x", VPCFormat: "${tgw-id}"}, {URL: "http://x", TGWFormat: "${srcaddr}"}} {
		if _, err := New(c, component.Deps{}); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestWriteEventsAndPushLines(t *testing.T) {
	st, url := startLogstore(t)
	cfg := DefaultConfig()
	cfg.URL, cfg.Tenant, cfg.MaxPushBytes = url, "t", 200 // several pushes
	cfg.VPNBGPLogGroup = "/aws/vendedlogs/bgp-custom"
	s, err := New(cfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var _ sinks.EventSink = s
	bgp := `{"resource_id":"vpn-1234abcd_1.2.3.4","event_timestamp":1762580429641,"timestamp":"2025-11-08 05:40:29.641Z","type":"BGPStatus","status":"UP","message":{"details":"AWS-side peer BGP session state has changed from OpenConfirm to Established with neighbor 169.254.50.85"}}`
	client := `{"connection-log-type":"connection-attempt","connection-attempt-status":"successful","connection-id":"cvpn-connection-abc123abc123abc12","connection-last-update-time":"2020-03-26 20:37:15"}`
	b := &sinks.EventBatch{Topic: "flowtap.vpn", Events: []sinks.Event{
		{Kind: sinks.EventVPNBGP, Stream: "vpn-1234abcd_1.2.3.4", Time: time.UnixMilli(1762580429641), Data: []byte(bgp)},
		{Kind: sinks.EventClientVPN, Stream: "cvpn-endpoint-aaa111bbb222ccc33", Account: "123456789012", Region: "eu-west-1",
			Time: time.Unix(1585255035, 0), Data: []byte(client)},
	}}
	if err := s.WriteEvents(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(s.m.pushes.WithLabelValues("2xx")); n != 2 {
		t.Fatalf("%v pushes, want 2 (MaxPushBytes splits them)", n)
	}
	kind, _ := logql.NewMatcher(logql.MatchEqual, "kind", "vpn-bgp")
	got := query(t, st, "t", kind)
	if len(got) != 1 || got[0].labels.String() != `{kind="vpn-bgp", log_group="/aws/vendedlogs/bgp-custom", log_stream="vpn-1234abcd_1.2.3.4"}` ||
		len(got[0].entries) != 1 || got[0].entries[0].Line != bgp || got[0].entries[0].Timestamp != 1762580429641e6 {
		t.Fatalf("BGP stream %+v", got)
	}
	kind, _ = logql.NewMatcher(logql.MatchEqual, "kind", "client-vpn")
	got = query(t, st, "t", kind)
	if len(got) != 1 || got[0].labels.String() != `{account="123456789012", kind="client-vpn", log_group="client-vpn-connection-logs", log_stream="cvpn-endpoint-aaa111bbb222ccc33", region="eu-west-1"}` ||
		len(got[0].entries) != 1 || got[0].entries[0].Line != client || got[0].entries[0].Timestamp != 1585255035e9 {
		t.Fatalf("Client VPN stream %+v", got)
	}

	// PushLines: any labels, lines and times, as given.
	lines := []Line{
		{Labels: LabelString("job", "x", "empty", ""), Time: time.Unix(100, 5), Text: "b"},
		{Labels: LabelString("job", "x"), Time: time.Unix(100, 1), Text: "a"},
	}
	if err := s.PushLines(context.Background(), lines); err != nil {
		t.Fatal(err)
	}
	job, _ := logql.NewMatcher(logql.MatchEqual, "job", "x")
	got = query(t, st, "t", job)
	if len(got) != 1 || len(got[0].entries) != 2 || got[0].entries[0].Line != "a" || got[0].entries[0].Timestamp != 100e9+1 ||
		got[0].entries[1].Line != "b" {
		t.Fatalf("pushed lines %+v", got)
	}
	if v := testutil.ToFloat64(s.m.lines); v != 4 {
		t.Fatalf("lines metric %v, want 4", v)
	}
}

func TestLabelString(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, "{}"},
		{[]string{"b", "2", "a", "1"}, `{a="1", b="2"}`},
		{[]string{"a", "", "q", `x"y`}, `{q="x\"y"}`},
		{[]string{"odd"}, "{}"},
	} {
		if got := LabelString(c.in...); got != c.want {
			t.Errorf("LabelString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestPermanentByStatus: a refusal of the data is permanent (the consumer dead-letters it);
// credentials and URL errors are not (the consumer retries until an operator fixes them).
func TestPermanentByStatus(t *testing.T) {
	for status, want := range map[int]bool{400: true, 413: true, 422: true, 401: false, 403: false, 404: false, 405: false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", status)
		}))
		cfg := DefaultConfig()
		cfg.URL = srv.URL
		s, _ := New(cfg, component.Deps{})
		err := s.WriteEvents(context.Background(), &sinks.EventBatch{Events: []sinks.Event{{Kind: sinks.EventVPNTunnel, Data: []byte("{}")}}})
		srv.Close()
		var pe *PushError
		if !errors.As(err, &pe) || pe.Status != status || sinks.IsPermanent(err) != want {
			t.Errorf("HTTP %d: err %v, permanent %v, want %v", status, err, sinks.IsPermanent(err), want)
		}
	}
}

// TestConcurrentPushesKeepTheirConnections: partitions push at once; each keeps its
// connection from push to push instead of dialling anew (net/http's default keeps two idle
// connections per host and closed the others after every push).
func TestConcurrentPushesKeepTheirConnections(t *testing.T) {
	var dialled atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // the pushes overlap
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s, err := New(Config{URL: srv.URL}, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	// Each round every pusher pushes once, as partitions push one batch each in turn: all
	// their connections are idle between rounds.
	const pushers, rounds = 6, 5
	for range rounds {
		var wg sync.WaitGroup
		for p := range pushers {
			wg.Go(func() {
				b := batch(t)
				b.Partition = p
				if err := s.Write(context.Background(), b); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if n := dialled.Load(); n > pushers {
		t.Fatalf("%d connections dialled for %d pushers pushing %d times each: want at most one per pusher", n, pushers, rounds)
	}
}
