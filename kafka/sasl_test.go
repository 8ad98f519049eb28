package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka/broker"
)

// TestSASLUsers: a broker with SASL users serves producers and consumers that authenticate
// (SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN) and refuses one that does not or uses a wrong
// password; a broker beyond loopback without users does not start.
func TestSASLUsers(t *testing.T) {
	cfg := testenv.BrokerConfig(AllTopics()...)
	cfg.DataDir = t.TempDir()
	cfg.Users = []broker.User{
		{Mechanism: "SCRAM-SHA-512", Name: "producer", Password: "p-secret"},
		{Mechanism: "SCRAM-SHA-256", Name: "other", Password: "o-secret"},
		{Mechanism: "PLAIN", Name: "sink", Password: "s-secret"},
	}
	b := testenv.Broker(t, cfg)

	produce := func(auth SASL, n int) Stats {
		pcfg := DefaultProducerConfig()
		pcfg.Brokers, pcfg.SASL = []string{b.Addr()}, auth
		pcfg.Spill.Dir = t.TempDir()
		pcfg.WriteTimeout = 2 * time.Second
		pcfg.DrainTimeout = time.Second
		pcfg.RetryBackoffMin, pcfg.RetryBackoffMax = 20*time.Millisecond, 100*time.Millisecond
		p, cancel := runProducer(t, pcfg)
		if err := p.WriteRecords(context.Background(), makeRecords(n, 5, 0, map[string]uint64{})); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "records produced or spilled", func() bool {
			st := p.Stats()
			return st.Produced+st.Spilled >= int64(n)
		})
		cancel()
		<-p.Done()
		return p.Stats()
	}
	if st := produce(SASL{Mechanism: "SCRAM-SHA-512", Username: "producer", Password: "p-secret"}, 300); st.Produced != 300 {
		t.Fatalf("SCRAM-SHA-512 producer: %+v, want 300 produced", st)
	}
	if st := produce(SASL{Mechanism: "SCRAM-SHA-256", Username: "other", Password: "o-secret"}, 10); st.Produced != 10 {
		t.Fatalf("SCRAM-SHA-256 producer: %+v, want 10 produced", st)
	}
	for _, bad := range []SASL{{}, {Mechanism: "SCRAM-SHA-512", Username: "producer", Password: "wrong"}} {
		if st := produce(bad, 20); st.Produced != 0 || st.Spilled != 20 {
			t.Fatalf("producer with %q/%q: %+v; want refused (spilled, none produced)", bad.Mechanism, bad.Password, st)
		}
	}
	if n := b.Messages(TopicVPC); n != 310 {
		t.Fatalf("broker holds %d records, want 310", n)
	}

	rcfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	rcfg.Group, rcfg.SASL = "g-sasl", SASL{Mechanism: "PLAIN", Username: "sink", Password: "s-secret"}
	lake := t.TempDir()
	startRunner(t, rcfg, &fileSink{dir: lake})
	waitFor(t, 30*time.Second, "all records consumed with PLAIN", func() bool { return lakeLines(t, lake) >= 310 })

	for _, listen := range []string{"0.0.0.0:0", "[::]:0", ":0", "10.1.2.3:9092"} {
		c := broker.DefaultConfig()
		c.Listen = listen
		if _, err := broker.New(c, component.Deps{}); !errors.Is(err, broker.ErrNoUsers) {
			t.Errorf("broker on %s without users: %v, want ErrNoUsers", listen, err)
		}
	}
	if _, err := broker.ParseUser("SCRAM-SHA-1:x:y"); err == nil {
		t.Error("unknown mechanism accepted")
	}
	if u, err := broker.ParseUser("plain:flowtap:pa:ss"); err != nil || u.Password != "pa:ss" || u.Mechanism != "PLAIN" {
		t.Errorf("ParseUser = %+v, %v", u, err)
	}
}
