package firehose

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
)

// TestSpillWhileKafkaIsAway: with Kafka gone, requests are acknowledged once their records
// are in the disk spill; when a broker listens again on the address, the receiver sends
// them, and Kafka ends up with every record of every acknowledged request exactly once.
func TestSpillWhileKafkaIsAway(t *testing.T) {
	br := startBroker(t)
	addr := br.Addr()
	cfg := DefaultConfig()
	cfg.Listen, cfg.Brokers, cfg.SpillDir = "127.0.0.1:0", []string{addr}, t.TempDir()
	s, err := New(cfg, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-s.Ready()
	url := "http://" + s.Addr()

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
		count[m.value]++
	}
	if len(got) != 3 || len(count) != 2 {
		t.Fatalf("Kafka holds %d messages (%d distinct) after the spill drained; want the 3 acknowledged while it was away", len(got), len(count))
	}
	send("after", vpcLine1) // the spill is empty again: straight to Kafka
	if n := len(consume(t, addr)); n != 4 || s.SpillDepth() != 0 {
		t.Fatalf("after: %d messages in Kafka, %d in the spill", n, s.SpillDepth())
	}
}
