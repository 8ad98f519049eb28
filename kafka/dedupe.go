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
	// index finds the slots holding an id. Allocated with the first message that has an id.
	ids   [][idLen]byte
	set   []bool
	index idIndex
	// warmed keeps warm's loads from being optimised away.
	warmed uint64
}

// idIndex finds the window's slots that hold an id: an open-addressed table with linear
// probing, at most half full, of 8-byte entries (the id's 32-bit hash and its slot + 1;
// 0 is free). Entries this small keep the table at 8 bytes per slot of the window (1 MiB
// for the default window), so that the two probes per message (the new id, the id leaving
// the window) miss the cache less; ids are compared only when their hashes match. The ids
// are random names and sequence numbers, so a multiply-mix of their halves hashes them well.
type idIndex struct {
	slots []uint64
	mask  uint32
}

func newIDIndex(window int64) idIndex {
	size := uint64(64)
	for int64(size) < 2*window {
		size *= 2
	}
	return idIndex{slots: make([]uint64, size), mask: uint32(size - 1)}
}

// idHash is the 32-bit hash of an id; its low bits are its home in the index.
func idHash(id *[idLen]byte) uint32 {
	lo, hi := binary.LittleEndian.Uint64(id[:8]), binary.LittleEndian.Uint64(id[8:])
	return uint32(mix64(lo ^ hi*0x9e3779b97f4a7c15))
}

// mix64 spreads x over 64 bits (splitmix64's finaliser).
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// add indexes id at slot of ids and reports whether another slot already holds it.
func (x *idIndex) add(ids [][idLen]byte, slot int64, id *[idLen]byte) bool {
	h := idHash(id)
	held := false
	i := h & x.mask
	for ; x.slots[i] != 0; i = (i + 1) & x.mask {
		if e := x.slots[i]; uint32(e>>32) == h && ids[uint32(e)-1] == *id {
			held = true
		}
	}
	x.slots[i] = uint64(h)<<32 | uint64(slot+1)
	return held
}

// remove drops the entry of slot, which holds id; the entries after it in its probe run
// move back so that every entry stays reachable from its home.
func (x *idIndex) remove(slot int64, id *[idLen]byte) {
	h := idHash(id)
	e := uint64(h)<<32 | uint64(slot+1)
	i := h & x.mask
	for x.slots[i] != e {
		i = (i + 1) & x.mask
	}
	for j := (i + 1) & x.mask; x.slots[j] != 0; j = (j + 1) & x.mask {
		home := uint32(x.slots[j]>>32) & x.mask
		// The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
}

func (x *idIndex) clear() { clear(x.slots) }

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
		d.ids, d.set, d.index = make([][idLen]byte, d.window), make([]bool, d.window), newIDIndex(d.window)
	}
	slot := off % d.window // free: advance dropped offset off−window
	d.ids[slot], d.set[slot] = id, true
	return d.index.add(d.ids, slot, &id)
}

// warm loads the index entries that observing msgs (the next messages, in offset order)
// will probe: each one's id's home and the home of the id its offset pushes out of the
// window. The loads are independent of each other, so the processor overlaps their cache
// misses, where observe's probes, one message after the other, each wait for theirs.
func (d *dedupe) warm(msgs []kafkago.Message) {
	if d == nil || d.ids == nil {
		return
	}
	var sum uint64
	for i := range msgs {
		if id, ok := messageID(msgs[i].Headers); ok {
			sum += d.index.slots[idHash(&id)&d.index.mask]
		}
		if slot := msgs[i].Offset % d.window; msgs[i].Offset >= 0 && d.set[slot] {
			sum += d.index.slots[idHash(&d.ids[slot])&d.index.mask]
		}
	}
	d.warmed += sum
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
		d.index.clear()
		return
	}
	for x := max(lo, 0); x <= hi; x++ {
		slot := x % d.window
		if !d.set[slot] {
			continue
		}
		d.set[slot] = false
		d.index.remove(slot, &d.ids[slot])
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
