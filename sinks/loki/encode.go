package loki

import (
	"cmp"
	"math/bits"
	"slices"
)

// entries holds the entries of a push as they go on the wire: enc is their Entry
// messages, each with its field tag and length, in the order added (Write renders a line
// straight into it), and refs says where each is, whose stream's it is and when. A push's
// request then is its streams' entries copied out of enc in time order, whole runs at a
// time; nothing grows per stream, and enc and refs serve push after push.
type entries struct {
	enc  []byte
	refs []entryRef
}

// entryRef is an entry's time, where its Entry field starts in enc (it ends where the next
// one starts) and the index of its stream's next entry in refs.
type entryRef struct {
	sec   int64
	start int
	next  int // -1 for the stream's last
	nsec  int32
}

// pushStream is one label set's entries in a push: a list through entries.refs.
type pushStream struct {
	labels      string
	first, last int   // indexes in refs
	n           int   // entries
	size        int   // encoded bytes of the entries
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

// reset empties es for the next push.
func (es *entries) reset() {
	es.enc, es.refs = es.enc[:0], es.refs[:0]
}

// end is where entry i ends in enc.
func (es *entries) end(i int) int {
	if i+1 < len(es.refs) {
		return es.refs[i+1].start
	}
	return len(es.enc)
}

// lineRoom reserves the header of an entry at sec.nsec whose line the caller renders
// next, straight into es.enc: it returns where the entry starts and where the line goes.
// The header is sized for a line under about 100 bytes; commit moves a longer line.
func (es *entries) lineRoom(sec int64, nsec int32, lineMax int) (start, at int) {
	start = len(es.enc)
	at = start + 6 + timestampLen(sec, nsec) // tags, one-byte lengths, timestamp
	es.enc = slices.Grow(es.enc, at-start+lineMax)[:at]
	return start, at
}

// commit completes the entry lineRoom began, the line being es.enc[at:], as st's.
func (es *entries) commit(st *pushStream, start, at int, sec int64, nsec int32) {
	lineLen := len(es.enc) - at
	var hb [maxEntryHeader]byte
	h := appendEntryHeader(hb[:0], sec, nsec, lineLen)
	if d := start + len(h) - at; d != 0 {
		if d > 0 {
			es.enc = slices.Grow(es.enc, d)
		}
		es.enc = es.enc[:len(es.enc)+d]
		copy(es.enc[at+d:], es.enc[at:at+lineLen])
	}
	copy(es.enc[start:], h)
	es.add(st, start, sec, nsec)
}

// appendLine adds line at sec.nsec to st.
func (es *entries) appendLine(st *pushStream, sec int64, nsec int32, line string) {
	start := len(es.enc)
	es.enc = appendEntryHeader(es.enc, sec, nsec, len(line))
	es.enc = append(es.enc, line...)
	es.add(st, start, sec, nsec)
}

// add links the entry encoded from start to the end of enc into st.
func (es *entries) add(st *pushStream, start int, sec int64, nsec int32) {
	i := len(es.refs)
	es.refs = append(es.refs, entryRef{sec: sec, start: start, next: -1, nsec: nsec})
	if st.n == 0 {
		st.first, st.sorted, st.nanos, st.minSec, st.maxSec = i, true, false, sec, sec
	} else {
		last := &es.refs[st.last]
		if sec < last.sec || sec == last.sec && nsec < last.nsec {
			st.sorted = false
		}
		last.next = i
		st.minSec, st.maxSec = min(st.minSec, sec), max(st.maxSec, sec)
	}
	if nsec != 0 {
		st.nanos = true
	}
	st.last = i
	st.n++
	st.size += len(es.enc) - start
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
		var run entryRun
		if st.sorted {
			for i := st.first; i >= 0; i = es.refs[i].next {
				b = run.add(b, es, i)
			}
		} else {
			for _, i := range order.sort(es, st) {
				b = run.add(b, es, int(i))
			}
		}
		b = append(b, es.enc[run.from:run.to]...)
	}
	return b
}

// entryRun gathers entries that follow each other in enc to copy them with one copy.
type entryRun struct{ from, to int }

// add appends the run to b if entry i does not continue it, and continues it with i.
func (r *entryRun) add(b []byte, es *entries, i int) []byte {
	if start := es.refs[i].start; start != r.to {
		b = append(b, es.enc[r.from:r.to]...)
		r.from = start
	}
	r.to = es.end(i)
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
	for i := st.first; i >= 0; i = es.refs[i].next {
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
