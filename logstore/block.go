package logstore

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/flowtap/flowtap/logstore/logql"
)

// Codec is the compression of a chunk block.
type Codec byte

const (
	// CodecZstd compresses blocks with zstd (fastest level): the smallest files.
	CodecZstd Codec = 1
	// CodecS2 compresses blocks with S2 (a Snappy extension): the fastest reads.
	CodecS2 Codec = 2
)

// ParseCodec maps a config name to a Codec.
func ParseCodec(s string) (Codec, error) {
	switch s {
	case "zstd", "":
		return CodecZstd, nil
	case "s2", "snappy":
		return CodecS2, nil
	}
	return 0, fmt.Errorf("chunk encoding %q is not zstd or s2", s)
}

var (
	// No zstd checksum: a chunk file has a CRC-32C per block (an xxhash per block was 4 %
	// of the store's compression time).
	zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false))
	zstdDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
)

func compress(c Codec, raw []byte) []byte {
	if c == CodecS2 {
		return s2.Encode(nil, raw)
	}
	return zstdEnc.EncodeAll(raw, make([]byte, 0, len(raw)/4))
}

func decompress(c Codec, comp []byte, rawLen int) ([]byte, error) {
	switch c {
	case CodecS2:
		return s2.Decode(make([]byte, rawLen), comp)
	case CodecZstd:
		return zstdDec.DecodeAll(comp, make([]byte, 0, rawLen))
	}
	return nil, fmt.Errorf("unknown block codec %d", c)
}

// appendEntry adds one entry to a raw block encoding: zigzag varint of the timestamp delta
// from prev, uvarint line length, line bytes.
func appendEntry(dst []byte, prev, ts int64, line string) []byte {
	dst = binary.AppendVarint(dst, ts-prev)
	dst = binary.AppendUvarint(dst, uint64(len(line)))
	return append(dst, line...)
}

var errCorruptBlock = errors.New("corrupt block")

// decodeEntries appends the entries of a raw block to dst. Lines alias raw, which must
// not be modified afterwards.
func decodeEntries(dst []logql.Entry, raw []byte) ([]logql.Entry, error) {
	var prev int64
	for len(raw) > 0 {
		d, n := binary.Varint(raw)
		if n <= 0 {
			return dst, errCorruptBlock
		}
		raw = raw[n:]
		l, n := binary.Uvarint(raw)
		if n <= 0 || l > uint64(len(raw)-n) {
			return dst, errCorruptBlock
		}
		raw = raw[n:]
		prev += d
		dst = append(dst, logql.Entry{Timestamp: prev, Line: unsafe.String(unsafe.SliceData(raw), int(l))})
		raw = raw[l:]
	}
	return dst, nil
}

// compareEntries orders by timestamp, then line, so exact duplicates become neighbours.
func compareEntries(a, b logql.Entry) int {
	if a.Timestamp != b.Timestamp {
		if a.Timestamp < b.Timestamp {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Line, b.Line)
}

// sortDedup sorts entries and drops exact duplicates (same timestamp and line), which is
// how Loki treats a redelivered push. It returns the number dropped. Unsorted entries
// are sorted into a copy; sorted ones without duplicates are not written to (a query may
// be reading them).
func sortDedup(es []logql.Entry, sorted bool) ([]logql.Entry, int) {
	if !sorted {
		es = sortedCopy(es)
	}
	i := 1
	for i < len(es) && (es[i].Timestamp != es[i-1].Timestamp || es[i].Line != es[i-1].Line) {
		i++
	}
	if i >= len(es) {
		return es, 0
	}
	out := es[:i]
	for _, e := range es[i+1:] {
		if last := out[len(out)-1]; last.Timestamp == e.Timestamp && last.Line == e.Line {
			continue
		}
		out = append(out, e)
	}
	return out, len(es) - len(out)
}

// entryKey orders an entry without reading its line (mostly): its timestamp, then the 8
// bytes of its line that follow the prefix all lines share (big endian, zero padded).
type entryKey struct {
	ts  int64
	pre uint64
	i   int32 // the entry's index
}

// sortedCopy returns es sorted by compareEntries, sorting keys rather than entries: a
// stream's lines share a prefix (a flow log's version, account and interface) and lines
// pushed at whole seconds share timestamps, so comparing entries is comparing tens of
// equal bytes. A head is mostly in time order, so insertion sort does it in a few moves;
// beyond 8 moves per key a general sort takes over.
func sortedCopy(es []logql.Entry) []logql.Entry {
	if len(es) == 0 {
		return nil
	}
	first := es[0].Line
	shared := len(first)
	for _, e := range es[1:] {
		if !strings.HasPrefix(e.Line, first[:shared]) {
			n := 0
			for n < shared && n < len(e.Line) && e.Line[n] == first[n] {
				n++
			}
			shared = n
		}
	}
	keys := make([]entryKey, len(es))
	for i, e := range es {
		var b [8]byte
		copy(b[:], e.Line[shared:])
		keys[i] = entryKey{ts: e.Timestamp, pre: binary.BigEndian.Uint64(b[:]), i: int32(i)}
	}
	compare := func(a, b entryKey) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		if a.pre != b.pre {
			return cmp.Compare(a.pre, b.pre)
		}
		return strings.Compare(es[a.i].Line[shared:], es[b.i].Line[shared:])
	}
	moves := 0
	for i := 1; i < len(keys); i++ {
		k, j := keys[i], i
		for ; j > 0; j-- {
			p := keys[j-1]
			if p.ts < k.ts || p.ts == k.ts && (p.pre < k.pre || p.pre == k.pre && compare(p, k) <= 0) {
				break
			}
			keys[j] = p
		}
		if j == i {
			continue
		}
		keys[j] = k
		if moves += i - j; moves > 8*len(keys) {
			slices.SortFunc(keys, compare)
			break
		}
	}
	out := make([]logql.Entry, len(es))
	for i, k := range keys {
		out[i] = es[k.i]
	}
	return out
}

// block is an immutable run of one stream's entries, sorted by (timestamp, line) and
// free of duplicates. Exactly one of raw (not yet compressed) and comp is set, unless
// the block lives in a chunk file (file != nil), when both are nil and meta locates it.
type block struct {
	meta blockMeta
	raw  []byte
	comp []byte
	file *chunkFile
}

// blockMeta describes a compressed block: its time range, entry count and place in a
// chunk file.
type blockMeta struct {
	MinT, MaxT int64
	Entries    int
	RawLen     int
	Codec      Codec
	Offset     int64 // in the chunk file; 0 for memory blocks
	CompLen    int
}

// newRawBlock sorts and deduplicates a head's entries into a raw block.
func newRawBlock(es []logql.Entry, sorted bool) (*block, int) {
	es, dropped := sortDedup(es, sorted)
	if len(es) == 0 {
		return nil, dropped
	}
	size := 0
	for _, e := range es {
		size += len(e.Line) + 6
	}
	raw := make([]byte, 0, size)
	var prev int64
	for _, e := range es {
		raw = appendEntry(raw, prev, e.Timestamp, e.Line)
		prev = e.Timestamp
	}
	return &block{meta: blockMeta{MinT: es[0].Timestamp, MaxT: es[len(es)-1].Timestamp, Entries: len(es), RawLen: len(raw)}, raw: raw}, dropped
}

// compressed returns a copy of b with its raw bytes compressed.
func (b *block) compressed(c Codec) *block {
	if b.raw == nil {
		return b
	}
	m := b.meta
	m.Codec = c
	comp := compress(c, b.raw)
	m.CompLen = len(comp)
	return &block{meta: m, comp: comp}
}

// entries decodes the block.
func (b *block) entries(dst []logql.Entry) ([]logql.Entry, error) {
	raw := b.raw
	if raw == nil {
		comp := b.comp
		if b.file != nil {
			var err error
			if comp, err = b.file.readBlock(b.meta); err != nil {
				return dst, err
			}
		}
		var err error
		if raw, err = decompress(b.meta.Codec, comp, b.meta.RawLen); err != nil {
			return dst, fmt.Errorf("logstore: decompress block: %w", err)
		}
	}
	return decodeEntries(dst, raw)
}

// size is the bytes the block occupies once compressed (or raw, before).
func (b *block) size() int {
	if b.raw != nil {
		return len(b.raw)
	}
	return b.meta.CompLen
}

var entryPool = sync.Pool{New: func() any { s := make([]logql.Entry, 0, 4096); return &s }}
