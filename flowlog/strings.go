package flowlog

import (
	"strings"
	"unsafe"
)

// Strings holds the string values of many records in a few large chunks, reused from one
// batch of records to the next: a consumer that keeps a batch of decoded records then
// holds their strings (some 150 bytes a record) instead of every message they came from,
// and the garbage collector sees a few chunks instead of a buffer per record.
//
// It also remembers which JSON key followed which in the records parsed with it
// (ParseJSONCopy), so that most keys are then found with one comparison, and the string
// values of the record before, which the next record shares when it has the same.
type Strings struct {
	chunks [][]byte
	cur    int // the chunk being filled
	// next[f] is 1 + the field whose key followed field f's last time (0: none yet);
	// next[FieldIgnored] is the first key's.
	next [numFields + 1]uint8
	// alt[f] is what next[f] was before it last changed: records of two shapes in turns
	// find their keys in one or the other.
	alt [numFields + 1]uint8
	// last[f] is field f's string value in the record parsed before (ParseJSONCopy's fast
	// path), which the next record's, when the same, shares.
	last [numFields]seenString
	// addrs holds the last two IPv4 addresses read on the fast path (values: Reset keeps them).
	addrs [2]seenAddr
	// tail holds the last bytes of the message being parsed on the fast path, followed by
	// as many zeros, so that its last members are read like the others.
	tail [2 * hotReadLen]byte
}

// stringsChunk is the size of a chunk; longer strings get their own allocation.
const stringsChunk = 64 << 10

// Copy returns s copied into the arena. It stays valid until Reset.
func (a *Strings) Copy(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > stringsChunk/8 {
		return strings.Clone(s)
	}
	for a.cur < len(a.chunks) && cap(a.chunks[a.cur])-len(a.chunks[a.cur]) < len(s) {
		a.cur++
	}
	if a.cur == len(a.chunks) {
		a.chunks = append(a.chunks, make([]byte, 0, stringsChunk))
	}
	c := &a.chunks[a.cur]
	start := len(*c)
	*c = append(*c, s...)
	return unsafe.String(&(*c)[start], len(s))
}

// reserve returns the room of n bytes at the end of the current chunk, moving to one with
// that room first, or nil when n is more than a chunk's eighth; commit then keeps the first
// of them that were used. Between the two the arena must not be used otherwise.
func (a *Strings) reserve(n int) []byte {
	if n > stringsChunk/8 {
		return nil
	}
	for a.cur < len(a.chunks) && cap(a.chunks[a.cur])-len(a.chunks[a.cur]) < n {
		a.cur++
	}
	if a.cur == len(a.chunks) {
		a.chunks = append(a.chunks, make([]byte, 0, stringsChunk))
	}
	c := a.chunks[a.cur]
	return c[len(c) : len(c)+n]
}

// commit keeps the first n bytes of the room reserve returned.
func (a *Strings) commit(n int) {
	if a.cur < len(a.chunks) {
		c := &a.chunks[a.cur]
		*c = (*c)[:len(*c)+n]
	}
}

// Reset makes the arena's room free for reuse: the strings copied before must no longer
// be used. Chunks beyond what the last batch needed are let go.
func (a *Strings) Reset() {
	keep := min(len(a.chunks), a.cur+1)
	clear(a.chunks[keep:])
	a.chunks = a.chunks[:keep]
	for i := range a.chunks {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
	clear(a.last[:]) // their copies are no longer kept
}

// Size returns the bytes of chunks the arena holds.
func (a *Strings) Size() int { return len(a.chunks) * stringsChunk }
