package loki

import (
	"cmp"
	"math/bits"
	"slices"
)

// entry is one line of a stream at sec.nsec (Unix time).
type entry struct {
	sec  int64
	nsec int32
	line string
}

// pushStream is the entries of one label set in a push.
type pushStream struct {
	labels  string
	entries []entry
}

// sortByTime orders the entries by time, lines of equal time in the order added. A
// partition's records of one stream mostly come in time order already.
func (st *pushStream) sortByTime() {
	byTime := func(a, b entry) int {
		if c := cmp.Compare(a.sec, b.sec); c != 0 {
			return c
		}
		return cmp.Compare(a.nsec, b.nsec)
	}
	if !slices.IsSortedFunc(st.entries, byTime) {
		slices.SortStableFunc(st.entries, byTime)
	}
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

func (e *entry) timestampLen() int {
	n := 0
	if e.sec != 0 {
		n += 1 + varintLen(uint64(e.sec)) // int64: negative values take ten bytes
	}
	if e.nsec != 0 {
		n += 1 + varintLen(uint64(int64(e.nsec)))
	}
	return n
}

// len is the encoded size of e's Entry message, given its timestampLen.
func (e *entry) len(tsLen int) int {
	n := bytesField(tsLen)
	if e.line != "" {
		n += bytesField(len(e.line))
	}
	return n
}

// len is the encoded size of st's Stream message.
func (st *pushStream) len() int {
	n := 0
	if st.labels != "" {
		n += bytesField(len(st.labels))
	}
	for i := range st.entries {
		e := &st.entries[i]
		n += bytesField(e.len(e.timestampLen()))
	}
	return n
}

// appendPushRequest appends the encoded PushRequest of streams to b.
// Each size is computed once: a stream's before it is written, an entry's timestamp's as
// the entry is written.
func appendPushRequest(b []byte, streams []*pushStream) []byte {
	var small [64]int
	sizes := small[:0]
	size := 0
	for _, st := range streams {
		n := st.len()
		sizes = append(sizes, n)
		size += bytesField(n)
	}
	b = slices.Grow(b, size)
	for si, st := range streams {
		b = append(b, tagStreams)
		b = appendVarint(b, uint64(sizes[si]))
		if st.labels != "" {
			b = append(b, tagLabels)
			b = appendVarint(b, uint64(len(st.labels)))
			b = append(b, st.labels...)
		}
		for i := range st.entries {
			e := &st.entries[i]
			tsLen := e.timestampLen()
			b = append(b, tagEntries)
			b = appendVarint(b, uint64(e.len(tsLen)))
			b = append(b, tagTimestamp)
			b = appendVarint(b, uint64(tsLen))
			if e.sec != 0 {
				b = append(b, tagSeconds)
				b = appendVarint(b, uint64(e.sec))
			}
			if e.nsec != 0 {
				b = append(b, tagNanos)
				b = appendVarint(b, uint64(int64(e.nsec)))
			}
			if e.line != "" {
				b = append(b, tagLine)
				b = appendVarint(b, uint64(len(e.line)))
				b = append(b, e.line...)
			}
		}
	}
	return b
}
