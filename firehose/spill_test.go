package firehose

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/spill"
)

// TestSpillWhileKafkaIsAway: with Kafka gone, requests are acknowledged once their records
// are in the disk spill; when a broker listens again on the address, the receiver sends
// them, at most SendChunk per call, and Kafka ends up with every record of every
// acknowledged request exactly once.
func TestSpillWhileKafkaIsAway(t *testing.T) {
	br := startBroker(t)
	addr := br.Addr()
	cfg := DefaultConfig()
	cfg.Listen, cfg.Brokers, cfg.SpillDir = "127.0.0.1:0", []string{addr}, t.TempDir()
	cfg.SendChunk = 1 // away-2's segment of two messages goes in two calls
	var calls, largest atomic.Int64
	s, url := runServer(t, cfg, nil, func(s *Server) {
		s.sendHook = func(n int) {
			calls.Add(1)
			if int64(n) > largest.Load() {
				largest.Store(int64(n))
			}
		}
	})

	send := func(id string, lines ...string) {
		t.Helper()
		code, resp, _ := post(t, url, "", id, Request{RequestID: id, Records: []Record{
			record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", lines...))}}, false)
		if code != http.StatusOK || resp.RequestID != id {
			t.Fatalf("%s: %d %+v", id, code, resp)
		}
	}
	send("before", vpcLine1)
	br.Close()
	send("away-1", vpcLine2)           // Kafka fails: spilled
	send("away-2", vpcLine1, vpcLine2) // behind the backlog: spilled at once
	if n := s.SpillDepth(); n != 3 {
		t.Fatalf("spill holds %d messages, want 3", n)
	}

	// A broker on the same address (an empty one: the first record is gone with the old).
	bcfg := testenv.BrokerConfig(kafka.AllTopics()...)
	bcfg.Listen = addr
	testenv.Broker(t, bcfg)
	deadline := time.Now().Add(30 * time.Second)
	for s.SpillDepth() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("spill still holds %d messages 30 s after Kafka came back", s.SpillDepth())
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := consume(t, addr)
	count := map[string]int{}
	for _, m := range got {
		count[m.Value]++
	}
	if len(got) != 3 || len(count) != 2 {
		t.Fatalf("Kafka holds %d messages (%d distinct) after the spill drained; want the 3 acknowledged while it was away", len(got), len(count))
	}
	if largest.Load() != 1 || calls.Load() < 3 {
		t.Fatalf("the spill went out in %d calls of up to %d messages; want calls of SendChunk (1)", calls.Load(), largest.Load())
	}
	send("after", vpcLine1) // the spill is empty again: straight to Kafka
	if n := len(consume(t, addr)); n != 4 || s.SpillDepth() != 0 {
		t.Fatalf("after: %d messages in Kafka, %d in the spill", n, s.SpillDepth())
	}
}

// TestSpilledUnknownTopicGoesToDeadLetter: a spilled message for a topic the brokers do not
// have goes to the dead-letter file after UndeliverableAfter, counted and kept readable,
// instead of holding the head of the spill forever; the messages behind it reach Kafka.
func TestSpilledUnknownTopicGoesToDeadLetter(t *testing.T) {
	br := startBroker(t)
	cfg := DefaultConfig()
	cfg.Listen, cfg.Brokers, cfg.SpillDir = "127.0.0.1:0", []string{br.Addr()}, t.TempDir()
	cfg.Topics.TGW = "flowtap.no-such-topic"
	cfg.UndeliverableAfter = 300 * time.Millisecond
	reg := prometheus.NewRegistry()
	s, url := runServer(t, cfg, reg)

	// The TGW record's topic is missing: Kafka refuses the request, the spill takes it.
	code, resp, _ := post(t, url, "", "tgw", Request{RequestID: "tgw", Records: []Record{
		record(t, payload("tgw-flow-logs", "tgw-attach-0a1b2c3d4e5f60708", tgwLine)),
		record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", vpcLine1))}}, false)
	if code != http.StatusOK {
		t.Fatalf("tgw: %d %+v", code, resp)
	}
	// Queued behind the spilled request.
	code, resp, _ = post(t, url, "", "vpc", Request{RequestID: "vpc", Records: []Record{
		record(t, payload("vpc-flow-logs", "eni-1235b8ca123456789-all", vpcLine2))}}, false)
	if code != http.StatusOK {
		t.Fatalf("vpc: %d %+v", code, resp)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.SpillDepth() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("spill still holds %d messages: the one for the missing topic blocks its head", s.SpillDepth())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := testenv.MetricSum(t, reg, "flowtap_firehose_deadlettered_messages_total"); v != 1 {
		t.Fatalf("dead-lettered counter %v, want 1", v)
	}
	files, _ := filepath.Glob(filepath.Join(s.DeadLetterDir(), "*unknown_topic*.seg"))
	var kept []spill.Message
	for _, f := range files {
		msgs, err := spill.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, msgs...)
	}
	if len(kept) != 1 || kept[0].Topic != cfg.Topics.TGW || !strings.Contains(string(kept[0].Value), "tgw-attach-0a1b2c3d4e5f60708") {
		t.Fatalf("dead-letter files %v hold %d messages, want the TGW record", files, len(kept))
	}
	var vpc int
	for _, m := range consume(t, br.Addr()) {
		if m.Topic == kafka.TopicVPC {
			vpc++
		}
	}
	if vpc != 2 {
		t.Fatalf("Kafka holds %d VPC records, want the 2 of both requests", vpc)
	}
}

// runServer runs a receiver until the test ends and returns it with its base URL; setup
// may change it before it runs.
func runServer(t *testing.T, cfg Config, reg prometheus.Registerer, setup ...func(*Server)) (*Server, string) {
	t.Helper()
	s, err := New(cfg, component.Deps{Registry: reg, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-s.Ready()
	return s, "http://" + s.Addr()
}
