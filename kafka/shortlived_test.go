package kafka

import (
	"context"
	"testing"
	"time"
)

// runShort runs a producer to addr with its spill in dir, writes events to the VPN topic and
// stops it at once, as `flowtap generate --kafka-brokers` does.
func runShort(t *testing.T, addr, dir string, events int) Stats {
	t.Helper()
	cfg := DefaultProducerConfig()
	cfg.Brokers = []string{addr}
	cfg.Spill.Dir = dir
	cfg.WriteTimeout = 2 * time.Second
	cfg.RetryBackoffMin, cfg.RetryBackoffMax = 20*time.Millisecond, 100*time.Millisecond
	p, cancel := runProducer(t, cfg)
	data := make([][]byte, events)
	for i := range data {
		data[i] = []byte(`{"type":"BGPStatus"}`)
	}
	if err := p.WriteVPN(context.Background(), KindVPNBGP, "vpn-1234abcd_1.2.3.4", data); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-p.Done()
	return p.Stats()
}

// TestShortLivedProducerDelivers: a producer stopped right after its write still sends it
// (within DrainTimeout), and sends what an earlier run left in the spill.
func TestShortLivedProducerDelivers(t *testing.T) {
	dataDir := t.TempDir()
	b := startBroker(t, "", dataDir)
	addr := b.Addr()
	spillDir := t.TempDir()
	vpnCount := func() int64 { return b.Messages(TopicVPN) }
	for i := range 5 {
		if st := runShort(t, addr, spillDir, 3); st.Produced != 3 || st.Spilled != 0 {
			t.Fatalf("run %d: %+v, want 3 produced and none spilled", i, st)
		}
	}
	if n := vpnCount(); n != 15 {
		t.Fatalf("VPN topic holds %d messages, want 15", n)
	}

	// Kafka down: the write is spilled. Back up: the next short run sends it first.
	b.Close()
	if st := runShort(t, addr, spillDir, 4); st.Produced != 0 || st.Spilled != 4 {
		t.Fatalf("outage run: %+v, want 4 spilled", st)
	}
	b = startBroker(t, addr, dataDir)
	if st := runShort(t, addr, spillDir, 2); st.Produced != 6 {
		t.Fatalf("after the outage: %+v, want the 4 spilled and the 2 new produced", st)
	}
	if n := vpnCount(); n != 21 {
		t.Fatalf("VPN topic holds %d messages, want 21", n)
	}
}
