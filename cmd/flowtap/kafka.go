package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowtap/flowtap/flowlog/generate"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/kafka/spill"
)

func init() {
	// A backfill should wait for Kafka rather than fill the disk spill at generator speed.
	newKafkaWriter = func(o kafkaOutput) (flowlog.RecordWriter, error) {
		o.block = true
		return startProducer(o)
	}
}

// kafkaOutput is how a command sends records to Kafka.
type kafkaOutput struct {
	brokers  []string
	topic    string        // every record kind to this topic when set
	spillDir string        // the spill root (a directory per cluster is made under it)
	timeout  time.Duration // how long Close waits for Kafka to take everything written
	block    bool          // writers wait up to a minute for Kafka before records spill
	sasl     kafka.SASL
}

// defaultSpillDir is the spill root of a command: spill.DefaultDir()/<command>.
func defaultSpillDir(command string) string { return filepath.Join(spill.DefaultDir(), command) }

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
	out    kafkaOutput
	topics kafka.Topics
	cancel context.CancelFunc
	errc   chan error

	mu      sync.Mutex
	written map[string]int64 // records accepted by the producer, by topic
}

// startProducer starts a producer to o.brokers in the background.
func startProducer(o kafkaOutput) (*producerHandle, error) {
	cfg := kafka.DefaultProducerConfig()
	cfg.Brokers, cfg.SASL = o.brokers, o.sasl
	if o.topic != "" {
		cfg.Topics.VPC, cfg.Topics.TGW = o.topic, o.topic
	}
	cfg.Spill.Dir = o.spillDir
	if o.block {
		cfg.BlockTimeout = time.Minute
	}
	p, err := kafka.NewProducer(cfg, nil, slog.Default())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &producerHandle{Producer: p, out: o, topics: cfg.Topics, cancel: cancel, errc: make(chan error, 1), written: map[string]int64{}}
	go func() { h.errc <- p.Run(ctx) }()
	return h, nil
}

// WriteRecords queues recs and counts them by topic for the report.
func (h *producerHandle) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	if err := h.Producer.WriteRecords(ctx, recs); err != nil {
		return err
	}
	var tgw int64
	for i := range recs {
		if recs[i].Kind == flowlog.KindTGW {
			tgw++
		}
	}
	h.mu.Lock()
	h.written[h.topics.VPC] += int64(len(recs)) - tgw
	h.written[h.topics.TGW] += tgw
	h.mu.Unlock()
	return nil
}

// WriteVPN queues VPN events and counts them for the report.
func (h *producerHandle) WriteVPN(ctx context.Context, kind, stream string, events [][]byte) error {
	if err := h.Producer.WriteVPN(ctx, kind, stream, events); err != nil {
		return err
	}
	h.mu.Lock()
	h.written[h.topics.VPN] += int64(len(events))
	h.mu.Unlock()
	return nil
}

// ErrUndelivered is returned by Close when records written were not all delivered.
var ErrUndelivered = errors.New("records not delivered to Kafka")

// Close waits up to the output's timeout for Kafka to take everything written, stops the
// producer (what it still holds goes to the disk spill) and reports what was sent where. It
// fails with ErrUndelivered when records remain in the spill or were dropped or
// dead-lettered.
func (h *producerHandle) Close() error {
	err := h.CloseReport(nil)
	if err != nil {
		slog.Warn("kafka producer stopped", "err", err)
	}
	return err
}

// CloseReport is Close that also writes a human summary to w (when not nil).
func (h *producerHandle) CloseReport(w io.Writer) error {
	h.mu.Lock()
	var total int64
	for _, n := range h.written {
		total += n
	}
	h.mu.Unlock()
	deadline := time.Now().Add(h.out.timeout)
	for time.Now().Before(deadline) {
		st := h.Stats()
		if r, _ := h.SpillDepth(); r == 0 && st.Produced+st.DeadLettered+st.Dropped >= total {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.cancel()
	err := <-h.errc
	st := h.Stats()
	waiting, _ := h.SpillDepth()
	var parts []string
	h.mu.Lock()
	for _, t := range slices.Sorted(maps.Keys(h.written)) {
		if h.written[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", h.written[t], t))
		}
	}
	h.mu.Unlock()
	brokers := strings.Join(h.out.brokers, ",")
	if w != nil {
		fmt.Fprintf(w, "kafka %s: %d records written (%s); %d delivered", brokers, total, strings.Join(parts, ", "), st.Produced)
		if st.Produced > total {
			fmt.Fprintf(w, " (%d of them left in the spill by an earlier run)", st.Produced-total)
		}
		fmt.Fprintln(w)
	}
	var problems []string
	if waiting > 0 {
		problems = append(problems, fmt.Sprintf("%d wait in the spill %s for the next run to these brokers", waiting, h.SpillDir()))
	}
	if st.DeadLettered > 0 {
		problems = append(problems, fmt.Sprintf("%d can never be produced (e.g. their topic does not exist) and were moved to %s", st.DeadLettered, h.DeadLetterDir()))
	}
	if st.Dropped > 0 {
		problems = append(problems, fmt.Sprintf("%d were dropped (spill full or failing)", st.Dropped))
	}
	if len(problems) > 0 {
		uerr := fmt.Errorf("%w within %v: %s", ErrUndelivered, h.out.timeout, strings.Join(problems, "; "))
		return errors.Join(err, uerr)
	}
	return err
}
