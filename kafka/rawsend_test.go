package kafka

import (
	"context"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TestProducerSplitsBatchTooLarge: when the topic takes smaller batches than the producer
// builds (max.message.bytes lowered to 64 KiB, records sent uncompressed in 1 MiB batches),
// each refused batch is sent again in halves until the parts fit: every record arrives
// once, in order, and none is spilled, dropped or dead-lettered.
func TestProducerSplitsBatchTooLarge(t *testing.T) {
	b := startBroker(t, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &kafkago.Client{Addr: kafkago.TCP(b.Addr())}
	res, err := c.AlterConfigs(ctx, &kafkago.AlterConfigsRequest{Resources: []kafkago.AlterConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: TopicVPC,
		Configs: []kafkago.AlterConfigRequestConfig{{Name: "max.message.bytes", Value: "65536"}},
	}}})
	if err == nil {
		for _, e := range res.Errors {
			if e != nil {
				err = e
			}
		}
	}
	if err != nil {
		t.Fatalf("lower max.message.bytes: %v", err)
	}

	cfg := DefaultProducerConfig()
	cfg.Brokers, cfg.Spill.Dir, cfg.Compression, cfg.Lanes = []string{b.Addr()}, t.TempDir(), "none", 1
	p, _ := runProducer(t, cfg)
	seq := map[string]uint64{}
	recs := makeRecords(3000, 1, 0, seq) // one key: one partition, in order
	if size := avgJSON(recs) * int64(len(recs)); size < 8*65536 {
		t.Fatalf("%d bytes of records fill fewer than 8 of the topic's batches", size)
	}
	if err := p.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "records produced", func() bool { return p.Stats().Produced == int64(len(recs)) })
	if st := p.Stats(); st.Spilled+st.Dropped+st.DeadLettered != 0 {
		t.Fatalf("stats %+v: want every record produced directly", st)
	}

	lake := t.TempDir()
	rcfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	rcfg.Group = "g-split"
	startRunner(t, rcfg, &fileSink{dir: lake})
	waitLake(t, lake, len(recs), seq, 20*time.Second)
}
