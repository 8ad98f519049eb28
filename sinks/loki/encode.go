package loki

import (
	"cmp"
	"math/bits"
	"slices"
)

// entries holds the entries of a push as they go on the wire: their Entry messages, each
// with its field tag and length, in blocks of a stream's entries in the order added
// (Write renders a line straight into its stream's block), and refs, which says where
// each is, whose stream's it is and when. A push's request then is its streams' entries
// copied out of the blocks in time order, whole runs at a time, each stream's from a few
// blocks rather than from all over one buffer. Blocks are fixed-size and reused, push
// after push: nothing grows per stream.
type entries struct {
	blocks [][]byte // in use by the push's streams
	free   [][]byte // emptied blocks
	refs   []entryRef
}

// entryBlock is the size of a block.
const entryBlock = 4 << 10

// entryRef is an entry's time, its place (block, offset, length) and the index of its
// stream's next entry in refs.
type entryRef struct {
	sec  int64
	next int32 // -1 for the stream's last
	nsec int32
	blk  int
	off  int
	n    int
}

// pushStream is one label set's entries in a push: a list through entries.refs.
type pushStream struct {
	labels      string
	first, last int   // indexes in refs
	n           int   // entries
	size        int   // encoded bytes of the entries
	block       int   // 1 + the index of the block being filled; 0 for none yet
	sorted      bool  // entries were added in time order (equal times in any order)
	nanos       bool  // some entry's time has nanoseconds
	minSec      int64 // of the entries' times
	maxSec      int64
}

// The push request in protobuf wire format (Loki's push.proto): PushRequest{streams = 1},
// Stream{labels = 1, entries = 2}, Entry{timestamp = 1, line = 2}, and
// google.protobuf.Timestamp{seconds = 1, nanos = 2}; fields at their zero value are left
// out, as the generated encoder does.
const (
	tagStreams   = 1<<3 | 2
	tagLabels    = 1<<3 | 2
	tagEntries   = 2<<3 | 2
	tagTimestamp = 1<<3 | 2
	tagLine      = 2<<3 | 2
	tagSeconds   = 1<<3 | 0
	tagNanos     = 2<<3 | 0
)

// varintLen is the encoded size of v as a protobuf varint.
func varintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// bytesField is the size of a length-delimited field holding n bytes (tag included).
func bytesField(n int) int { return 1 + varintLen(uint64(n)) + n }

// timestampLen is the encoded size of the Timestamp message of sec.nsec.
func timestampLen(sec int64, nsec int32) int {
	n := 0
	if sec != 0 {
		n += 1 + varintLen(uint64(sec)) // int64: negative values take ten bytes
	}
	if nsec != 0 {
		n += 1 + varintLen(uint64(int64(nsec)))
	}
	return n
}

// maxEntryHeader bounds appendEntryHeader's output: tags, lengths and the timestamp.
const maxEntryHeader = 1 + 10 + 1 + 1 + (1 + 10 + 1 + 10) + 1 + 10

// appendEntryHeader appends what precedes a line of lineLen bytes at sec.nsec in a
// Stream: the entries field's tag and length, the Timestamp, the line field's tag and
// length (none for an empty line: fields at their zero value are left out).
func appendEntryHeader(b []byte, sec int64, nsec int32, lineLen int) []byte {
	tsLen := timestampLen(sec, nsec)
	n := bytesField(tsLen)
	if lineLen > 0 {
		n += bytesField(lineLen)
	}
	b = append(b, tagEntries)
	b = appendVarint(b, uint64(n))
	b = append(b, tagTimestamp)
	b = appendVarint(b, uint64(tsLen))
	if sec != 0 {
		b = append(b, tagSeconds)
		b = appendVarint(b, uint64(sec))
	}
	if nsec != 0 {
		b = append(b, tagNanos)
		b = appendVarint(b, uint64(int64(nsec)))
	}
	if lineLen > 0 {
		b = append(b, tagLine)
		b = appendVarint(b, uint64(lineLen))
	}
	return b
}

// reset empties es for the next push, keeping its blocks.
func (es *entries) reset() {
	for _, b := range es.blocks {
		es.free = append(es.free, b[:0])
	}
	clear(es.blocks)
	es.blocks, es.refs = es.blocks[:0], es.refs[:0]
}

// room returns st's block with need bytes free, taking a new one if needed.
func (es *entries) room(st *pushStream, need int) int {
	if k := st.block - 1; k >= 0 && cap(es.blocks[k])-len(es.blocks[k]) >= need {
		return k
	}
	var b []byte
	if n := len(es.free); n > 0 && cap(es.free[n-1]) >= need {
		b, es.free = es.free[n-1], es.free[:n-1]
	} else {
		b = make([]byte, 0, max(entryBlock, need))
	}
	es.blocks = append(es.blocks, b)
	st.block = len(es.blocks)
	return st.block - 1
}

// lineRoom reserves the header of an entry of st at sec.nsec whose line the caller renders
// next, straight into es.blocks[k] (appending, lineMax bytes fit): it returns the block and
// where in it the entry starts and the line goes. The header is sized for a line under
// about 100 bytes; commit moves a longer line.
func (es *entries) lineRoom(st *pushStream, sec int64, nsec int32, lineMax int) (k, start, at int) {
	hdr := 6 + timestampLen(sec, nsec) // tags, one-byte lengths, timestamp
	k = es.room(st, hdr+lineMax)
	start = len(es.blocks[k])
	at = start + hdr
	es.blocks[k] = es.blocks[k][:at]
	return k, start, at
}

// commit completes the entry of st lineRoom began, the line being es.blocks[k][at:].
func (es *entries) commit(st *pushStream, k, start, at int, sec int64, nsec int32) {
	b := es.blocks[k]
	lineLen := len(b) - at
	var hb [maxEntryHeader]byte
	h := appendEntryHeader(hb[:0], sec, nsec, lineLen)
	if d := start + len(h) - at; d != 0 {
		if d > 0 {
			b = slices.Grow(b, d)
		}
		b = b[:len(b)+d]
		copy(b[at+d:], b[at:at+lineLen])
	}
	copy(b[start:], h)
	es.blocks[k] = b
	es.add(st, k, start, len(b)-start, sec, nsec)
}

// appendLine adds line at sec.nsec to st.
func (es *entries) appendLine(st *pushStream, sec int64, nsec int32, line string) {
	k := es.room(st, maxEntryHeader+len(line))
	b := es.blocks[k]
	start := len(b)
	b = appendEntryHeader(b, sec, nsec, len(line))
	b = append(b, line...)
	es.blocks[k] = b
	es.add(st, k, start, len(b)-start, sec, nsec)
}

// add links the entry of n bytes at es.blocks[k][off:] into st.
func (es *entries) add(st *pushStream, k, off, n int, sec int64, nsec int32) {
	i := len(es.refs)
	es.refs = append(es.refs, entryRef{sec: sec, next: -1, nsec: nsec, blk: k, off: off, n: n})
	if st.n == 0 {
		st.first, st.sorted, st.nanos, st.minSec, st.maxSec = i, true, false, sec, sec
	} else {
		last := &es.refs[st.last]
		if sec < last.sec || sec == last.sec && nsec < last.nsec {
			st.sorted = false
		}
		last.next = int32(i)
		st.minSec, st.maxSec = min(st.minSec, sec), max(st.maxSec, sec)
	}
	if nsec != 0 {
		st.nanos = true
	}
	st.last = i
	st.n++
	st.size += n
}

// len is the encoded size of st's Stream message.
func (st *pushStream) len() int {
	n := st.size
	if st.labels != "" {
		n += bytesField(len(st.labels))
	}
	return n
}

// appendRequest appends the encoded PushRequest of streams to b, each stream's entries in
// time order, entries of equal time in the order added (Loki wants a stream's entries in
// time order). Streams without entries are left out. order is scratch for sorting.
func (es *entries) appendRequest(b []byte, streams []*pushStream, order *timeOrder) []byte {
	size := 0
	for _, st := range streams {
		if st.n > 0 {
			size += bytesField(st.len())
		}
	}
	b = slices.Grow(b, size)
	for _, st := range streams {
		if st.n == 0 {
			continue
		}
		b = append(b, tagStreams)
		b = appendVarint(b, uint64(st.len()))
		if st.labels != "" {
			b = append(b, tagLabels)
			b = appendVarint(b, uint64(len(st.labels)))
			b = append(b, st.labels...)
		}
		run := entryRun{blk: -1}
		if st.sorted {
			for i := st.first; i >= 0; i = int(es.refs[i].next) {
				b = run.add(b, es, i)
			}
		} else {
			for _, i := range order.sort(es, st) {
				b = run.add(b, es, int(i))
			}
		}
		b = run.add(b, es, -1)
	}
	return b
}

// entryRun gathers entries that follow each other in a block to copy them with one copy.
type entryRun struct{ blk, from, to int }

// add appends the run to b if entry i does not continue it, and starts the next run with
// i; i < 0 ends the last run.
func (r *entryRun) add(b []byte, es *entries, i int) []byte {
	if i >= 0 {
		if e := &es.refs[i]; e.blk == r.blk && e.off == r.to {
			r.to += e.n
			return b
		}
	}
	if r.blk >= 0 {
		b = append(b, es.blocks[r.blk][r.from:r.to]...)
	}
	if i >= 0 {
		e := &es.refs[i]
		r.blk, r.from, r.to = e.blk, e.off, e.off+e.n
	}
	return b
}

// timeOrder is scratch for sorting a stream's entries by time.
type timeOrder struct {
	keys   []uint64 // times since the stream's first, or times and positions
	idx    []int    // index in refs by position in the stream
	counts []int
	out    []uint64
}

// sort returns the indexes in refs of st's entries in time order, equal times in the order
// added. Whole seconds over a span not much longer than the stream (a flow log's records
// of an interface start within an aggregation window or a few) are counted into place;
// over a longer span they are sorted as numbers that hold time above position in the
// stream, which is several times faster than a stable sort of the entries; times with
// nanoseconds, or too far apart for such numbers, are sorted by a comparison of times,
// then positions.
func (o *timeOrder) sort(es *entries, st *pushStream) []uint64 {
	n := st.n
	o.keys = slices.Grow(o.keys[:0], n)[:n]
	o.idx = slices.Grow(o.idx[:0], n)[:n]
	keys, idx := o.keys, o.idx
	span := uint64(st.maxSec) - uint64(st.minSec)
	k := 0
	for i := st.first; i >= 0; i = int(es.refs[i].next) {
		idx[k] = i
		keys[k] = uint64(es.refs[i].sec) - uint64(st.minSec)
		k++
	}
	if !st.nanos && span < uint64(2*n) {
		o.counts = slices.Grow(o.counts[:0], int(span)+1)[:span+1]
		counts := o.counts
		clear(counts)
		for _, t := range keys {
			counts[t]++
		}
		at := 0
		for t, c := range counts {
			counts[t] = at
			at += c
		}
		o.out = slices.Grow(o.out[:0], n)[:n]
		for k, t := range keys {
			o.out[counts[t]] = uint64(idx[k])
			counts[t]++
		}
		return o.out
	}
	posBits := bits.Len64(uint64(n))
	packed := !st.nanos && bits.Len64(span)+posBits <= 64
	for k := range keys {
		if packed {
			keys[k] = keys[k]<<posBits | uint64(k)
		} else {
			keys[k] = uint64(k)
		}
	}
	if packed {
		slices.Sort(keys)
	} else {
		slices.SortFunc(keys, func(a, b uint64) int {
			x, y := &es.refs[idx[a]], &es.refs[idx[b]]
			if c := cmp.Compare(x.sec, y.sec); c != 0 {
				return c
			}
			if c := cmp.Compare(x.nsec, y.nsec); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	// The positions, now in time order, become indexes in refs.
	mask := uint64(1)<<posBits - 1
	for k, key := range keys {
		keys[k] = uint64(idx[key&mask])
	}
	return keys
}
