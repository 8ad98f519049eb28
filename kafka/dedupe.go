package kafka

import (
	"encoding/binary"

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
	count idCounts
}

// idCounts counts ids: an open-addressed table with linear probing, at most half full.
// The ids are random names and sequence numbers, so a multiply-mix of their halves is a
// good hash, far cheaper than a Go map's (the lookup is on the path of every message).
type idCounts struct {
	slots []idSlot
	mask  uint64
}

type idSlot struct {
	id [idLen]byte
	n  int32 // 0: free
}

func newIDCounts(window int64) idCounts {
	size := uint64(64)
	for int64(size) < 2*window {
		size *= 2
	}
	return idCounts{slots: make([]idSlot, size), mask: size - 1}
}

func (c *idCounts) home(id *[idLen]byte) uint64 {
	lo, hi := binary.LittleEndian.Uint64(id[:8]), binary.LittleEndian.Uint64(id[8:])
	return mix64(lo^hi*0x9e3779b97f4a7c15) & c.mask
}

// mix64 spreads x over 64 bits (splitmix64's finaliser).
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// find returns the slot holding id, or the free slot where it would go.
func (c *idCounts) find(id *[idLen]byte) uint64 {
	for i := c.home(id); ; i = (i + 1) & c.mask {
		if s := &c.slots[i]; s.n == 0 || s.id == *id {
			return i
		}
	}
}

// add counts id once more and reports whether it was already held.
func (c *idCounts) add(id *[idLen]byte) bool {
	s := &c.slots[c.find(id)]
	s.id = *id
	s.n++
	return s.n > 1
}

// remove counts id once less (it must be held), freeing its slot at zero: the entries
// after it in its probe run move back so that every entry stays reachable from its home.
func (c *idCounts) remove(id *[idLen]byte) {
	i := c.find(id)
	if c.slots[i].n--; c.slots[i].n > 0 {
		return
	}
	for j := (i + 1) & c.mask; c.slots[j].n != 0; j = (j + 1) & c.mask {
		h := c.home(&c.slots[j].id)
		// The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			c.slots[i] = c.slots[j]
			i = j
		}
	}
	c.slots[i] = idSlot{}
}

func (c *idCounts) clear() { clear(c.slots) }

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
		d.ids, d.set, d.count = make([][idLen]byte, d.window), make([]bool, d.window), newIDCounts(d.window)
	}
	slot := off % d.window // free: advance dropped offset off−window
	d.ids[slot], d.set[slot] = id, true
	return d.count.add(&id)
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
		d.count.clear()
		return
	}
	for x := max(lo, 0); x <= hi; x++ {
		slot := x % d.window
		if !d.set[slot] {
			continue
		}
		d.set[slot] = false
		d.count.remove(&d.ids[slot])
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
