package kafka

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"time"
	"unsafe"

	kafkago "github.com/segmentio/kafka-go"
)

// fetchGrace is how much longer than the broker's wait a fetch may take before the
// connection is considered dead.
const fetchGrace = 10 * time.Second

// fetchAhead is how many fetch responses wait between a partition's reader and its
// batcher besides the one the reader holds: the reader fetches and decompresses the next
// response while the batcher handles one, so the raw messages held stay within
// fetchAhead + 2 responses. A response holds at least one producer batch whatever
// FetchMaxBytes says (the producer's are 4 MiB of JSON before lz4), so each one waiting
// costs some 5 MB per partition; a second one ahead bought no throughput.
const fetchAhead = 0

// fetched is one fetch response: its messages in offset order, the next offset to read and
// the partition's high watermark (-1 when unknown).
type fetched struct {
	msgs  []kafkago.Message
	next  int64
	hwm   int64
	bytes int64 // what the messages hold of the runner's fetch budget
}

// messageBytes is what a fetched message takes in memory, as counted by the fetch budget.
func messageBytes(m *kafkago.Message) int64 {
	n := int64(unsafe.Sizeof(*m) + uintptr(len(m.Key)+len(m.Value)))
	for _, h := range m.Headers {
		n += int64(unsafe.Sizeof(h) + uintptr(len(h.Key)+len(h.Value)))
	}
	return n
}

// fetchLoop consumes one partition from offset: a reader goroutine (readPartition) fetches
// ahead while this loop hands every message to the batcher in order and tells it where each
// fetch ended against the high watermark. The messages before offset that the reader reads
// first only fill the batcher's dedupe window. It ends with ctx (nil) or the batcher's error.
func (r *Runner) fetchLoop(ctx context.Context, b *batcher, offset int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan fetched, fetchAhead)
	// Message slices go back to the reader once handled: a fetch's slice holds thousands
	// of kafka-go Messages (~200 bytes each), allocated anew per fetch otherwise.
	spare := make(chan []kafkago.Message, fetchAhead+1)
	go r.readPartition(ctx, b.key, offset, results, spare)
	lag := r.m.lag.WithLabelValues(b.key.topic, strconv.Itoa(b.key.partition))
	var f fetched
	defer func() { r.fetchBudget.give(f.bytes) }() // a response taken and not handled to its end
	for {
		r.fetchBudget.give(f.bytes)
		f = fetched{}
		select {
		case <-ctx.Done():
			return nil
		case f = <-results:
		}
		b.hwm = f.hwm
		msgs := f.msgs
		for len(msgs) > 0 && msgs[0].Offset < offset {
			b.dedupe.observe(msgs[0].Offset, msgs[0].Headers)
			msgs = msgs[1:]
		}
		for len(msgs) > 0 {
			// The messages of a batch to re-form are reserved apart from those after it.
			part := msgs
			if in := b.boundary; in != nil {
				if i, _ := slices.BinarySearchFunc(msgs, in.Last+1, func(m kafkago.Message, o int64) int { return cmp.Compare(m.Offset, o) }); i > 0 {
					part = msgs[:i]
				}
			}
			msgs = msgs[len(part):]
			if err := b.reserve(ctx, part); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for i := range part {
				if err := b.handle(ctx, &part[i]); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				// The batch holds what it needs of the message: let its value go now
				// rather than with the whole response.
				part[i].Value, part[i].Key, part[i].Headers = nil, nil, nil
			}
		}
		if f.hwm >= 0 {
			lag.Set(float64(max(f.hwm-f.next, 0)))
		}
		clear(f.msgs) // the batch holds what it needs of the values
		select {
		case spare <- f.msgs[:0]:
		default:
		}
		if err := b.fetchEnded(ctx, f.next, f.hwm, time.Now()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// readPartition reads the partition with kafka-go's connection API, one fetch request at a
// time (Conn.ReadBatchWith: up to FetchMaxBytes, waiting up to FetchMaxWait for data), and
// sends every response, empty ones too, to out. It starts DedupeWindow messages before
// offset (or at the partition's first) so that the dedupe window is full when offset comes.
// Connection and broker errors reconnect with capped backoff. It returns when ctx ends.
func (r *Runner) readPartition(ctx context.Context, key tp, offset int64, out chan<- fetched, spare <-chan []kafkago.Message) {
	var conn *kafkago.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	cfg := kafkago.ReadBatchConfig{MinBytes: 1, MaxBytes: r.cfg.FetchMaxBytes, MaxWait: r.cfg.FetchMaxWait}
	failures, lastCount := 0, 16
	lastBytes := int64(r.cfg.FetchMaxBytes)
	primed := false // the first connection starts DedupeWindow back
	fail := func(what string, err error) bool {
		failures++
		if conn != nil {
			conn.Close()
			conn = nil
		}
		r.log.Warn(what, "topic", key.topic, "partition", key.partition, "offset", offset, "attempt", failures, "err", err)
		return sleepCtx(ctx, Backoff(r.cfg.SinkBackoffMin, r.cfg.SinkBackoffMax, failures))
	}
	for ctx.Err() == nil {
		if conn == nil {
			c, err := r.dialer.DialLeader(ctx, "tcp", r.cfg.Brokers[failures%len(r.cfg.Brokers)], key.topic, key.partition)
			if err != nil {
				if !fail("dial partition leader failed; will retry", err) {
					return
				}
				continue
			}
			conn = c
			first, last, err := conn.ReadOffsets()
			if err != nil {
				if !fail("read partition offsets failed; will retry", err) {
					return
				}
				continue
			}
			switch {
			case offset < 0: // no committed offset: the group starts at the beginning
				offset = first
			case offset < first:
				r.log.Warn("committed offset was deleted by retention; skipping to the first offset", "topic", key.topic,
					"partition", key.partition, "offset", offset, "first", first, "skipped", first-offset)
				offset = first
			case offset > last:
				r.log.Warn("committed offset is past the end of the partition", "topic", key.topic,
					"partition", key.partition, "offset", offset, "last", last)
			}
			if !primed {
				primed = true
				if r.cfg.DedupeWindow > 0 {
					offset = max(first, offset-r.cfg.DedupeWindow)
				}
			}
			if _, err := conn.Seek(offset, kafkago.SeekAbsolute); err != nil {
				if !fail("seek failed; will retry", err) {
					return
				}
				continue
			}
		}
		// A reader fetches only when the budget has room for a response as large as its
		// last one, and counts the response once read: a fetch waiting for data (a live
		// partition's long poll) holds nothing.
		if !r.fetchBudget.awaitRoom(ctx, lastBytes) {
			return
		}
		conn.SetReadDeadline(time.Now().Add(r.cfg.FetchMaxWait + fetchGrace))
		batch := conn.ReadBatchWith(cfg)
		// A handled slice, or one sized from the previous response: growing a slice of
		// messages copies them.
		f := fetched{hwm: batch.HighWaterMark()}
		select {
		case f.msgs = <-spare:
		default:
		}
		if cap(f.msgs) < lastCount {
			f.msgs = make([]kafkago.Message, 0, lastCount+lastCount/4)
		}
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			f.msgs = append(f.msgs, m)
			f.bytes += messageBytes(&f.msgs[len(f.msgs)-1])
			offset = m.Offset + 1
		}
		err := batch.Close()
		lastCount = max(len(f.msgs), 16)
		r.fetchBudget.force(f.bytes) // it is in memory already
		lastBytes = max(f.bytes, int64(r.cfg.FetchMaxBytes))
		if errors.Is(err, kafkago.RequestTimedOut) {
			err = nil // nothing arrived within FetchMaxWait: an empty fetch
		}
		if err != nil && len(f.msgs) == 0 {
			r.fetchBudget.give(f.bytes)
			var kerr kafkago.Error
			what := "fetch failed; reconnecting"
			switch {
			case errors.Is(err, kafkago.OffsetOutOfRange):
				// Reconnecting re-reads the partition's offsets and moves to the first one if
				// retention deleted ours.
				what = "offset out of range; re-reading the partition's offsets"
			case errors.As(err, &kerr):
				what = "fetch refused by the broker; reconnecting"
			}
			if !fail(what, err) {
				return
			}
			continue
		}
		if err != nil { // the messages read before the error are good; start again after them
			conn.Close()
			conn = nil
			f.hwm = -1
		} else {
			failures = 0
		}
		f.next = offset
		select {
		case out <- f:
		case <-ctx.Done():
			r.fetchBudget.give(f.bytes)
			return
		}
	}
}
