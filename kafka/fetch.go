package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unsafe"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/kafka/rawbatch"
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

// warmAhead is how many messages the dedupe window's cache lines are loaded for at a time
// (dedupe.warm), few enough that they are still cached when the messages are handled.
const warmAhead = 32

// fetched is one fetch response: its messages in offset order, the next offset to read and
// the partition's high watermark (-1 when unknown).
type fetched struct {
	msgs  []kafkago.Message
	mem   *fetchMem // what msgs point into
	next  int64
	hwm   int64
	bytes int64 // what the response holds of the runner's fetch budget
}

// fetchMem is the memory of one fetch response, reused for a later one once its messages
// are handled: the response as read, the records decompressed from it (keys, values and
// headers of the messages point into the two) and the messages.
type fetchMem struct {
	resp []byte
	dec  rawbatch.Decoder
	msgs []kafkago.Message
}

// decode lays out the records of set from offset on (a batch may start before it) as
// messages of key, and returns the offset after the last whole batch (past records that
// compaction removed, and past transaction markers). A set cut inside a batch, as the
// broker cuts a response at its byte limit, ends with the batch before; a first batch cut
// is an error.
func (m *fetchMem) decode(set []byte, key tp, offset, hwm int64) (next int64, err error) {
	m.dec.Reset()
	m.msgs = m.msgs[:0]
	next = offset
	for whole := 0; len(set) > 0; whole++ {
		b, rest, err := m.dec.Decode(set)
		if errors.Is(err, rawbatch.ErrTruncated) {
			if whole == 0 {
				return next, fmt.Errorf("kafka: fetch at %s/%d offset %d: %w (larger than the response)", key.topic, key.partition, offset, err)
			}
			break
		}
		if err != nil {
			return next, fmt.Errorf("kafka: fetch at %s/%d offset %d: %w", key.topic, key.partition, next, err)
		}
		set = rest
		for i := range b.Records {
			rec := &b.Records[i]
			if rec.Offset < offset {
				continue
			}
			m.msgs = append(m.msgs, kafkago.Message{Topic: key.topic, Partition: key.partition, Offset: rec.Offset,
				HighWaterMark: hwm, Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Time: time.UnixMilli(rec.Time)})
		}
		next = max(next, b.LastOffset+1)
	}
	return next, nil
}

// size is what m holds of the fetch budget.
func (m *fetchMem) size(resp int) int64 {
	return int64(resp + m.dec.Size() + len(m.msgs)*int(unsafe.Sizeof(kafkago.Message{})))
}

// fetchLoop consumes one partition from offset: a reader goroutine (readPartition) fetches
// ahead while this loop hands every message to the batcher in order and tells it where each
// fetch ended against the high watermark. The messages before offset that the reader reads
// first only fill the batcher's dedupe window. It ends with ctx (nil) or the batcher's error.
func (r *Runner) fetchLoop(ctx context.Context, b *batcher, offset int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan fetched, fetchAhead)
	// A response's memory goes back to the reader once its messages are handled.
	spare := make(chan *fetchMem, fetchAhead+2)
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
				if i%warmAhead == 0 {
					b.dedupe.warm(part[i:min(i+warmAhead, len(part))])
				}
				if err := b.handle(ctx, &part[i]); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
			}
		}
		if f.hwm >= 0 {
			lag.Set(float64(max(f.hwm-f.next, 0)))
		}
		if f.mem != nil { // the batch holds what it needs of the messages
			spare <- f.mem // never blocks: it has room for every fetchMem the reader made
		}
		if err := b.fetchEnded(ctx, f.next, f.hwm, time.Now()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// readPartition reads the partition one fetch request at a time (up to FetchMaxBytes,
// waiting up to FetchMaxWait for data) over a kafka-go connection to its leader (rawfetch.go),
// decodes each response's record batches with rawbatch.Decoder into memory reused once the
// batcher handed it back, and sends every response, empty ones too, to out. It starts
// DedupeWindow messages before offset (or at the partition's first) so that the dedupe
// window is full when offset comes. Connection and broker errors reconnect with capped
// backoff. It returns when ctx ends.
func (r *Runner) readPartition(ctx context.Context, key tp, offset int64, out chan<- fetched, spare <-chan *fetchMem) {
	var conn *rawConn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	failures := 0
	made := 0          // fetchMems allocated
	var kept *fetchMem // the memory of a failed fetch, for the next one
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
			c, err := dialRaw(ctx, r.dialer, r.cfg.Brokers[failures%len(r.cfg.Brokers)], key.topic, key.partition)
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
		}
		// A reader fetches only when the budget has room for a response as large as its
		// last one, and counts the response once read: a fetch waiting for data (a live
		// partition's long poll) holds nothing.
		if !r.fetchBudget.awaitRoom(ctx, lastBytes) {
			return
		}
		f := fetched{hwm: -1}
		// Memory for fetchAhead + 2 responses serves the partition (one being read, the
		// ones waiting, one being handled): past that, wait for the batcher to hand one back
		// rather than allocate another (a response grows to some 10 MB, and a new one each
		// time the batcher had not yet handed its last one back churned the garbage
		// collector).
		switch {
		case kept != nil: // the last fetch failed and sent nothing
			f.mem, kept = kept, nil
		case made < fetchAhead+2:
			select {
			case f.mem = <-spare:
			default:
				f.mem = &fetchMem{}
				made++
			}
		default:
			select {
			case f.mem = <-spare:
			case <-ctx.Done():
				return
			}
		}
		hwm, set, err := conn.fetchRaw(&f.mem.resp, offset, r.cfg.FetchMaxBytes, r.cfg.FetchMaxWait)
		next := offset
		if err == nil {
			f.hwm = hwm
			next, err = f.mem.decode(set, key, offset, hwm)
		} else {
			f.mem.dec.Reset()
			f.mem.msgs = f.mem.msgs[:0]
		}
		f.msgs = f.mem.msgs
		f.bytes = f.mem.size(len(set))
		r.fetchBudget.force(f.bytes) // it is in memory already
		lastBytes = max(f.bytes, int64(r.cfg.FetchMaxBytes))
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
			kept = f.mem
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
		offset = next
		f.next = offset
		select {
		case out <- f:
		case <-ctx.Done():
			r.fetchBudget.give(f.bytes)
			return
		}
	}
}
