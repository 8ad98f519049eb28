package firehose

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/sinks"
)

// TestRetriedRequestDeliveredOnce: Firehose delivers a request again with the same request
// id (its 200 was lost). Both attempts are stored in Kafka, with the same flowtap-ids, and
// the runner hands each record to the sinks once; another request with the same records
// under another id is another delivery and is kept.
func TestRetriedRequestDeliveredOnce(t *testing.T) {
	br := startBroker(t)
	cfg := DefaultConfig()
	cfg.Brokers, cfg.SpillDir = []string{br.Addr()}, t.TempDir()
	srv := serveHandler(t, cfg)

	retried := Request{RequestID: "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", Timestamp: 1578090901599, Records: []Record{
		record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", vpcLine1, vpcLine2)),
		record(t, payload("tgw-flow-logs", "tgw-0123456789abcdef0", tgwLine)),
		record(t, payload("vpn-logs", "vpn-0123456789abcdef0_203.0.113.1", tunnel)),
	}}
	other := Request{RequestID: "a7f1c2d3-0000-4000-8000-000000000001", Records: []Record{
		record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", vpcLine1))}}
	for i, req := range []Request{retried, retried, other} {
		if code, resp, _ := post(t, srv.URL, "", req.RequestID, req, i == 1); code != http.StatusOK {
			t.Fatalf("post %d: %d %+v", i, code, resp)
		}
	}
	got := consume(t, br.Addr())
	byID := map[string][]testenv.Message{}
	for _, m := range got {
		byID[m.Headers[kafka.HeaderID]] = append(byID[m.Headers[kafka.HeaderID]], m)
	}
	if len(got) != 9 || len(byID) != 5 {
		t.Fatalf("Kafka holds %d messages with %d distinct ids; want 9 with 5 (the retried request's 4 twice, the other's 1)", len(got), len(byID))
	}
	for id, ms := range byID {
		if len(ms) == 2 && (ms[0].Value != ms[1].Value || ms[0].Key != ms[1].Key) {
			t.Fatalf("id %x names two different messages: %+v", id, ms)
		}
	}

	// The runner drops the retry's copies (the VPN event is not read: no event sink).
	rcfg := kafka.DefaultRunnerConfig()
	rcfg.Brokers, rcfg.StateDir, rcfg.MaxAge = []string{br.Addr()}, t.TempDir(), 200*time.Millisecond
	rcfg.SessionTimeout = 6 * time.Second
	sink := &collectSink{}
	reg := prometheus.NewRegistry()
	r, err := kafka.NewRunner(rcfg, []sinks.Sink{sink}, component.Deps{Registry: reg, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for testenv.MetricSum(t, reg, "flowtap_consumer_duplicates_total") < 3 || sink.len() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the sink has %d records and the runner dropped %v copies; want 4 and 3",
				sink.len(), testenv.MetricSum(t, reg, "flowtap_consumer_duplicates_total"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	count := map[string]int{}
	for _, line := range sink.lines() {
		count[line]++
	}
	want := map[string]int{vpcLine1: 2, vpcLine2: 1, tgwLine: 1} // vpcLine1 once per request id
	if len(count) != len(want) || count[vpcLine1] != 2 || count[vpcLine2] != 1 || count[tgwLine] != 1 {
		t.Fatalf("the sink got %v; want %v", count, want)
	}
}

// collectSink keeps the text lines of the records it is given.
type collectSink struct {
	mu   sync.Mutex
	recs []string
}

func (s *collectSink) Name() string { return "collect" }
func (s *collectSink) Close() error { return nil }
func (s *collectSink) Write(_ context.Context, b *sinks.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.Records {
		f := flowlog.DefaultVPC
		if b.Records[i].Kind == flowlog.KindTGW {
			f = flowlog.DefaultTGW
		}
		s.recs = append(s.recs, string(f.AppendText(nil, &b.Records[i])))
	}
	return nil
}

func (s *collectSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

func (s *collectSink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.recs...)
}
