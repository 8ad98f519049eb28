package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/sinks/broker"
	"github.com/flowtap/flowtap/sinks/spill"
)

// HeaderKind is the message header that names the log kind: vpc, tgw, or the VPN event kind
// given to WriteVPN.
const HeaderKind = "flowtap-kind"

// Topics names the topic of each log kind.
type Topics struct {
	VPC string `yaml:"vpc"`
	TGW string `yaml:"tgw"`
	VPN string `yaml:"vpn"`
}

// DefaultTopics are the topics the embedded broker creates.
func DefaultTopics() Topics {
	return Topics{VPC: broker.TopicVPC, TGW: broker.TopicTGW, VPN: broker.TopicVPN}
}

// ProducerConfig configures the producer.
type ProducerConfig struct {
	Brokers     []string `yaml:"brokers"`
	Topics      Topics   `yaml:"topics"`
	Compression string   `yaml:"compression"` // zstd, gzip, snappy, lz4 or none

	BatchSize   int           `yaml:"batch_size"`  // messages per produce request per partition
	BatchBytes  int64         `yaml:"batch_bytes"` // uncompressed bytes per produce request per partition
	Linger      time.Duration `yaml:"linger"`      // how long a partial batch waits for more
	SendChunk   int           `yaml:"send_chunk"`  // messages handed to the client per call
	MaxAttempts int           `yaml:"max_attempts"`
	// WriteTimeout bounds one produce call; after it the messages go to the spill.
	WriteTimeout time.Duration `yaml:"write_timeout"`

	// QueueBytes bounds the in-memory queue (encoded bytes). A writer that finds it full
	// waits up to BlockTimeout for room, then its records go to the disk spill.
	QueueBytes   int64         `yaml:"queue_bytes"`
	BlockTimeout time.Duration `yaml:"block_timeout"`

	RetryBackoffMin time.Duration `yaml:"retry_backoff_min"`
	RetryBackoffMax time.Duration `yaml:"retry_backoff_max"`
	// DrainTimeout is how long Run keeps sending after ctx ends; what is left is spilled.
	DrainTimeout time.Duration `yaml:"drain_timeout"`

	Spill spill.Config `yaml:"spill"`
}

// DefaultProducerConfig produces to the embedded broker on 127.0.0.1:9092 with zstd.
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{
		Brokers:         []string{"127.0.0.1:9092"},
		Topics:          DefaultTopics(),
		Compression:     "zstd",
		BatchSize:       4096,
		BatchBytes:      1 << 20,
		Linger:          time.Millisecond,
		SendChunk:       16384,
		MaxAttempts:     3,
		WriteTimeout:    10 * time.Second,
		QueueBytes:      64 << 20,
		BlockTimeout:    200 * time.Millisecond,
		RetryBackoffMin: 100 * time.Millisecond,
		RetryBackoffMax: 5 * time.Second,
		DrainTimeout:    5 * time.Second,
		Spill:           spill.DefaultConfig(),
	}
}

// ParseCompression maps a codec name to kafka-go's codec; "none" (or "") is no compression.
func ParseCompression(name string) (compress.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "zstd":
		return kafkago.Zstd, nil
	case "gzip":
		return kafkago.Gzip, nil
	case "snappy":
		return kafkago.Snappy, nil
	case "lz4":
		return kafkago.Lz4, nil
	}
	return 0, fmt.Errorf("kafka: compression %q: want zstd, gzip, snappy, lz4 or none", name)
}

// ErrClosed is returned by writes after the producer stopped.
var ErrClosed = errors.New("kafka: producer closed")

// ErrDropped is wrapped by the error a write returns when records could neither be queued
// nor spilled (spill full or failing); they are counted in the dropped metric and logged.
var ErrDropped = errors.New("kafka: records dropped")

var (
	hdrVPC = []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}}
	hdrTGW = []kafkago.Header{{Key: HeaderKind, Value: []byte("tgw")}}
)

// Producer sends records to Kafka, one message per record (key = Record.Key(), value =
// flowlog.AppendJSON), through a bounded memory queue and, when Kafka is unreachable or slow,
// a bounded disk spill that is drained in order when it returns. One goroutine sends, one
// call at a time, so messages of one key reach their partition in the order written.
type Producer struct {
	cfg    ProducerConfig
	log    *slog.Logger
	m      *producerMetrics
	writer *kafkago.Writer

	spillOnce sync.Once
	spillErr  error
	spill     *spill.Queue

	mu       sync.Mutex
	queue    [][]kafkago.Message // oldest first
	qBytes   int64
	spilling bool // new messages go to the spill: it holds messages newer than the queue
	closed   bool
	space    chan struct{} // closed (and replaced) when the queue shrinks
	wake     chan struct{}
	done     chan struct{}

	sendBuf []kafkago.Message
}

// NewProducer validates cfg and wires the producer; it does no I/O. Metrics are registered on
// reg when it is not nil.
func NewProducer(cfg ProducerConfig, reg prometheus.Registerer, log *slog.Logger) (*Producer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	if cfg.Topics.VPC == "" || cfg.Topics.TGW == "" || cfg.Topics.VPN == "" {
		return nil, fmt.Errorf("kafka: topics %+v: every kind needs a topic", cfg.Topics)
	}
	codec, err := ParseCompression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	def := DefaultProducerConfig()
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = def.BatchSize
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = def.BatchBytes
	}
	if cfg.SendChunk <= 0 {
		cfg.SendChunk = def.SendChunk
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = def.WriteTimeout
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = def.QueueBytes
	}
	if cfg.RetryBackoffMin <= 0 {
		cfg.RetryBackoffMin = def.RetryBackoffMin
	}
	if cfg.RetryBackoffMax < cfg.RetryBackoffMin {
		cfg.RetryBackoffMax = cfg.RetryBackoffMin
	}
	if cfg.Spill.Dir == "" {
		return nil, errors.New("kafka: spill dir is empty")
	}
	if log == nil {
		log = slog.Default()
	}
	m := newProducerMetrics()
	if reg != nil {
		if err := m.register(reg); err != nil {
			return nil, fmt.Errorf("kafka: producer metrics: %w", err)
		}
	}
	w := &kafkago.Writer{
		Addr:            kafkago.TCP(cfg.Brokers...),
		Balancer:        &kafkago.Hash{},
		MaxAttempts:     cfg.MaxAttempts,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: 500 * time.Millisecond,
		BatchSize:       cfg.BatchSize,
		BatchBytes:      cfg.BatchBytes,
		BatchTimeout:    cfg.Linger,
		ReadTimeout:     cfg.WriteTimeout,
		WriteTimeout:    cfg.WriteTimeout,
		RequiredAcks:    kafkago.RequireAll,
		Compression:     codec,
		Transport: &kafkago.Transport{
			DialTimeout: 2 * time.Second,
			MetadataTTL: 30 * time.Second,
			ClientID:    "flowtap-producer",
		},
	}
	return &Producer{
		cfg: cfg, log: log.With("component", "kafka-producer"), m: m, writer: w,
		space: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{}),
	}, nil
}

func (p *Producer) openSpill() error {
	p.spillOnce.Do(func() {
		p.spill, p.spillErr = spill.Open(p.cfg.Spill)
		if p.spillErr == nil {
			r, b := p.spill.Depth()
			p.m.setSpill(r, b)
			if r > 0 {
				p.mu.Lock()
				p.spilling = true
				p.mu.Unlock()
				p.log.Info("spill holds messages from an earlier run; draining them first", "records", r, "bytes", b)
			}
		}
	})
	return p.spillErr
}

// WriteRecords encodes recs (it keeps nothing of them) and queues them for Kafka. It waits at
// most BlockTimeout for room in the memory queue before spilling to disk.
func (p *Producer) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	if len(recs) == 0 {
		return nil
	}
	size := 0
	for i := range recs {
		size += 64 + len(recs[i].InterfaceID) + len(recs[i].TGWAttachmentID)
	}
	buf := make([]byte, 0, size*4+len(recs)*160)
	msgs := make([]kafkago.Message, len(recs))
	var bytes int64
	for i := range recs {
		r := &recs[i]
		start := len(buf)
		buf = flowlog.AppendJSON(buf, r)
		kstart := len(buf)
		buf = append(buf, r.Key()...)
		msgs[i] = kafkago.Message{Topic: p.cfg.Topics.VPC, Headers: hdrVPC}
		if r.Kind == flowlog.KindTGW {
			msgs[i].Topic, msgs[i].Headers = p.cfg.Topics.TGW, hdrTGW
		}
		// Slices are cut after the loop: buf may still move while it grows.
		msgs[i].Value = buf[start:kstart:kstart]
		msgs[i].Key = buf[kstart:len(buf):len(buf)]
		bytes += int64(len(buf) - start)
	}
	// Re-slice against the final buffer.
	off := 0
	for i := range msgs {
		vl, kl := len(msgs[i].Value), len(msgs[i].Key)
		msgs[i].Value = buf[off : off+vl : off+vl]
		off += vl
		if kl > 0 {
			msgs[i].Key = buf[off : off+kl : off+kl]
		} else {
			msgs[i].Key = nil
		}
		off += kl
	}
	return p.enqueue(ctx, msgs, bytes)
}

// VPN event kinds for WriteVPN's kind (the flowtap-kind header value).
const (
	KindVPNTunnel = "vpn-tunnel"
	KindVPNBGP    = "vpn-bgp"
	KindClientVPN = "client-vpn"
)

// WriteVPN queues raw VPN log events (AWS's JSON, one event each) to the VPN topic with key
// stream (the CloudWatch stream name, e.g. "vpn-1234abcd_1.2.3.4") and header flowtap-kind =
// kind (KindVPNTunnel, KindVPNBGP, KindClientVPN). It copies the events.
func (p *Producer) WriteVPN(ctx context.Context, kind, stream string, events [][]byte) error {
	if len(events) == 0 {
		return nil
	}
	total := len(stream) + len(kind)
	for _, e := range events {
		total += len(e)
	}
	buf := make([]byte, 0, total)
	buf = append(buf, stream...)
	key := buf[:len(stream):len(stream)]
	buf = append(buf, kind...)
	hdr := []kafkago.Header{{Key: HeaderKind, Value: buf[len(stream):len(buf):len(buf)]}}
	msgs := make([]kafkago.Message, len(events))
	var bytes int64
	for i, e := range events {
		start := len(buf)
		buf = append(buf, e...)
		msgs[i] = kafkago.Message{Topic: p.cfg.Topics.VPN, Key: key, Headers: hdr, Value: buf[start:len(buf):len(buf)]}
		bytes += int64(len(e) + len(stream))
	}
	return p.enqueue(ctx, msgs, bytes)
}

// enqueue puts one call's messages in the memory queue, or in the spill when the spill
// already holds older messages or the queue stays full for BlockTimeout.
func (p *Producer) enqueue(ctx context.Context, msgs []kafkago.Message, bytes int64) error {
	msgs = p.dropOversized(msgs)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			p.m.dropped.WithLabelValues("closed").Add(float64(len(msgs)))
			return fmt.Errorf("%w: %d records after shutdown", ErrClosed, len(msgs))
		}
		if p.spilling {
			break
		}
		if p.qBytes == 0 || p.qBytes+bytes <= p.cfg.QueueBytes {
			p.queue = append(p.queue, msgs)
			p.qBytes += bytes
			p.m.queueBytes.Set(float64(p.qBytes))
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(p.cfg.BlockTimeout)
		}
		space := p.space
		p.mu.Unlock()
		select {
		case <-space:
			p.mu.Lock()
			continue
		case <-ctx.Done():
			p.m.dropped.WithLabelValues("canceled").Add(float64(len(msgs)))
			return fmt.Errorf("kafka: queue full and %w; %d records not accepted", ctx.Err(), len(msgs))
		case <-timer.C:
		}
		p.mu.Lock()
		if !p.spilling {
			p.log.Warn("producer queue full; spilling to disk", "queue_bytes", p.qBytes)
		}
		p.spilling = true
	}
	err := p.appendSpillLocked(msgs)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return err
}

// dropOversized removes messages that no produce request could carry, counting them.
func (p *Producer) dropOversized(msgs []kafkago.Message) []kafkago.Message {
	limit := int(p.cfg.BatchBytes) - 256
	out := msgs[:0]
	for _, m := range msgs {
		if len(m.Key)+len(m.Value) > limit {
			p.m.dropped.WithLabelValues("too_large").Inc()
			p.log.Error("message larger than batch_bytes dropped", "topic", m.Topic, "key", string(m.Key), "bytes", len(m.Value))
			continue
		}
		out = append(out, m)
	}
	return out
}

func toSpill(msgs []kafkago.Message) []spill.Message {
	out := make([]spill.Message, len(msgs))
	for i, m := range msgs {
		out[i] = spill.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
		if len(m.Headers) > 0 {
			out[i].Headers = make([]spill.Header, len(m.Headers))
			for j, h := range m.Headers {
				out[i].Headers[j] = spill.Header{Key: h.Key, Value: h.Value}
			}
		}
	}
	return out
}

func fromSpill(msgs []spill.Message) []kafkago.Message {
	out := make([]kafkago.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafkago.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
		if len(m.Headers) > 0 {
			out[i].Headers = make([]kafkago.Header, len(m.Headers))
			for j, h := range m.Headers {
				out[i].Headers[j] = kafkago.Header{Key: h.Key, Value: h.Value}
			}
		}
	}
	return out
}

// appendSpillLocked appends msgs to the spill; what does not fit is counted and logged.
func (p *Producer) appendSpillLocked(msgs []kafkago.Message) error {
	if err := p.openSpill(); err != nil {
		p.m.dropped.WithLabelValues("spill_error").Add(float64(len(msgs)))
		p.log.Error("spill unavailable; records dropped", "records", len(msgs), "err", err)
		return fmt.Errorf("%w: %d records: %v", ErrDropped, len(msgs), err)
	}
	err := p.spill.Append(toSpill(msgs))
	r, b := p.spill.Depth()
	p.m.setSpill(r, b)
	if err != nil {
		reason := "spill_error"
		if errors.Is(err, spill.ErrFull) {
			reason = "spill_full"
		}
		p.m.dropped.WithLabelValues(reason).Add(float64(len(msgs)))
		p.log.Error("records dropped: Kafka unreachable and the spill cannot take them", "records", len(msgs), "reason", reason, "err", err)
		return fmt.Errorf("%w: %d records: %v", ErrDropped, len(msgs), err)
	}
	p.m.spilled.Add(float64(len(msgs)))
	return nil
}

// prependSpillLocked puts msgs (taken out of memory, older than the spill's content) in
// front of the spill.
func (p *Producer) prependSpillLocked(msgs []kafkago.Message) {
	if len(msgs) == 0 {
		return
	}
	err := p.openSpill()
	if err == nil {
		err = p.spill.Prepend(toSpill(msgs))
	}
	if err != nil {
		p.m.dropped.WithLabelValues("spill_error").Add(float64(len(msgs)))
		p.log.Error("records dropped: cannot spill them", "records", len(msgs), "err", err)
		return
	}
	r, b := p.spill.Depth()
	p.m.setSpill(r, b)
	p.m.spilled.Add(float64(len(msgs)))
}

// takeLocked removes up to SendChunk messages (whole calls) from the head of the queue.
func (p *Producer) takeLocked() []kafkago.Message {
	out := p.sendBuf[:0]
	var bytes int64
	n := 0
	for n < len(p.queue) && (len(out) == 0 || len(out)+len(p.queue[n]) <= p.cfg.SendChunk) {
		for _, m := range p.queue[n] {
			bytes += int64(len(m.Key) + len(m.Value))
		}
		out = append(out, p.queue[n]...)
		p.queue[n] = nil
		n++
	}
	p.queue = p.queue[n:]
	if len(p.queue) == 0 {
		p.queue = nil
	}
	p.qBytes -= bytes
	if p.qBytes < 0 || len(p.queue) == 0 {
		p.qBytes = 0
	}
	p.m.queueBytes.Set(float64(p.qBytes))
	close(p.space)
	p.space = make(chan struct{})
	p.sendBuf = out
	return out
}

// Run sends until ctx ends, then keeps sending for up to DrainTimeout and spills the rest.
func (p *Producer) Run(ctx context.Context) error {
	defer close(p.done)
	if err := p.openSpill(); err != nil {
		return fmt.Errorf("kafka: producer: %w", err)
	}
	failures := 0
	for ctx.Err() == nil {
		p.mu.Lock()
		switch {
		case len(p.queue) > 0:
			msgs := p.takeLocked()
			p.mu.Unlock()
			failed := p.send(msgs)
			if len(failed) > 0 {
				p.mu.Lock()
				p.spillQueueLocked(failed)
				p.mu.Unlock()
				failures++
				p.backoff(ctx, failures)
			} else {
				failures = 0
			}
		case p.spilling:
			p.mu.Unlock()
			ok := p.drainSpill()
			if !ok {
				failures++
				p.backoff(ctx, failures)
			} else {
				failures = 0
			}
		default:
			p.mu.Unlock()
			select {
			case <-p.wake:
			case <-ctx.Done():
			}
		}
	}
	p.shutdown()
	return nil
}

// spillQueueLocked moves failed (in flight, oldest) and the whole memory queue in front of
// the spill and switches new writes to the spill.
func (p *Producer) spillQueueLocked(failed []kafkago.Message) {
	all := make([]kafkago.Message, 0, len(failed)+int(p.queuedLocked()))
	all = append(all, failed...)
	for _, q := range p.queue {
		all = append(all, q...)
	}
	p.queue, p.qBytes = nil, 0
	p.m.queueBytes.Set(0)
	close(p.space)
	p.space = make(chan struct{})
	if !p.spilling {
		p.log.Warn("Kafka unreachable; spilling to disk", "records", len(all))
	}
	p.spilling = true
	p.prependSpillLocked(all)
}

func (p *Producer) queuedLocked() int64 {
	var n int64
	for _, q := range p.queue {
		n += int64(len(q))
	}
	return n
}

// drainSpill sends the oldest spill segment; it reports false when Kafka failed.
func (p *Producer) drainSpill() bool {
	id, smsgs, corrupt, ok, err := p.spill.Head()
	if err != nil {
		p.log.Error("spill read failed", "err", err)
		return false
	}
	if corrupt > 0 {
		p.m.dropped.WithLabelValues("spill_corrupt").Add(float64(corrupt))
		p.log.Error("corrupt record in spill segment; the rest of the segment is lost", "segment", id)
	}
	if ok {
		failed := p.send(fromSpill(smsgs))
		if len(failed) > 0 {
			if err := p.spill.Replace(id, toSpill(failed)); err != nil {
				p.log.Error("spill rewrite failed", "err", err)
			}
			r, b := p.spill.Depth()
			p.m.setSpill(r, b)
			return false
		}
		if err := p.spill.Remove(id); err != nil {
			p.log.Error("spill remove failed", "err", err)
			return false
		}
	}
	p.mu.Lock()
	r, b := p.spill.Depth()
	p.m.setSpill(r, b)
	if r == 0 && len(p.queue) == 0 {
		if p.spilling {
			p.log.Info("spill drained; producing directly again")
		}
		p.spilling = false
	}
	p.mu.Unlock()
	return true
}

// send produces msgs and returns those that failed (nil on success).
func (p *Producer) send(msgs []kafkago.Message) []kafkago.Message {
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.WriteTimeout)
	defer cancel()
	start := time.Now()
	err := p.writer.WriteMessages(ctx, msgs...)
	p.m.latency.Observe(time.Since(start).Seconds())
	if err == nil {
		p.count(msgs)
		return nil
	}
	p.m.errors.Inc()
	var werrs kafkago.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(msgs) {
		var ok, failed []kafkago.Message
		var first error
		for i, e := range werrs {
			if e == nil {
				ok = append(ok, msgs[i])
			} else {
				failed = append(failed, msgs[i])
				if first == nil {
					first = e
				}
			}
		}
		p.count(ok)
		p.log.Warn("produce failed", "failed", len(failed), "sent", len(ok), "err", first)
		return failed
	}
	p.log.Warn("produce failed", "records", len(msgs), "err", err)
	out := make([]kafkago.Message, len(msgs))
	copy(out, msgs)
	return out
}

func (p *Producer) count(msgs []kafkago.Message) {
	var bytes int
	for _, m := range msgs {
		bytes += len(m.Key) + len(m.Value)
	}
	p.m.records.Add(float64(len(msgs)))
	p.m.bytes.Add(float64(bytes))
}

// backoff sleeps min·2^(n-1), capped, with ±20 % jitter, or until ctx ends.
func (p *Producer) backoff(ctx context.Context, n int) {
	d := Backoff(p.cfg.RetryBackoffMin, p.cfg.RetryBackoffMax, n)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Backoff is the delay before retry n (1-based): min·2^(n-1) capped at max, ±20 % jitter.
func Backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	j := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return j
}

// shutdown refuses new writes, sends what is queued for up to DrainTimeout, spills the rest
// and closes the client.
func (p *Producer) shutdown() {
	p.mu.Lock()
	p.closed = true
	close(p.space)
	p.space = make(chan struct{})
	p.mu.Unlock()
	deadline := time.Now().Add(p.cfg.DrainTimeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.mu.Unlock()
			break
		}
		msgs := p.takeLocked()
		p.mu.Unlock()
		if failed := p.send(msgs); len(failed) > 0 {
			p.mu.Lock()
			p.spillQueueLocked(failed)
			p.mu.Unlock()
			break
		}
	}
	p.mu.Lock()
	if len(p.queue) > 0 {
		p.spillQueueLocked(nil)
	}
	p.mu.Unlock()
	if err := p.writer.Close(); err != nil {
		p.log.Warn("kafka writer close", "err", err)
	}
	if p.spill != nil {
		if r, _ := p.spill.Depth(); r > 0 {
			p.log.Info("producer stopped with messages in the spill; they are sent on the next start", "records", r)
		}
		if err := p.spill.Close(); err != nil {
			p.log.Error("spill close", "err", err)
		}
	}
}

// Done is closed when Run has returned.
func (p *Producer) Done() <-chan struct{} { return p.done }

// SpillDepth reports the records and bytes waiting in the disk spill.
func (p *Producer) SpillDepth() (records, bytes int64) {
	if p.spill == nil {
		return 0, 0
	}
	return p.spill.Depth()
}

// Stats is a snapshot of the producer's counters (also exported as Prometheus metrics).
type Stats struct {
	Produced, Spilled, Dropped, Errors int64
}

// Stats returns the producer's counters.
func (p *Producer) Stats() Stats {
	return Stats{
		Produced: int64(counterValue(p.m.records)),
		Spilled:  int64(counterValue(p.m.spilled)),
		Dropped:  int64(counterVecSum(p.m.dropped)),
		Errors:   int64(counterValue(p.m.errors)),
	}
}
