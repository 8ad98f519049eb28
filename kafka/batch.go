package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/sinks"
)

// partState is one batch of one partition: its range, its decoded records (record topic) or
// events (event topic), and the offset of each, to dead-letter the batch.
type partState struct {
	key        tp
	eventTopic bool
	batch      sinks.Batch   // the batch's range, and its records on a record topic
	events     []sinks.Event // its events on an event topic
	offsets    []int64       // the offset of each record or event
	n          int           // messages in the batch, decoded and dead-lettered ones
	bytes      int64
	started    time.Time // when its first message was fetched
	holding    bool      // counted in Runner.holding
	produced   time.Time // the Kafka timestamp of its first message
	// strs holds the string values of its records: the messages they came from are not
	// kept (a message is several times the size of its strings).
	strs flowlog.Strings
	// dirty holds the groups of fields that records parsed into batch.Records' slots (the
	// whole array, also past its length) may have set: a reused slot is cleared only there.
	dirty flowlog.Groups

	mu    sync.Mutex
	taken int64 // records of the runner's budget this batch holds (one per message)
}

// giveBack returns the batch's records to the runner's budget, once.
func (st *partState) giveBack(b *budget) {
	st.mu.Lock()
	n := st.taken
	st.taken = 0
	st.mu.Unlock()
	b.give(n)
}

// claim counts st among the partitions holding a batch of records, once.
func (r *Runner) claim(st *partState) {
	if !st.holding {
		st.holding = true
		r.holding.Add(1)
	}
}

// release stops counting st among the partitions holding a batch of records.
func (r *Runner) release(st *partState) {
	if st.holding {
		st.holding = false
		r.holding.Add(-1)
	}
}

func (st *partState) reset() {
	st.batch.Records = st.batch.Records[:0]
	clear(st.events) // drop the references to the messages' values
	st.events = st.events[:0]
	st.offsets = st.offsets[:0]
	st.n, st.bytes = 0, 0
	st.strs.Reset()
}

// batcher forms the batches of one partition from its messages in offset order. It cuts a
// batch at MaxRecords or MaxBytes, at MaxAge, when the partition has no more to read after
// a backlog, and exactly where an intent of an earlier run says (see the package doc).
type batcher struct {
	r   *Runner
	key tp
	cur *partState
	// boundary is a batch to re-form exactly, from an earlier run.
	boundary *Intent
	// backlog is set while the partition is being drained from behind (a fetch returned all
	// it could, FetchMaxBytes, and left messages unread, or a batch was cut by size);
	// reaching the high watermark then cuts the batch instead of waiting for its age. A
	// partition read live (every fetch returns all there is) keeps cutting by age and size.
	backlog bool
	hwm     int64 // the partition's high watermark as of the last fetch
	credit  int64 // records taken from the runner's budget, not yet in a batch
	// dedupe drops the copies a producer's re-send left (nil: off).
	dedupe *dedupe
	// cut hands a full batch over to the partition's flusher and returns an empty one.
	cut func(ctx context.Context, st *partState) (*partState, error)
}

func newBatcher(r *Runner, key tp, start int64, cut func(context.Context, *partState) (*partState, error)) *batcher {
	b := &batcher{r: r, key: key, cut: cut, cur: r.newPartState(key), dedupe: newDedupe(r.cfg.DedupeWindow)}
	b.startAt(start)
	return b
}

func (r *Runner) newPartState(key tp) *partState {
	return &partState{key: key, eventTopic: r.eventTopic[key.topic]}
}

// startAt applies the partition's intent, if any, when consumption starts at offset.
func (b *batcher) startAt(offset int64) {
	b.boundary = nil
	in, ok := b.r.intents.get(b.key)
	if !ok || offset > in.Last {
		return
	}
	if offset > in.First {
		b.r.log.Warn("committed offset inside the last intent; re-forming the rest of it", "topic", in.Topic,
			"partition", in.Partition, "offset", offset, "intent_first", in.First, "intent_last", in.Last)
	}
	b.boundary = &in
	b.r.log.Info("re-forming an uncommitted batch", "topic", in.Topic, "partition", in.Partition, "first", in.First, "last", in.Last)
}

func (b *batcher) flush(ctx context.Context) error {
	if b.cur.n == 0 {
		return nil
	}
	b.r.log.Debug("batch cut", "topic", b.key.topic, "partition", b.key.partition, "first", b.cur.batch.FirstOffset,
		"last", b.cur.batch.LastOffset, "records", b.cur.n, "age", time.Since(b.cur.started))
	next, err := b.cut(ctx, b.cur)
	if err != nil {
		return err
	}
	b.cur = next
	return nil
}

func (b *batcher) flushExact(ctx context.Context, in *Intent) error {
	st := b.cur
	if st.batch.FirstOffset != in.First || st.batch.LastOffset != in.Last {
		b.r.log.Warn("re-formed batch differs from its intent (messages deleted?)", "topic", in.Topic, "partition", in.Partition,
			"intent_first", in.First, "intent_last", in.Last, "first", st.batch.FirstOffset, "last", st.batch.LastOffset)
	}
	return b.flush(ctx)
}

// passedIntent ends the intent's batch when the partition went past its range without
// reaching its last offset (the range ended in a gap).
func (b *batcher) passedIntent(ctx context.Context, in *Intent) error {
	b.boundary = nil
	if st := b.cur; st.n > 0 && st.batch.FirstOffset >= in.First {
		return b.flushExact(ctx, in)
	}
	return nil
}

// handle adds one message to the batch, cutting batches where the limits or an intent from
// an earlier run say.
func (b *batcher) handle(ctx context.Context, m *kafkago.Message) error {
	st := b.cur
	if st.n > 0 && m.Offset <= st.batch.LastOffset {
		return fmt.Errorf("kafka: runner: %s/%d went back from offset %d to %d", m.Topic, m.Partition, st.batch.LastOffset, m.Offset)
	}
	if in := b.boundary; in != nil {
		switch {
		case m.Offset > in.Last:
			if err := b.passedIntent(ctx, in); err != nil {
				return err
			}
		case m.Offset >= in.First && st.n > 0 && st.batch.FirstOffset < in.First:
			if err := b.flush(ctx); err != nil { // cut before the intent's first offset
				return err
			}
		}
	}

	if st := b.cur; st.n > 0 && !st.eventTopic && len(st.batch.Records) == cap(st.batch.Records) &&
		(b.boundary == nil || m.Offset < b.boundary.First) {
		// The batch's record slots are full. Up to its share of the decoded-record budget
		// it doubles them; at its share it is cut, rather than grown by append over and
		// over (each growth copies every record, about 1 KB each, and leaves the old
		// array to the garbage collector).
		limit := b.slotLimit()
		if c := cap(st.batch.Records); c >= limit {
			if err := b.flush(ctx); err != nil {
				return err
			}
		} else {
			grown := min(2*c, limit)
			// Capped at what was asked for: Grow rounds up to a size class, and slots past
			// the share would not serve the next batch (a new array would be made).
			st.batch.Records = slices.Grow(st.batch.Records, grown-c)[:c:grown]
		}
	}
	if st := b.cur; st.n == 0 && !st.eventTopic {
		b.r.claim(st)
		// Size the batch once from what is known to be waiting and this partition's share
		// of the decoded-record budget: growing a slice of records by doubling would copy
		// them over and over, and slices sized beyond their share would hold memory the
		// budget does not count (a record slot takes about 1 KB filled or not).
		limit := b.slotLimit()
		want := min(int(max(b.hwm-m.Offset, 1)), limit)
		if in := b.boundary; in != nil && m.Offset >= in.First {
			want = int(max(int64(want), min(in.Last-m.Offset+1, b.credit))) // a re-formed batch, reserved whole
		}
		// The slots of the last batch serve again when they are within the share.
		if c := cap(st.batch.Records); c < want || c > max(limit, want) {
			st.batch.Records = make([]flowlog.Record, 0, want)
			st.dirty = 0
		}
	}
	err := b.r.add(ctx, b.cur, m, b.dedupe)
	b.credit-- // the batch now holds one record of the partition's credit
	if err != nil {
		return err
	}

	if in := b.boundary; in != nil {
		if m.Offset >= in.Last {
			b.boundary = nil
			return b.flushExact(ctx, in)
		}
		if m.Offset >= in.First {
			return nil // inside the intent's range: only its end cuts the batch
		}
	}
	if st := b.cur; st.n >= b.r.cfg.MaxRecords || st.bytes >= b.r.cfg.MaxBytes {
		b.backlog = true
		return b.flush(ctx)
	}
	return nil
}

// slotLimit is how many record slots a batch of the partition may have: its share of the
// decoded-record budget (or the records it already reserved), at most MaxRecords. A share
// is rounded down to a power of two, so that a partition's slots serve batch after batch
// while the number of partitions holding a batch moves (3 or 4 of them, say) instead of
// being allocated anew at every move (10 MB or so each time).
func (b *batcher) slotLimit() int {
	share := int64(b.r.cfg.MaxDecodedRecords) / max(b.r.holding.Load(), 1)
	if share < int64(b.r.cfg.MaxRecords) {
		share = 1 << (bits.Len64(uint64(max(share, 1))) - 1)
	}
	return int(min(int64(b.r.cfg.MaxRecords), max(share, b.credit)))
}

// fetchEnded is told that a fetch ended with next as the next offset to read and hwm as the
// partition's high watermark: it cuts the batch by age, or because the partition has no more
// to read after a backlog or the batch's first message is already older than MaxAge.
func (b *batcher) fetchEnded(ctx context.Context, next, hwm int64, now time.Time) error {
	known := hwm >= 0 // kafka-go reports -1 when the fetch did not say
	lag := max(hwm-next, 0)
	if known && lag > 0 {
		b.backlog = true
	}
	st := b.cur
	if st.n == 0 || b.boundary != nil {
		return nil
	}
	overdue := now.Sub(st.started) >= b.r.cfg.MaxAge
	if known && lag == 0 && (b.backlog || (!st.produced.IsZero() && now.Sub(st.produced) >= b.r.cfg.MaxAge)) {
		b.backlog = false
		overdue = true
	}
	if !overdue {
		return nil
	}
	return b.flush(ctx)
}

// reserve makes sure the partition holds enough of the runner's budget before it decodes
// msgs, the messages of one fetch. When the budget is short (other partitions hold it), a
// partition with a batch in hand cuts it at once: waiting would stall every partition whose
// batch is still being formed, none of which gives records back until it is flushed. Its
// flush then returns records to the budget while the next batch waits for room.
//
// A batch re-formed from an intent cannot be cut short, so a partition whose fetch reaches
// one reserves the whole rest of it at once (budget.takeWhole): partitions that each decoded
// part of theirs and then waited for more would otherwise wait on each other for ever.
// The fetch loop hands it the messages of the intent's range apart from those after it.
func (b *batcher) reserve(ctx context.Context, msgs []kafkago.Message) error {
	n := int64(len(msgs))
	if in := b.boundary; in != nil && n > 0 && msgs[0].Offset > in.Last {
		if err := b.passedIntent(ctx, in); err != nil {
			return err
		}
	}
	in := b.boundary
	if in == nil || n == 0 || msgs[n-1].Offset < in.First {
		need := n - b.credit
		if need <= 0 || b.r.budget.tryTake(need) {
			b.credit += max(need, 0)
			return nil
		}
		if b.cur.n > 0 && b.boundary == nil {
			b.r.log.Debug("decoded-record budget short; cutting the batch", "topic", b.key.topic, "partition", b.key.partition,
				"records", b.cur.n)
			if err := b.flush(ctx); err != nil {
				return err
			}
		}
		// Wait holding nothing more than the batch in hand (none, outside an intent).
		b.r.budget.give(b.credit)
		b.credit = 0
		if !b.r.budget.take(ctx, n, 0) {
			return ctx.Err()
		}
		b.credit = n
		return nil
	}
	// Upper bound of what the partition decodes before the intent's batch is cut: this
	// fetch and every offset of the intent after it.
	n += max(in.Last-msgs[n-1].Offset, 0)
	need := n - b.credit
	if need <= 0 {
		return nil
	}
	if st := b.cur; st.n > 0 && st.batch.FirstOffset < in.First {
		if err := b.flush(ctx); err != nil { // the messages before the intent: cut them now
			return err
		}
	}
	if !b.r.budget.tryTake(need) {
		b.r.log.Info("reserving the decoded-record budget for a re-formed batch", "topic", b.key.topic, "partition", b.key.partition,
			"first", in.First, "last", in.Last, "records", need)
		b.cur.mu.Lock()
		held := b.cur.taken + b.credit
		b.cur.mu.Unlock()
		if !b.r.budget.takeWhole(ctx, need, held) {
			return ctx.Err()
		}
	}
	b.credit += need
	return nil
}

// include makes m part of the batch's range (and takes one record of the partition's credit
// for it) without decoding it.
func (st *partState) include(m *kafkago.Message) {
	if st.n == 0 {
		st.batch.Topic, st.batch.Partition, st.batch.FirstOffset = m.Topic, m.Partition, m.Offset
		st.started, st.produced = time.Now(), m.Time
	}
	st.batch.LastOffset = m.Offset
	st.n++
	st.mu.Lock()
	st.taken++ // from the partition's credit (fetchLoop)
	st.mu.Unlock()
	st.bytes += int64(len(m.Value))
}

// add decodes m into the batch, or sends it to the dead-letter topic when it does not decode,
// unless d finds it a re-sent copy: it is then only in the batch's range (its commit moves
// past it), not in its records.
func (r *Runner) add(ctx context.Context, st *partState, m *kafkago.Message, d *dedupe) error {
	st.include(m)
	if st.eventTopic {
		if d.observe(m.Offset, m.Headers) {
			r.m.duplicates.WithLabelValues(m.Topic).Inc()
			return nil
		}
		ev, err := decodeEvent(m)
		if err != nil {
			return r.deadLetter(ctx, *m, err.Error())
		}
		st.events = append(st.events, ev)
		st.offsets = append(st.offsets, m.Offset)
		return nil
	}
	recs := st.batch.Records
	if cap(recs) > len(recs) {
		recs = recs[:len(recs)+1]
	} else {
		recs = append(recs, flowlog.Record{})
	}
	rec := &recs[len(recs)-1]
	set, err := flowlog.ParseJSONReusing(m.Value, rec, &st.strs, st.dirty)
	st.dirty |= set
	// The copy check comes after the parse: the headers follow the value in the fetched
	// bytes, so the parse has just brought the id's cache line in. A copy is rare.
	if d.observe(m.Offset, m.Headers) {
		st.batch.Records = recs[:len(recs)-1]
		r.m.duplicates.WithLabelValues(m.Topic).Inc()
		return nil
	}
	if err != nil {
		st.batch.Records = recs[:len(recs)-1]
		return r.deadLetter(ctx, *m, err.Error())
	}
	for _, h := range m.Headers {
		if h.Key == HeaderKind {
			switch string(h.Value) { // compared without a copy
			case "vpc":
				rec.Kind = flowlog.KindVPC
			case "tgw":
				rec.Kind = flowlog.KindTGW
			}
			break
		}
	}
	st.batch.Records = recs
	st.offsets = append(st.offsets, m.Offset)
	return nil
}

// decodeEvent reads a VPN topic message: the kind from its flowtap-kind header, the stream
// from its key, the time from the event itself (event_timestamp for Site-to-Site logs,
// connection-last-update-time for Client VPN logs).
func decodeEvent(m *kafkago.Message) (sinks.Event, error) {
	// The message's memory serves the next fetch once handled: the event keeps a copy.
	ev := sinks.Event{Kind: headerValue(m.Headers, HeaderKind), Stream: string(m.Key), Data: bytes.Clone(m.Value),
		Account: headerValue(m.Headers, HeaderAccount), Region: headerValue(m.Headers, HeaderRegion)}
	switch ev.Kind {
	case sinks.EventVPNTunnel:
		t, err := flowlog.ParseTunnelLog(m.Value)
		if err != nil {
			return ev, err
		}
		ev.Time = t.EventTime
	case sinks.EventVPNBGP:
		b, err := flowlog.ParseBGPLog(m.Value)
		if err != nil {
			return ev, err
		}
		ev.Time = b.EventTime
		if ev.Stream == "" {
			ev.Stream = b.ResourceID // the BGP log names its stream
		}
	case sinks.EventClientVPN:
		c, err := flowlog.ParseClientVPNLog(m.Value)
		if err != nil {
			return ev, err
		}
		ev.Time = c.LastUpdateTime
		if ev.Time.IsZero() {
			ev.Time = c.StartTime
		}
		if ev.Time.IsZero() {
			return ev, errors.New("flowlog: client VPN log: no connection-last-update-time or connection-start-time")
		}
	default:
		return ev, fmt.Errorf("kafka: VPN event kind %q (header %s): want %s, %s or %s", ev.Kind, HeaderKind,
			sinks.EventVPNTunnel, sinks.EventVPNBGP, sinks.EventClientVPN)
	}
	return ev, nil
}

// headerValue returns the value of header key ("" when absent).
func headerValue(hs []kafkago.Header, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
