package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/kafka/rawbatch"
	"github.com/flowtap/flowtap/kafka/spill"
	"github.com/flowtap/flowtap/sinks"
)

// Topics names the topic of each log kind.
type Topics struct {
	VPC string
	TGW string
	VPN string
}

// DefaultTopics are the topics the embedded broker creates.
func DefaultTopics() Topics {
	return Topics{VPC: TopicVPC, TGW: TopicTGW, VPN: TopicVPN}
}

// ProducerConfig configures the producer.
type ProducerConfig struct {
	Brokers     []string
	SASL        SASL // authentication to the brokers, if they require it
	Topics      Topics
	Compression string // zstd, gzip, snappy, lz4 or none

	BatchSize int // messages per produce request per partition
	// BatchBytes is the uncompressed bytes per produce request per partition. The broker
	// limits the compressed batch (message.max.bytes, 1 MiB by default), so without
	// compression it is capped at MaxMessageBytes. Larger batches mean fewer requests, and
	// the embedded broker handles requests one at a time, with an fsync each.
	BatchBytes  int64
	SendChunk   int // messages handed to the client per call (per lane)
	MaxAttempts int
	// WriteTimeout bounds one produce call; after it the messages go to the spill.
	WriteTimeout time.Duration

	// Lanes is the number of senders, each with one produce call in flight. A record goes to
	// the lane of its key (FNV-1a, as kafka-go's Hash balancer, so with as many lanes as
	// partitions a lane feeds one partition of each topic); a lane keeps its keys in order.
	Lanes int

	// QueueBytes bounds the in-memory queues (encoded bytes), split evenly between the lanes.
	// A writer that finds its lane's queue full waits up to BlockTimeout for room, then its
	// records go to the lane's disk spill.
	QueueBytes   int64
	BlockTimeout time.Duration

	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
	// DrainTimeout is how long Run keeps sending after ctx ends; what is left is spilled.
	DrainTimeout time.Duration

	// Spill is the disk spill; each lane gets Spill.MaxBytes/Lanes of it (see spill.Set). It
	// lives in a subdirectory of Spill.Dir named after the brokers (see SpillDir), so records
	// spilled for one cluster are never sent to another.
	Spill spill.Config
	// UndeliverableAfter is how long the brokers may keep answering that a spilled record's
	// topic does not exist before the record goes to the dead-letter file; records the
	// brokers refuse with a non-retriable error go there at once.
	UndeliverableAfter time.Duration
}

// MaxMessageBytes is the largest message, or uncompressed batch, the producer sends:
// Kafka's default message.max.bytes (1 MiB and a batch header), which no record comes near.
const MaxMessageBytes = 1 << 20

// MaxLanes is the largest Lanes value.
const MaxLanes = 64

// DefaultProducerConfig produces to the embedded broker on 127.0.0.1:9092 with lz4, in 4
// lanes (the embedded broker's partition count). lz4 rather than zstd: compressing the JSON
// records is the producer's largest cost, and lz4 takes about 0.6 of zstd's CPU for it
// (ratio ~8.6 against ~14.9 on generated VPC records).
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{
		Brokers:         []string{"127.0.0.1:9092"},
		Topics:          DefaultTopics(),
		Compression:     "lz4",
		BatchSize:       16384,
		BatchBytes:      4 << 20, // generated VPC records: ~0.5 MiB with lz4
		SendChunk:       16384,
		Lanes:           4,
		MaxAttempts:     3,
		WriteTimeout:    10 * time.Second,
		QueueBytes:      64 << 20,
		BlockTimeout:    200 * time.Millisecond,
		RetryBackoffMin: 100 * time.Millisecond,
		RetryBackoffMax: 5 * time.Second,
		DrainTimeout:    5 * time.Second,
		Spill:           spill.DefaultConfig(),

		UndeliverableAfter: 30 * time.Second,
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
	kindVPC = []byte("vpc")
	kindTGW = []byte("tgw")
)

// Producer sends records to Kafka, one message per record (key = Record.Key(), value =
// flowlog.AppendJSON), through bounded memory queues and, when Kafka is unreachable or slow,
// a bounded disk spill that is drained in order when it returns. Records are divided between
// lanes by key; each lane sends one call at a time, so messages of one key reach their
// partition in the order written.
type Producer struct {
	cfg    ProducerConfig
	log    *slog.Logger
	m      *producerMetrics
	sender *rawSender
	lanes  []*lane

	spillOnce sync.Once
	spillErr  error
	spills    atomic.Pointer[spill.Set]
	olderDone chan struct{} // closed once the spills of earlier layouts are sent
	olderExit chan struct{} // closed when sendOlder returns, done or not

	dead *DeadLetter // the spilled messages the brokers refuse for good

	ids *MessageIDs // each message's HeaderID

	avgSize      atomic.Int64 // bytes per encoded message, to size encode buffers
	serialEncode bool         // benchmarks: encode every lane in the caller's goroutine
	done         chan struct{}
}

// NewProducer validates cfg and wires the producer; it does no I/O. Metrics go to d.Registry,
// logs to d.Log (defaults when nil).
func NewProducer(cfg ProducerConfig, d component.Deps) (*Producer, error) {
	d = d.WithDefaults()
	reg, log := d.Registry, d.Log
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
	mech, err := cfg.SASL.mechanism()
	if err != nil {
		return nil, err
	}
	def := DefaultProducerConfig()
	orDefault(&cfg.BatchSize, def.BatchSize)
	orDefault(&cfg.BatchBytes, def.BatchBytes)
	if codec == 0 {
		cfg.BatchBytes = min(cfg.BatchBytes, MaxMessageBytes)
	}
	orDefault(&cfg.SendChunk, def.SendChunk)
	orDefault(&cfg.Lanes, def.Lanes)
	if cfg.Lanes > MaxLanes {
		return nil, fmt.Errorf("kafka: lanes %d: at most %d", cfg.Lanes, MaxLanes)
	}
	orDefault(&cfg.MaxAttempts, def.MaxAttempts)
	orDefault(&cfg.WriteTimeout, def.WriteTimeout)
	orDefault(&cfg.QueueBytes, def.QueueBytes)
	orDefault(&cfg.RetryBackoffMin, def.RetryBackoffMin)
	if cfg.RetryBackoffMax < cfg.RetryBackoffMin {
		cfg.RetryBackoffMax = cfg.RetryBackoffMin
	}
	if cfg.Spill.Dir == "" {
		return nil, errors.New("kafka: spill dir is empty")
	}
	orDefault(&cfg.UndeliverableAfter, def.UndeliverableAfter)
	m := newProducerMetrics()
	if err := m.register(reg); err != nil {
		return nil, fmt.Errorf("kafka: producer metrics: %w", err)
	}
	transport := newTransport(clientIDProducer, mech)
	transport.MetadataTTL = 30 * time.Second
	sender := &rawSender{
		client: &kafkago.Client{Addr: kafkago.TCP(cfg.Brokers...), Timeout: cfg.WriteTimeout,
			Transport: &metadataCache{ttl: metadataCacheTTL, next: transport}},
		balancer: &keyHash{lanes: cfg.Lanes}, codec: codec, batchSize: cfg.BatchSize, batchBytes: cfg.BatchBytes,
		maxAttempts: cfg.MaxAttempts, backoffMin: 50 * time.Millisecond, backoffMax: 500 * time.Millisecond,
		// A batch buffer per lane and two for the spills of earlier layouts and dead-letter
		// narrowing; they grow to the batches actually sent.
		batches: rawbatch.NewPool(cfg.Lanes+2, 256<<10),
	}
	p := &Producer{
		cfg: cfg, log: log.With("component", "kafka-producer"), m: m, sender: sender,
		olderDone: make(chan struct{}), olderExit: make(chan struct{}), done: make(chan struct{}),
	}
	p.dead = &DeadLetter{
		Dir: p.DeadLetterDir(), After: cfg.UndeliverableAfter, Gap: 2 * (cfg.RetryBackoffMax + cfg.WriteTimeout),
		Send: p.sendErr, Counter: m.deadLettered, Log: p.log,
	}
	p.ids = NewMessageIDs()
	p.avgSize.Store(512)
	laneBytes := max(cfg.QueueBytes/int64(cfg.Lanes), 1)
	for i := range cfg.Lanes {
		p.lanes = append(p.lanes, newLane(p, i, laneBytes))
	}
	return p, nil
}

// openSpills opens the spill set once: the lanes' queues and those of earlier layouts. A lane
// whose queue holds messages from an earlier run starts spilling, so that what is written now
// queues up behind them. It takes lane locks: never call it with one held.
func (p *Producer) openSpills() error {
	p.spillOnce.Do(func() {
		p.warnOtherSpills()
		scfg := p.cfg.Spill
		scfg.Dir = p.SpillDir()
		set, err := spill.OpenSet(scfg, len(p.lanes))
		if err != nil {
			p.spillErr = err
			return
		}
		for i, l := range p.lanes {
			q := set.Lane(i)
			l.mu.Lock()
			l.spill = q
			if q.Len() > 0 {
				l.spilling = true
			}
			l.mu.Unlock()
		}
		p.spills.Store(set)
		if r, b := set.Depth(); r > 0 {
			p.log.Info("spill holds messages from an earlier run; draining them first", "records", r, "bytes", b)
		}
		p.updateSpill()
	})
	return p.spillErr
}

func (p *Producer) updateSpill() {
	if set := p.spills.Load(); set != nil {
		p.m.setSpill(set.Depth())
	}
}

// laneOf returns the lane of key: FNV-1a 32, reduced as kafka-go's Hash balancer reduces it
// to a partition, so that with as many lanes as partitions lane i feeds partition i.
func laneOf[K string | []byte](key K, lanes int) int {
	if lanes == 1 || len(key) == 0 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	l := int32(h) % int32(lanes)
	if l < 0 {
		l = -l
	}
	return int(l)
}

// keyHash is kafka-go's Hash balancer (same partition for every key: FNV-1a 32 with Sarama's
// reduction) without its pooled hash.Hash32, which costs a fifth of a microsecond a message.
// With as many partitions as lanes, a message that carries its lane (laneHint) goes to that
// partition without hashing its key again.
type keyHash struct {
	rr    kafkago.RoundRobin
	lanes int
}

// laneHint marks msg.Partition with the lane encode computed; kafka-go ignores the field on
// writes and messages from the spill carry none.
func laneHint(lane int) int { return -1 - lane }

// Balance picks the partition of msg's key; keyless messages go round-robin.
func (b *keyHash) Balance(msg kafkago.Message, partitions ...int) int {
	if msg.Key == nil {
		return b.rr.Balance(msg, partitions...)
	}
	if l := -1 - msg.Partition; l >= 0 && l < len(partitions) && len(partitions) == b.lanes {
		return partitions[l]
	}
	return laneOf(msg.Key, len(partitions))
}

// laneBatch is one write call's messages for one lane.
type laneBatch struct {
	lane  int
	msgs  []kafkago.Message
	bytes int64
	count int        // records to encode into msgs
	mem   *encodeMem // what msgs alias, to reuse once they are sent or spilled; nil: not pooled
}

// encodeMem is the memory of one laneBatch's messages: their structs, keys and values,
// headers and ids. A lane keeps it in its free list (lane.putMem) once the messages are
// sent or spilled, for its next write: allocated afresh for every write, these buffers (most
// of a megabyte per lane and call) cost more in page faults, clearing and garbage
// collection than encoding the JSON. A free list rather than a sync.Pool, which every
// garbage collection empties: a quarter of the writes found it empty.
type encodeMem struct {
	buf  []byte
	msgs []kafkago.Message
	hdrs []kafkago.Header
	ids  []byte
}

// memsPerLane bounds a lane's free list: room for the writes its queue and its call in
// flight hold at their fullest, so that it keeps no more than they did.
const memsPerLane = 64

// grown returns s emptied, with room for n elements. New memory has a quarter more, so
// that the next writes, whose lane shares vary around the same size, can reuse it.
func grown[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n+n/4)
	}
	return s[:0]
}

// WriteRecords encodes recs (it keeps nothing of them) and queues them for Kafka, each in its
// key's lane. It waits at most BlockTimeout in all for room in the memory queues; what still
// finds no room goes to the disk spill.
func (p *Producer) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	if len(recs) == 0 {
		return nil
	}
	n := len(p.lanes)
	counts := make([]int, n)
	var lanes []uint8
	if n == 1 {
		counts[0] = len(recs)
	} else {
		lanes = make([]uint8, len(recs))
		for i := range recs {
			l := laneOf(recs[i].Key(), n)
			lanes[i] = uint8(l)
			counts[l]++
		}
	}
	batches := make([]laneBatch, 0, n)
	for l, c := range counts {
		if c > 0 {
			mem := p.lanes[l].getMem()
			mem.msgs = grown(mem.msgs, c)
			batches = append(batches, laneBatch{lane: l, msgs: mem.msgs, count: c, mem: mem})
		}
	}
	if len(batches) > 1 && len(recs) >= parallelEncodeMin && !p.serialEncode {
		// JSON encoding is the costliest step left in the caller: spread it over the cores.
		var wg sync.WaitGroup
		for i := 1; i < len(batches); i++ {
			wg.Go(func() { p.encode(recs, lanes, &batches[i]) })
		}
		p.encode(recs, lanes, &batches[0])
		wg.Wait()
	} else {
		for i := range batches {
			p.encode(recs, lanes, &batches[i])
		}
	}
	return p.enqueue(ctx, batches)
}

// parallelEncodeMin is the smallest write whose lanes are encoded in parallel.
const parallelEncodeMin = 256

// encode encodes the records of recs whose lane is b.lane (all of them when lanes is nil)
// into b, in one buffer that the messages alias.
func (p *Producer) encode(recs []flowlog.Record, lanes []uint8, b *laneBatch) {
	count := b.count
	avg := int(p.avgSize.Load())
	buf := grown(b.mem.buf, count*avg+count*avg/8+512)
	ids := p.newIDs(count, b.mem)
	msgs := b.msgs[:0]
	for i := range recs {
		if lanes != nil && int(lanes[i]) != b.lane {
			continue
		}
		r := &recs[i]
		start := len(buf)
		buf = flowlog.AppendJSON(buf, r)
		kstart := len(buf)
		buf = append(buf, r.Key()...)
		topic, kind := p.cfg.Topics.VPC, kindVPC
		if r.Kind == flowlog.KindTGW {
			topic, kind = p.cfg.Topics.TGW, kindTGW
		}
		m := kafkago.Message{Topic: topic, Headers: ids.next(kind), Partition: laneHint(b.lane)}
		// Only lengths for now: buf may still move while it grows.
		m.Value = buf[start:kstart:kstart]
		m.Key = buf[kstart:len(buf):len(buf)]
		msgs = append(msgs, m)
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
	if len(msgs) > 0 {
		p.avgSize.Store(int64(len(buf)/len(msgs)) + 1)
	}
	b.msgs, b.bytes = msgs, int64(len(buf))
	b.mem.buf, b.mem.msgs, b.mem.hdrs, b.mem.ids = buf, msgs, ids.hdrs, ids.ids
}

// idBlock hands out the headers of count messages: their kind and a HeaderID each, from
// one block of sequence numbers and two allocations.
type idBlock struct {
	instance [8]byte
	ids      []byte
	hdrs     []kafkago.Header
	seq      uint64
}

// newIDs returns the headers of count messages, in mem's memory when not nil. The room is
// made up front: the messages keep slices of it.
func (p *Producer) newIDs(count int, mem *encodeMem) *idBlock {
	b := &idBlock{instance: p.ids.instance, seq: p.ids.reserve(count)}
	if mem == nil {
		mem = &encodeMem{}
	}
	b.ids, b.hdrs = grown(mem.ids, count*idLen), grown(mem.hdrs, 2*count)
	return b
}

// next returns the headers of the next message: kind and a fresh HeaderID.
func (b *idBlock) next(kind []byte) []kafkago.Header {
	start := len(b.ids)
	b.ids = append(b.ids, b.instance[:]...)
	b.ids = binary.BigEndian.AppendUint64(b.ids, b.seq)
	b.seq++
	h := len(b.hdrs)
	b.hdrs = append(b.hdrs, kafkago.Header{Key: HeaderKind, Value: kind},
		kafkago.Header{Key: HeaderID, Value: b.ids[start:len(b.ids):len(b.ids)]})
	return b.hdrs[h : h+2 : h+2]
}

// VPN event kinds for WriteVPN's kind (the flowtap-kind header value).
const (
	KindVPNTunnel = sinks.EventVPNTunnel
	KindVPNBGP    = sinks.EventVPNBGP
	KindClientVPN = sinks.EventClientVPN
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
	if len(key) == 0 {
		key = nil
	}
	buf = append(buf, kind...)
	kindValue := buf[len(stream):len(buf):len(buf)]
	ids := p.newIDs(len(events), nil)
	msgs := make([]kafkago.Message, len(events))
	var bytes int64
	for i, e := range events {
		start := len(buf)
		buf = append(buf, e...)
		msgs[i] = kafkago.Message{Topic: p.cfg.Topics.VPN, Key: key, Headers: ids.next(kindValue), Value: buf[start:len(buf):len(buf)]}
		bytes += int64(len(e) + len(stream))
	}
	return p.enqueue(ctx, []laneBatch{{lane: laneOf(stream, len(p.lanes)), msgs: msgs, bytes: bytes}})
}

// enqueue hands each lane its messages. The call's BlockTimeout is shared by all its lanes.
func (p *Producer) enqueue(ctx context.Context, batches []laneBatch) error {
	if err := p.openSpills(); err != nil {
		p.log.Debug("spill unavailable", "err", err) // counted when a lane needs it
	}
	var w blockWait
	defer w.stop()
	var errs []error
	for _, b := range batches {
		if err := p.lanes[b.lane].enqueue(ctx, b, &w); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// blockWait is one write call's BlockTimeout, started when a lane first has to wait.
type blockWait struct {
	timer   *time.Timer
	expired bool
}

func (w *blockWait) c(d time.Duration) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	}
	return w.timer.C
}

func (w *blockWait) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// dropOversized removes messages that no produce request could carry, counting them, and
// returns the rest with their bytes.
func (p *Producer) dropOversized(msgs []kafkago.Message, bytes int64) ([]kafkago.Message, int64) {
	limit := int(min(p.cfg.BatchBytes, MaxMessageBytes)) - 256
	out := msgs[:0]
	for _, m := range msgs {
		if len(m.Key)+len(m.Value) > limit {
			p.m.dropped.WithLabelValues("too_large").Inc()
			p.log.Error("message larger than a broker takes dropped", "topic", m.Topic, "key", string(m.Key), "bytes", len(m.Value))
			bytes -= int64(len(m.Key) + len(m.Value))
			continue
		}
		out = append(out, m)
	}
	return out, max(bytes, 0)
}

// Run sends until ctx ends, then keeps sending (the memory queues, and the spills, oldest
// first) for up to DrainTimeout and spills the rest.
// Spills of an earlier lane layout are sent before any lane starts.
func (p *Producer) Run(ctx context.Context) error {
	defer close(p.done)
	if err := p.openSpills(); err != nil {
		for _, l := range p.lanes {
			l.close()
		}
		return fmt.Errorf("kafka: producer: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.sendOlder(ctx) })
	for _, l := range p.lanes {
		wg.Go(func() { l.run(ctx) })
	}
	wg.Wait()
	p.sender.close()
	set := p.spills.Load()
	if r, _ := set.Depth(); r > 0 {
		p.log.Info("producer stopped with messages in the spill; they are sent on the next start", "records", r)
	}
	if err := set.Close(); err != nil {
		p.log.Error("spill close", "err", err)
	}
	return nil
}

// sendOlder sends the spills of an earlier lane layout, oldest first, then lets the lanes go.
func (p *Producer) sendOlder(ctx context.Context) {
	defer close(p.olderExit)
	set := p.spills.Load()
	older := set.Older()
	if len(older) > 0 {
		p.log.Info("spill of an earlier lane layout found; sending it before anything newer", "queues", len(older))
	}
	failures := 0
	for _, q := range older {
		for q.Len() > 0 {
			if ctx.Err() != nil {
				return
			}
			if p.sendHead(q) {
				failures = 0
			} else {
				failures++
				p.backoff(ctx, failures)
			}
		}
	}
	if len(older) > 0 {
		if err := set.RemoveOlder(); err != nil {
			p.log.Warn("drained spill not removed", "err", err)
		}
	}
	close(p.olderDone)
}

// sendHead sends the oldest segment of q; it reports false when Kafka or the spill failed.
func (p *Producer) sendHead(q *spill.Queue) bool {
	id, smsgs, corrupt, ok, err := q.Head()
	if err != nil {
		p.log.Error("spill read failed", "err", err)
		return false
	}
	if corrupt > 0 {
		p.m.dropped.WithLabelValues("spill_corrupt").Add(float64(corrupt))
		p.log.Error("corrupt record in spill segment; the rest of the segment is lost", "segment", id)
	}
	if !ok {
		return true
	}
	msgs := fromSpill(smsgs)
	// At most SendChunk messages per call, as from memory: the copies that a call answered
	// with an error after the broker stored it leaves in a partition stay within the
	// runner's DedupeWindow of their first copies.
	if failed, _ := p.dead.SendPieces(msgs, p.cfg.SendChunk); len(failed) > 0 {
		if err := q.Replace(id, toSpill(failed)); err != nil {
			p.log.Error("spill rewrite failed", "err", err)
		}
		p.updateSpill()
		return false
	}
	if err := q.Remove(id); err != nil {
		p.log.Error("spill remove failed", "err", err)
		return false
	}
	p.updateSpill()
	return true
}

// send produces msgs and returns those that failed (nil on success).
func (p *Producer) send(msgs []kafkago.Message) []kafkago.Message {
	failed, _ := p.sendErr(msgs)
	return failed
}

// sendErr is send that also returns the client's error, for DeadLetter.Settle to judge.
func (p *Producer) sendErr(msgs []kafkago.Message) ([]kafkago.Message, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.WriteTimeout)
	defer cancel()
	start := time.Now()
	err := p.sender.write(ctx, msgs)
	p.m.latency.Observe(time.Since(start).Seconds())
	if err == nil {
		p.count(msgs)
		return nil, nil
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
		return failed, err
	}
	p.log.Warn("produce failed", "records", len(msgs), "err", err)
	out := make([]kafkago.Message, len(msgs))
	copy(out, msgs)
	return out, err
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

// Done is closed when Run has returned.
func (p *Producer) Done() <-chan struct{} { return p.done }

// SpillDepth reports the records and bytes waiting in the disk spill.
func (p *Producer) SpillDepth() (records, bytes int64) {
	if set := p.spills.Load(); set != nil {
		return set.Depth()
	}
	return 0, 0
}

// Stats is a snapshot of the producer's counters (also exported as Prometheus metrics).
type Stats struct {
	Produced, Spilled, Dropped, Errors int64
	DeadLettered                       int64 // moved to the dead-letter file: never producible
}

// Stats returns the producer's counters.
func (p *Producer) Stats() Stats {
	return Stats{
		Produced: int64(counterValue(p.m.records)),
		Spilled:  int64(counterValue(p.m.spilled)),
		Dropped:  int64(counterVecSum(p.m.dropped)),
		Errors:   int64(counterValue(p.m.errors)),

		DeadLettered: int64(counterVecSum(p.m.deadLettered)),
	}
}
