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
//
// How the window is kept: the rule needs, for a message at off, only the latest offset
// before it that carried its id, and whether that is above off−window. The offsets are cut
// into epochs of window offsets ([k·window, (k+1)·window)); a message in epoch k is
// compared with offsets in epochs k−1 and k only, so the window is two epochs of ids, and
// the one two back is dropped whole when an epoch begins rather than one id per message.
// Every id of the current epoch came within the window; one of the epoch before did when
// its offset is above off−window.
//
// An epoch keeps its ids by producer instance in blocks of blockLen consecutive sequence
// numbers, each slot holding the offset in the epoch (+1; 0: none) of the last message
// with that number. A producer numbers a call's messages consecutively, so a partition's
// messages go through one block after the other: a message costs a compare with the last
// block used and a load and a store in it, where an index of the window's ids costs two
// cache misses (an insert, and the removal of the id leaving the window). Ids that fill
// blocks thinly (a Firehose request's records, numbered together and spread over the
// partitions, or random ones) would take more memory in blocks than one at a time: when
// an epoch needs more than maxBlocks, the partition's window moves to an idWindow, which
// keeps the ids one at a time, until an epoch's ids fit in blocks again. The decisions
// are the same either way (TestDedupeMatchesReference, FuzzDedupe).
type dedupe struct {
	window int64
	last   int64 // the last offset observed; -1 before the first
	epoch  int64 // the epoch of the last message with an id: cur's
	start  int64 // its first offset, epoch·window
	// cur holds the ids of epoch, prev those of epoch−1 (empty when none came in it).
	cur, prev *blockEpoch
	// key's blocks in cur and prev (nil: none), valid while found is set.
	key             blockKey
	found           bool
	curBlk, prevBlk *seqBlock
	maxBlocks       int
	// exact, when set, keeps the window instead of the blocks.
	exact *idWindow
	// changes counts, in exact mode, the current epoch's id messages whose block is not the
	// one of the id message before (key): a bound on the blocks the epoch would take.
	changes int
	// warmed keeps warm's loads from being optimised away.
	warmed uint64
}

// blockLen is how many consecutive sequence numbers of a producer instance share a block.
const blockLen = 32

// blockKey names a block: the producer instance (an id's first 8 bytes) and its sequence
// numbers / blockLen.
type blockKey struct {
	instance [8]byte
	block    uint64
}

// seqBlock holds, for every sequence number of its block, the offset in the epoch + 1 of
// the last message that carried it (0: none).
type seqBlock struct {
	key  blockKey
	offs [blockLen]uint32
}

// blockEpoch is the ids of one epoch: its blocks, and an open-addressed table (linear
// probing, at most half full) of their indexes + 1 (0: free) to find them by key.
type blockEpoch struct {
	blocks []seqBlock
	slots  []int32
}

// DefaultDedupeWindow is RunnerConfig.DedupeWindow's default.
const DefaultDedupeWindow = 1 << 16

// maxDedupeWindow bounds the window so that an offset in an epoch fits a block's slot; an
// idWindow that large would take over 100 GiB.
const maxDedupeWindow = 1<<32 - 2

// newDedupe returns a dedupe over window offsets; nil (nothing is a copy) when window ≤ 0.
func newDedupe(window int64) *dedupe {
	if window <= 0 {
		return nil
	}
	window = min(window, maxDedupeWindow)
	// A block to every 16 messages at most (a producer's calls to the partition some 32
	// long or more): two epochs' blocks take at most 20 bytes an offset of the window, where
	// an idWindow takes 33.
	maxBlocks := int(max(window/16, 64))
	return &dedupe{window: window, last: -1, epoch: -2, start: -2 * window, maxBlocks: maxBlocks,
		cur: &blockEpoch{}, prev: &blockEpoch{}}
}

// observe adds the message at offset off to the window and reports whether it is a copy of
// one already there. Offsets only grow: a message at an offset not above the last one
// (never from the fetch path, which reads forward) is not a copy and not added.
func (d *dedupe) observe(off int64, headers []kafkago.Header) bool {
	if d == nil || off <= d.last {
		return false
	}
	id, ok := messageID(headers)
	if d.exact != nil && off >= d.start+d.window {
		d.exactEpoch(off)
	}
	if d.exact != nil {
		if key := keyOf(&id); ok && key != d.key {
			d.key = key
			d.changes++
		}
		d.last = off
		return d.exact.observeID(off, id, ok)
	}
	if !ok {
		d.last = off
		return false
	}
	if off >= d.start+d.window {
		d.turn(off / d.window)
	}
	seq := binary.BigEndian.Uint64(id[8:])
	if key := keyOf(&id); !d.found || key != d.key {
		if !d.find(key) {
			d.toExact(off)
			d.last = off
			return d.exact.observeID(off, id, true)
		}
	}
	d.last = off
	i, here := seq%blockLen, uint32(off-d.start)+1
	b := &d.curBlk.offs[i]
	copied := *b != 0 // every earlier id of the epoch is within the window
	*b = here
	if copied || d.prevBlk == nil {
		return copied
	}
	// The epoch before's offset before−1 + (epoch−1)·window is above off−window.
	before := d.prevBlk.offs[i]
	return before != 0 && int64(before)-1 > off-d.start
}

// warm loads the ids of msgs (the next messages, in offset order), the first bytes of
// each message that the sink reads, so that their cache misses overlap where observe's,
// one message after the other, would each wait for theirs; in exact mode also what
// observing them will probe in the idWindow (idWindow.warm). Blocks need no warming.
func (d *dedupe) warm(msgs []kafkago.Message) {
	if d == nil {
		return
	}
	if d.exact != nil {
		d.exact.warm(msgs)
		return
	}
	var sum byte
	for i := range msgs {
		if id, ok := messageID(msgs[i].Headers); ok {
			sum += id[idLen-1]
		}
	}
	d.warmed += uint64(sum)
}

// turn makes e, an epoch after the last one, the current one, dropping the epochs before e−1.
func (d *dedupe) turn(e int64) {
	d.prev.reset()
	if e == d.epoch+1 {
		d.cur, d.prev = d.prev, d.cur
	} else {
		d.cur.reset()
	}
	d.epoch, d.start, d.found = e, e*d.window, false
}

// find sets key's blocks in the current epoch and the one before, making the current
// epoch's; false when the epoch has maxBlocks already.
func (d *dedupe) find(key blockKey) bool {
	h := blockHash(key)
	d.prevBlk = d.prev.find(key, h)
	if d.curBlk = d.cur.find(key, h); d.curBlk == nil {
		if len(d.cur.blocks) >= d.maxBlocks {
			return false
		}
		d.curBlk = d.cur.add(key, h, d.maxBlocks)
	}
	d.key, d.found = key, true
	return true
}

// toExact moves the window, as it stands before the message at off, to an idWindow.
func (d *dedupe) toExact(off int64) {
	x := newIDWindow(d.window)
	x.last = d.last
	x.ids, x.set, x.index = make([][idLen]byte, d.window), make([]bool, d.window), newIDIndex(d.window)
	for k, ep := range []*blockEpoch{d.prev, d.cur} {
		start := (d.epoch - 1 + int64(k)) * d.window
		for bi := range ep.blocks {
			b := &ep.blocks[bi]
			for i, v := range b.offs {
				if o := start + int64(v) - 1; v != 0 && o > off-d.window {
					slot := o % d.window
					copy(x.ids[slot][:8], b.key.instance[:])
					binary.BigEndian.PutUint64(x.ids[slot][8:], b.key.block*blockLen+uint64(i))
					x.set[slot] = true
					x.index.add(x.ids, slot, &x.ids[slot])
				}
			}
		}
	}
	// The blocks' memory goes: the idWindow takes what both epochs' did, and more.
	d.exact, d.cur, d.prev, d.curBlk, d.prevBlk, d.found = x, &blockEpoch{}, &blockEpoch{}, nil, nil, false
	d.changes = d.maxBlocks // this epoch did not fit
}

// exactEpoch starts, in exact mode, the epoch of off: back in blocks when the epoch before
// went through few enough of them (its id messages changed block fewer than maxBlocks/2
// times), else still in the idWindow.
func (d *dedupe) exactEpoch(off int64) {
	e, x := off/d.window, d.exact
	fits := d.changes < d.maxBlocks/2
	d.epoch, d.start, d.changes, d.found = e, e*d.window, 0, false
	if !fits {
		return
	}
	// Only epoch e−1 is compared with from e on: the latest offset of each of its ids, all
	// of which the idWindow holds (they are above x.last−window); none when x.last is
	// before it.
	for o := d.start - d.window; o <= x.last; o++ {
		slot := o % d.window
		if x.ids == nil || !x.set[slot] {
			continue
		}
		id := &x.ids[slot]
		key := keyOf(id)
		b := d.prev.find(key, blockHash(key))
		if b == nil {
			if len(d.prev.blocks) >= d.maxBlocks {
				d.prev.reset()
				return // it did not fit after all: stay
			}
			b = d.prev.add(key, blockHash(key), d.maxBlocks)
		}
		b.offs[binary.BigEndian.Uint64(id[8:])%blockLen] = uint32(o-(d.start-d.window)) + 1
	}
	d.exact = nil
}

// keyOf returns the key of id's block.
func keyOf(id *[idLen]byte) blockKey {
	return blockKey{[8]byte(id[:8]), binary.BigEndian.Uint64(id[8:]) / blockLen}
}

// blockHash is the hash of a block's key; its low bits are its home in an epoch's table.
func blockHash(key blockKey) uint32 {
	return uint32(mix64(binary.LittleEndian.Uint64(key.instance[:]) ^ key.block*0x9e3779b97f4a7c15))
}

// find returns the block of key (hash h), nil when the epoch has none.
func (ep *blockEpoch) find(key blockKey, h uint32) *seqBlock {
	if len(ep.blocks) == 0 {
		return nil
	}
	mask := uint32(len(ep.slots) - 1)
	for i := h & mask; ep.slots[i] != 0; i = (i + 1) & mask {
		if b := &ep.blocks[ep.slots[i]-1]; b.key == key {
			return b
		}
	}
	return nil
}

// add makes the block of key (hash h), which the epoch has not; the table is made for
// maxBlocks with its first block.
func (ep *blockEpoch) add(key blockKey, h uint32, maxBlocks int) *seqBlock {
	if ep.slots == nil {
		size := 64
		for size < 2*maxBlocks {
			size *= 2
		}
		ep.slots = make([]int32, size)
	}
	mask := uint32(len(ep.slots) - 1)
	i := h & mask
	for ep.slots[i] != 0 {
		i = (i + 1) & mask
	}
	if len(ep.blocks) == cap(ep.blocks) { // grown by hand: append's growth would pass maxBlocks
		grown := make([]seqBlock, len(ep.blocks), min(max(cap(ep.blocks)*3/2, 64), maxBlocks))
		copy(grown, ep.blocks)
		ep.blocks = grown
	}
	ep.blocks = append(ep.blocks, seqBlock{key: key})
	ep.slots[i] = int32(len(ep.blocks))
	return &ep.blocks[len(ep.blocks)-1]
}

// reset empties the epoch, keeping its memory.
func (ep *blockEpoch) reset() {
	if len(ep.blocks) > 0 {
		ep.blocks = ep.blocks[:0]
		clear(ep.slots)
	}
}

// idWindow is the window kept one id at a time: the HeaderID of every offset of the window
// in a ring, and an index of them. dedupe moves to it when the ids fill blocks too thinly;
// tests use it as the model of dedupe's decisions.
type idWindow struct {
	window int64
	last   int64 // the last offset observed; -1 before the first
	// ids holds the HeaderID of offset x at x % window (set says which slots hold one);
	// index finds the slots holding an id. Allocated with the first message that has an id.
	ids   [][idLen]byte
	set   []bool
	index idIndex
	// changes counts, in exact mode, the current epoch's id messages whose block is not the
	// one of the id message before (key): a bound on the blocks the epoch would take.
	changes int
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

func newIDWindow(window int64) *idWindow { return &idWindow{window: window, last: -1} }

// observe adds the message at offset off (offsets only grow) to the window and reports
// whether it is a copy of one already there.
func (d *idWindow) observe(off int64, headers []kafkago.Header) bool {
	id, ok := messageID(headers)
	return d.observeID(off, id, ok)
}

// observeID is observe of a message whose id messageID read (ok: it has one).
func (d *idWindow) observeID(off int64, id [idLen]byte, ok bool) bool {
	d.advance(off)
	d.last = off
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
func (d *idWindow) warm(msgs []kafkago.Message) {
	if d.ids == nil {
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
func (d *idWindow) advance(off int64) {
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
