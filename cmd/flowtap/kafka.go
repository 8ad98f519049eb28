package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/sinks/kafka"
)

func init() {
	// A backfill should wait for Kafka rather than fill the disk spill at generator speed.
	newKafkaWriter = func(brokers []string, topic string) (flowlog.RecordWriter, error) {
		return startProducer(brokers, topic, filepath.Join("data", "spill", "generate"), true)
	}
}

// producerHandle is a running Kafka producer; Close stops it after it has sent (or spilled)
// everything written so far.
type producerHandle struct {
	*kafka.Producer
	cancel context.CancelFunc
	errc   chan error
}

// startProducer starts a producer to brokers in the background. A non-empty topic sends
// every record kind there; spillDir keeps what Kafka cannot take yet. With block, writers
// wait for Kafka (backpressure) for up to a minute before records go to the spill; without
// it they wait only briefly, as a packet receiver must.
func startProducer(brokers []string, topic, spillDir string, block bool) (*producerHandle, error) {
	cfg := kafka.DefaultProducerConfig()
	cfg.Brokers = brokers
	if topic != "" {
		cfg.Topics.VPC, cfg.Topics.TGW = topic, topic
	}
	cfg.Spill.Dir = spillDir
	if block {
		cfg.BlockTimeout = time.Minute
	}
	p, err := kafka.NewProducer(cfg, nil, slog.Default())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &producerHandle{Producer: p, cancel: cancel, errc: make(chan error, 1)}
	go func() { h.errc <- p.Run(ctx) }()
	return h, nil
}

// Close drains the producer: queued records are sent, or spilled to disk for the next run.
func (h *producerHandle) Close() error {
	h.cancel()
	err := <-h.errc
	if st := h.Stats(); st.Spilled > 0 || st.Dropped > 0 {
		slog.Warn("kafka producer finished with records not sent", "spilled", st.Spilled, "dropped", st.Dropped)
	}
	return err
}
