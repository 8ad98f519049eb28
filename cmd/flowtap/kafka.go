package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/flowtap/flowtap/flowlog/generate"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/kafka"
)

func init() {
	// A backfill should wait for Kafka rather than fill the disk spill at generator speed.
	newKafkaWriter = func(brokers []string, topic string) (flowlog.RecordWriter, error) {
		return startProducer(brokers, topic, filepath.Join("data", "spill", "generate"), true)
	}
}

// kafkaVPNWriter sends generated VPN events to the producer's VPN topic, keyed by their
// CloudWatch stream, with the event kind in the flowtap-kind header.
type kafkaVPNWriter struct {
	p   *producerHandle
	buf [][]byte
}

func newKafkaVPNWriter(rw flowlog.RecordWriter) (generate.VPNWriter, error) {
	p, ok := rw.(*producerHandle)
	if !ok {
		return nil, fmt.Errorf("VPN events need the Kafka producer, got %T", rw)
	}
	return &kafkaVPNWriter{p: p}, nil
}

var vpnKinds = map[string]string{
	generate.LogTunnel: kafka.KindVPNTunnel,
	generate.LogBGP:    kafka.KindVPNBGP,
	generate.LogClient: kafka.KindClientVPN,
}

func (w *kafkaVPNWriter) WriteVPNEvents(ctx context.Context, events []generate.VPNEvent) error {
	// One WriteVPN call per run of events with the same kind and stream keeps them in order.
	for i := 0; i < len(events); {
		j := i
		w.buf = w.buf[:0]
		for j < len(events) && events[j].Log == events[i].Log && events[j].Stream == events[i].Stream {
			w.buf = append(w.buf, events[j].AppendJSON(nil))
			j++
		}
		kind, ok := vpnKinds[events[i].Log]
		if !ok {
			return fmt.Errorf("kafka: unknown VPN log %q", events[i].Log)
		}
		if err := w.p.WriteVPN(ctx, kind, events[i].Stream, w.buf); err != nil {
			return err
		}
		i = j
	}
	return nil
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
	if waiting, _ := h.SpillDepth(); waiting > 0 {
		slog.Warn("Kafka did not take every record; the rest waits in the disk spill for the next run", "records", waiting)
	}
	if st := h.Stats(); st.Dropped > 0 {
		slog.Error("records dropped: Kafka unreachable and the spill full", "records", st.Dropped)
	}
	return err
}
