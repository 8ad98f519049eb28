package kafka

import (
	kafkago "github.com/segmentio/kafka-go"
)

// dedupe recognises, in one partition, the copies that a producer's re-send leaves: when a
// produce call is answered with an error (or not at all) after the broker stored it, the
// producer sends those messages again. Every message the Producer writes carries a
// HeaderID; a message is a copy when a message with the same HeaderID is among the window−1
// offsets before it in the partition. The first copy is always kept.
//
// The rule depends only on the partition's content, never on where a runner started or how
// it cut its batches: a runner that starts at offset o first reads [o−window, o) into the
// window (readPartition), so a batch re-formed after a crash, or by another runner after a
// rebalance, drops exactly the same messages.
//
// The window must reach back over one produce call of every producer writing to the
// partition at the time: a call carries at most SendChunk (16 384) messages, so the default
// (65 536) covers four at once. A copy further back is kept: a duplicate, never a loss.
type dedupe struct {
	window int64
	last   int64 // the last offset observed; -1 before the first
	// ids holds the HeaderID of offset x at x % window (set says which slots hold one);
	// count counts each id held. Allocated with the first message that has an id.
	ids   [][idLen]byte
	set   []bool
	count map[[idLen]byte]int32
}

// DefaultDedupeWindow is RunnerConfig.DedupeWindow's default.
const DefaultDedupeWindow = 1 << 16

// newDedupe returns a dedupe over window offsets; nil (nothing is a copy) when window ≤ 0.
func newDedupe(window int64) *dedupe {
	if window <= 0 {
		return nil
	}
	return &dedupe{window: window, last: -1}
}

// observe adds the message at offset off (offsets only grow) to the window and reports
// whether it is a copy of one already there.
func (d *dedupe) observe(off int64, headers []kafkago.Header) bool {
	if d == nil {
		return false
	}
	d.advance(off)
	d.last = off
	id, ok := messageID(headers)
	if !ok {
		return false
	}
	if d.ids == nil {
		d.ids, d.set, d.count = make([][idLen]byte, d.window), make([]bool, d.window), map[[idLen]byte]int32{}
	}
	copied := d.count[id] > 0
	slot := off % d.window // free: advance dropped offset off−window
	d.ids[slot], d.set[slot] = id, true
	d.count[id]++
	return copied
}

// advance drops the ids of offsets ≤ off−window, the ones a message at off is not compared with.
func (d *dedupe) advance(off int64) {
	if d.last < 0 || d.ids == nil {
		return
	}
	lo, hi := d.last-d.window+1, off-d.window // held from lo; drop through hi
	if hi < lo {
		return
	}
	if hi-lo+1 >= d.window {
		clear(d.set)
		clear(d.count)
		return
	}
	for x := max(lo, 0); x <= hi; x++ {
		slot := x % d.window
		if !d.set[slot] {
			continue
		}
		d.set[slot] = false
		id := d.ids[slot]
		if n := d.count[id] - 1; n > 0 {
			d.count[id] = n
		} else {
			delete(d.count, id)
		}
	}
}

// messageID returns a message's HeaderID value, if it has a well-formed one.
func messageID(headers []kafkago.Header) (id [idLen]byte, ok bool) {
	for _, h := range headers {
		if h.Key == HeaderID && len(h.Value) == idLen {
			return [idLen]byte(h.Value), true
		}
	}
	return id, false
}
