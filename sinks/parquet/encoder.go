package parquet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"sync"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/version"
)

// The file layout is written here, not by parquet-go's Writer: its per-value path (a
// parquet.Value per cell, a Go map lookup per string, definition levels sorted out per
// value) cost about twice what this does. Each column keeps its definition levels and
// dictionary indexes (or INT64 values) in plain slices, its dictionary in an open-addressed
// table keyed by the typed value (an address is hashed as 16 bytes and formatted only when
// first seen), and pages are encoded with parquet-go's own RLE and delta encoders, their
// headers and footer written in Thrift by hand (thrift.go, footer.go) from parquet-go's
// Thrift structs, so the bytes follow the same conventions as the files parquet-go writes: PAR1, DATA_PAGE_V2 pages, PLAIN dictionary pages, RLE_DICTIONARY
// strings and INT32, DELTA_BINARY_PACKED INT64, chunk statistics for integer columns.

// pageRows is how many rows a data page holds. Larger pages give gzip a longer window
// (smaller files) at the cost of more memory per column before a page is compressed.
const pageRows = 16 << 10

// physical is a column's storage.
type physical uint8

const (
	physByteArray physical = iota // RLE_DICTIONARY strings
	physInt32                     // RLE_DICTIONARY INT32
	physInt64                     // DELTA_BINARY_PACKED INT64
)

// colChunk accumulates one column of the current row group.
type colChunk struct {
	name string
	phys physical

	defs  []uint8 // definition level (0 null, 1 present) of each row of the current page
	idx   []int32 // dictionary index of each present value of the current page
	ints  []int64 // INT64 values of the current page
	nulls int     // nulls of the current page

	// Dictionary of the row group, PLAIN-encoded as the dictionary page wants it.
	dict    []byte
	dictLen int32
	// pageDictStart is dictLen when the current page started.
	pageDictStart int32
	strs          table[string]
	vals          []string // the strings of the dictionary by index
	// hint maps another column's dictionary index to this column's index + 1: for strings,
	// the value last seen with the key column's (strHinted); for packet addresses, the
	// same address in the flow address column (addrPaired).
	hint     []int32
	addrs4   table4
	addrs    table[netip.Addr]
	nums     table[int64]
	small    []int32    // INT32 value 0–65535 → dictionary index + 1 (ports, protocols): no hashing
	enums    [256]int32 // enum key → dictionary index + 1, or -1 for null
	lastStr  string     // last string seen and its index: ids repeat in runs
	lastIdx  int32
	runScore int // > 0 while the last-value check pays

	// Encoded pages of the row group, waiting for the dictionary page to go first.
	pages      []byte
	numPages   int32
	rows       int64 // rows in the row group
	chunkNulls int64
	uncomp     int64 // uncompressed size of the pages, headers included
	min, max   int64 // integer bounds of the row group
	hasBounds  bool
}

// table maps values to dictionary indexes: open addressing with linear probing, sized to
// stay at most half full. Each slot holds the key, its hash and its index, so a probe
// costs one memory access (addresses and ports have thousands of values per row group,
// and a separate key array would cost a cache miss more per value).
type table[K comparable] struct {
	slots []slot[K]
	n     int
}

type slot[K comparable] struct {
	key  K
	hash uint32
	idx  int32 // dictionary index + 1; 0 marks a free slot
}

// find returns the slot of k and true, or the free slot at which to insert it and false.
func (t *table[K]) find(k K, h uint64) (int32, bool) {
	if len(t.slots) == 0 {
		t.slots = make([]slot[K], 64)
	}
	mask := uint32(len(t.slots) - 1)
	h32 := uint32(h)
	for i := h32 & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.idx == 0 {
			return int32(i), false
		}
		if s.hash == h32 && s.key == k {
			return int32(i), true
		}
	}
}

// insert adds k (absent, its free slot found by find) with index idx.
func (t *table[K]) insert(pos int32, k K, h uint64, idx int32) {
	t.slots[pos] = slot[K]{key: k, hash: uint32(h), idx: idx + 1}
	t.n++
	if 2*t.n <= len(t.slots) {
		return
	}
	old := t.slots
	t.slots = make([]slot[K], 2*len(old))
	mask := uint32(len(t.slots) - 1)
	for _, s := range old {
		if s.idx == 0 {
			continue
		}
		i := s.hash & mask
		for t.slots[i].idx != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

func (t *table[K]) reset() {
	if t.n == 0 {
		return
	}
	if len(t.slots) > 1<<16 {
		t.slots = nil // a huge dictionary once is no reason to clear a huge table forever
	} else {
		clear(t.slots)
	}
	t.n = 0
}

// table4 is table for uint32 keys (IPv4 addresses) without the stored hash, which the key
// itself makes redundant: 8-byte slots, so more of a large table stays in cache.
type table4 struct {
	slots []slot4
	n     int
}

type slot4 struct {
	key uint32
	idx int32 // dictionary index + 1; 0 marks a free slot
}

// find returns the slot of k and its index, or the free slot at which to insert k and false.
func (t *table4) find(k uint32) (uint32, int32, bool) {
	if len(t.slots) == 0 {
		t.slots = make([]slot4, 64)
	}
	mask := uint32(len(t.slots) - 1)
	for i := uint32(mix(uint64(k))) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.idx == 0 {
			return i, 0, false
		}
		if s.key == k {
			return i, s.idx - 1, true
		}
	}
}

// insert adds k (absent, its free slot found by find) with index idx.
func (t *table4) insert(pos, k uint32, idx int32) {
	t.slots[pos] = slot4{key: k, idx: idx + 1}
	t.n++
	if 2*t.n <= len(t.slots) {
		return
	}
	old := t.slots
	t.slots = make([]slot4, 2*len(old))
	mask := uint32(len(t.slots) - 1)
	for _, s := range old {
		if s.idx == 0 {
			continue
		}
		i := uint32(mix(uint64(s.key))) & mask
		for t.slots[i].idx != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

func (t *table4) reset() {
	if t.n == 0 {
		return
	}
	if len(t.slots) > 1<<16 {
		t.slots = nil
	} else {
		clear(t.slots)
	}
	t.n = 0
}

var hashSeed = maphash.MakeSeed()

// mix spreads x over 64 bits (a multiply and a shift, as in splitmix).
func mix(x uint64) uint64 {
	x ^= x >> 31
	x *= 0x9e3779b97f4a7c15
	return x ^ x>>29
}

// str appends the present string s.
func (c *colChunk) str(s string) {
	c.defs = append(c.defs, 1)
	c.idx = append(c.idx, c.strIndex(s))
}

// strHinted appends the present string s of a row whose key column (the interface id)
// has dictionary index key, or -1. Most string columns are attributes of the interface
// (its account, VPC, subnet, instance, zone): the value last seen with the same key is
// compared first, which spares hashing and probing the dictionary when it matches.
func (c *colChunk) strHinted(s string, key int32) {
	c.defs = append(c.defs, 1)
	if key >= 0 && int(key) < len(c.hint) {
		if h := c.hint[key] - 1; h >= 0 && c.vals[h] == s {
			c.idx = append(c.idx, h)
			return
		}
	}
	i := c.strIndex(s)
	c.idx = append(c.idx, i)
	if key >= 0 {
		for int(key) >= len(c.hint) {
			c.hint = append(c.hint, 0)
		}
		c.hint[key] = i + 1
	}
}

// strIndex returns the dictionary index of s, adding it if new.
func (c *colChunk) strIndex(s string) int32 {
	if c.runScore > 0 && s == c.lastStr {
		return c.lastIdx
	}
	h := maphash.String(hashSeed, s)
	pos, ok := c.strs.find(s, h)
	var i int32
	if ok {
		s, i = c.strs.slots[pos].key, c.strs.slots[pos].idx-1
	} else {
		s, i = strings.Clone(s), c.dictLen // the caller's memory is not ours to keep
		c.strs.insert(pos, s, h, i)
		c.addDictBytes(s)
		c.vals = append(c.vals, s)
	}
	// Whether the last-value check would have hit is known for free here; it is made only
	// while it pays (an account id in a file of one account), not where values alternate
	// (interface ids), where it would cost a string comparison per value for nothing.
	if ok && i == c.lastIdx {
		c.runScore = min(c.runScore+1, 8)
	} else {
		c.runScore = max(c.runScore-1, -8)
	}
	c.lastStr, c.lastIdx = s, i
	return i
}

func (c *colChunk) addDictBytes(s string) {
	c.dict = binary.LittleEndian.AppendUint32(c.dict, uint32(len(s)))
	c.dict = append(c.dict, s...)
	c.dictLen++
}

// addr appends the present address a; its text is built only when first seen.
func (c *colChunk) addr(a netip.Addr) {
	c.defs = append(c.defs, 1)
	c.idx = append(c.idx, c.addrIndex(a))
}

// addrPaired appends the present address a of a packet-address column (pkt-srcaddr) in
// a row whose flow address (srcaddr) is pair, with index pairIdx in its own column (-1 for
// null). Mostly they are equal (no NAT between): the flow address's index then maps to
// this column's through a small array, with no hash probe.
func (c *colChunk) addrPaired(a, pair netip.Addr, pairIdx int32) {
	c.defs = append(c.defs, 1)
	if pairIdx < 0 || a != pair {
		c.idx = append(c.idx, c.addrIndex(a))
		return
	}
	if int(pairIdx) < len(c.hint) {
		if i := c.hint[pairIdx] - 1; i >= 0 {
			c.idx = append(c.idx, i)
			return
		}
	}
	i := c.addrIndex(a)
	for int(pairIdx) >= len(c.hint) {
		c.hint = append(c.hint, 0)
	}
	c.hint[pairIdx] = i + 1
	c.idx = append(c.idx, i)
}

// addrIndex returns the dictionary index of a, adding it if new.
func (c *colChunk) addrIndex(a netip.Addr) int32 {
	var i int32
	var ok bool
	if a.Is4() {
		// IPv4 addresses get a table of 8-byte slots (a quarter of a netip.Addr slot): with
		// thousands of peers per row group, its probes stay in cache far more often.
		b := a.As4()
		var pos uint32
		pos, i, ok = c.addrs4.find(binary.BigEndian.Uint32(b[:]))
		if !ok {
			i = c.dictLen
			c.addrs4.insert(pos, binary.BigEndian.Uint32(b[:]), i)
		}
	} else {
		b := a.As16()
		h := mix(binary.LittleEndian.Uint64(b[:8]) ^ mix(binary.LittleEndian.Uint64(b[8:])))
		var pos int32
		pos, ok = c.addrs.find(a, h)
		i = c.addrs.slots[pos].idx - 1
		if !ok {
			i = c.dictLen
			c.addrs.insert(pos, a, h, i)
		}
	}
	if !ok {
		start := len(c.dict)
		c.dict = binary.LittleEndian.AppendUint32(c.dict, 0)
		c.dict = a.AppendTo(c.dict)
		binary.LittleEndian.PutUint32(c.dict[start:], uint32(len(c.dict)-start-4))
		c.dictLen++
	}
	return i
}

// int32v appends the present INT32 value x.
func (c *colChunk) int32v(x int32) {
	c.defs = append(c.defs, 1)
	if uint32(x) < 1<<16 {
		// Ports, protocols and flags: a direct index, where a hash table of thousands of
		// ports would cost a hash and a probe of a table four times the size.
		if c.small == nil {
			c.small = make([]int32, 1<<16)
		}
		i := c.small[uint16(x)] - 1
		if i < 0 {
			i = c.dictLen
			c.small[uint16(x)] = i + 1
			c.addDictInt32(x)
		}
		c.idx = append(c.idx, i)
		return
	}
	k := int64(x)
	h := mix(uint64(k))
	pos, ok := c.nums.find(k, h)
	i := c.nums.slots[pos].idx - 1
	if !ok {
		i = c.dictLen
		c.nums.insert(pos, k, h, i)
		c.addDictInt32(x)
	}
	c.idx = append(c.idx, i)
}

func (c *colChunk) addDictInt32(x int32) {
	c.dict = binary.LittleEndian.AppendUint32(c.dict, uint32(x))
	c.dictLen++
	c.bound(int64(x))
}

// int64v appends the present INT64 value x.
func (c *colChunk) int64v(x int64) {
	c.defs = append(c.defs, 1)
	c.ints = append(c.ints, x)
}

func (c *colChunk) null() {
	c.defs = append(c.defs, 0)
	c.nulls++
}

func (c *colChunk) bound(x int64) {
	if !c.hasBounds {
		c.min, c.max, c.hasBounds = x, x, true
		return
	}
	c.min, c.max = min(c.min, x), max(c.max, x)
}

// encoder holds what the columns of one file share: the codec, scratch buffers and the
// footer being built.
type encoder struct {
	out    io.Writer
	offset int64
	codec  compress.Codec
	// huff codes the pages of the default "gzip" codec (see pageGzip); nil for the others.
	huff  *huffGzip
	cols  []colChunk
	meta  format.FileMetaData
	lists *footerLists // meta's schema and column orders in Thrift
	err   error

	levels []byte       // RLE definition levels of a page
	values []byte       // encoded values of a page
	comp   []byte       // compressed values of a page
	header []byte       // Thrift page header
	idxEnc rle.Encoding // BitWidth set per page
	levEnc rle.Encoding // BitWidth 1: levels are 0 or 1
	deltaE delta.BinaryPackedEncoding
}

func (e *encoder) write(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.out.Write(b)
	e.offset += int64(n)
	if err != nil {
		e.err = fmt.Errorf("parquet: write: %w", err)
	}
}

// flushPage encodes and compresses the current page of c into c.pages.
func (e *encoder) flushPage(c *colChunk) error {
	rows := len(c.defs)
	if rows == 0 {
		return nil
	}
	var err error
	e.levels, err = e.levEnc.EncodeLevels(e.levels, c.defs)
	if err != nil {
		return fmt.Errorf("parquet: column %s: definition levels: %w", c.name, err)
	}
	enc := format.RLEDictionary
	if c.phys == physInt64 {
		enc = format.DeltaBinaryPacked
		for _, x := range c.ints {
			c.bound(x)
		}
		e.values, err = e.deltaE.EncodeInt64(e.values, c.ints)
	} else {
		e.values, err = e.encodeIndexes(c)
	}
	if err != nil {
		return fmt.Errorf("parquet: column %s: encode: %w", c.name, err)
	}
	switch {
	case e.huff != nil && c.phys == physInt64:
		e.comp = e.huff.encode(e.comp[:0], e.values, 100)
	case e.huff != nil:
		e.comp = e.huff.encode(e.comp[:0], e.values, dataPageMinSaving)
	default:
		if e.comp, err = e.codec.Encode(e.comp[:0], e.values); err != nil {
			return fmt.Errorf("parquet: column %s: compress: %w", c.name, err)
		}
	}
	v2 := format.DataPageHeaderV2{
		NumValues:                  int32(rows),
		NumNulls:                   int32(c.nulls),
		NumRows:                    int32(rows),
		Encoding:                   enc,
		DefinitionLevelsByteLength: int32(len(e.levels)),
		Statistics:                 format.Statistics{NullCount: int64(c.nulls)},
	}
	uncompressed := int32(len(e.levels) + len(e.values))
	e.header = appendDataPageV2Header(e.header[:0], uncompressed, int32(len(e.levels)+len(e.comp)), &v2,
		e.codec.CompressionCodec() != format.Uncompressed)
	c.pages = append(c.pages, e.header...)
	c.pages = append(c.pages, e.levels...)
	c.pages = append(c.pages, e.comp...)
	c.uncomp += int64(len(e.header)) + int64(uncompressed)
	c.numPages++
	c.rows += int64(rows)
	c.chunkNulls += int64(c.nulls)
	c.defs, c.idx, c.ints, c.nulls = c.defs[:0], c.idx[:0], c.ints[:0], 0
	return nil
}

// encodeIndexes RLE_DICTIONARY-encodes the dictionary indexes of c's page into e.values:
// the bit width, then the indexes bit-packed or run-length encoded at that width, as
// parquet-go's rle.DictionaryEncoding does. That one finds the width by scanning the page
// for its largest index; here it is known when the page added entries to the dictionary,
// since the last one added is then the largest index of the page.
func (e *encoder) encodeIndexes(c *colChunk) ([]byte, error) {
	var width int
	if c.dictLen > c.pageDictStart {
		width = bits.Len32(uint32(c.dictLen - 1))
	} else {
		var all int32
		for _, i := range c.idx {
			all |= i
		}
		width = bits.Len32(uint32(all))
	}
	c.pageDictStart = c.dictLen
	// The encoding appends after the width byte, in room reserved for its worst case
	// (runs of one value cost no more than bit-packing them), so that it never moves.
	need := 1 + (len(c.idx)*width+7)/8 + len(c.idx)/8 + 16
	e.values = slices.Grow(e.values[:0], need)[:1]
	e.values[0] = byte(width)
	e.idxEnc.BitWidth = width
	out, err := e.idxEnc.EncodeInt32(e.values[1:1], c.idx)
	if err != nil {
		return e.values, err
	}
	if len(out) > 0 && &out[0] != &e.values[:2][1] {
		return append(e.values, out...), nil // the reserve was short after all
	}
	return e.values[:1+len(out)], nil
}

// writeRowGroup writes every column chunk of the row group (dictionary page, then data
// pages) and records it in the footer.
func (e *encoder) writeRowGroup() error {
	if len(e.cols) == 0 {
		return nil
	}
	for i := range e.cols {
		if err := e.flushPage(&e.cols[i]); err != nil {
			return err
		}
	}
	rows := e.cols[0].rows
	if rows == 0 {
		return nil
	}
	rg := format.RowGroup{NumRows: rows, FileOffset: e.offset, Ordinal: int16(len(e.meta.RowGroups)),
		Columns: make([]format.ColumnChunk, len(e.cols))}
	for i := range e.cols {
		c := &e.cols[i]
		start := e.offset
		md := format.ColumnMetaData{
			PathInSchema: []string{c.name},
			Codec:        e.codec.CompressionCodec(),
			NumValues:    c.rows,
			Statistics:   format.Statistics{NullCount: c.chunkNulls},
		}
		uncomp := c.uncomp
		if c.phys == physInt64 {
			md.Type = format.Int64
			md.Encoding = []format.Encoding{format.RLE, format.DeltaBinaryPacked}
			md.EncodingStats = []format.PageEncodingStats{{PageType: format.DataPageV2, Encoding: format.DeltaBinaryPacked, Count: c.numPages}}
		} else {
			md.Type = format.ByteArray
			if c.phys == physInt32 {
				md.Type = format.Int32
			}
			md.Encoding = []format.Encoding{format.Plain, format.RLE, format.RLEDictionary}
			md.EncodingStats = []format.PageEncodingStats{
				{PageType: format.DictionaryPage, Encoding: format.Plain, Count: 1},
				{PageType: format.DataPageV2, Encoding: format.RLEDictionary, Count: c.numPages}}
			if len(c.dict) > math.MaxInt32 {
				return fmt.Errorf("parquet: column %s: dictionary of %d bytes exceeds a page; use smaller row groups", c.name, len(c.dict))
			}
			if e.huff != nil {
				e.comp = e.huff.encode(e.comp[:0], c.dict, 0)
			} else {
				var err error
				if e.comp, err = e.codec.Encode(e.comp[:0], c.dict); err != nil {
					return fmt.Errorf("parquet: column %s: compress dictionary: %w", c.name, err)
				}
			}
			e.header = appendDictionaryPageHeader(e.header[:0], int32(len(c.dict)), int32(len(e.comp)), c.dictLen)
			md.DictionaryPageOffset = e.offset
			e.write(e.header)
			e.write(e.comp)
			uncomp += int64(len(e.header)) + int64(len(c.dict))
		}
		if c.hasBounds {
			if c.phys == physInt32 {
				md.Statistics.MinValue = binary.LittleEndian.AppendUint32(nil, uint32(c.min))
				md.Statistics.MaxValue = binary.LittleEndian.AppendUint32(nil, uint32(c.max))
			} else {
				md.Statistics.MinValue = binary.LittleEndian.AppendUint64(nil, uint64(c.min))
				md.Statistics.MaxValue = binary.LittleEndian.AppendUint64(nil, uint64(c.max))
			}
		}
		md.DataPageOffset = e.offset
		e.write(c.pages)
		md.TotalCompressedSize = e.offset - start
		md.TotalUncompressedSize = uncomp
		rg.TotalByteSize += uncomp
		rg.Columns[i] = format.ColumnChunk{FileOffset: start, MetaData: md}
		c.resetChunk()
	}
	rg.TotalCompressedSize = e.offset - rg.FileOffset
	e.meta.RowGroups = append(e.meta.RowGroups, rg)
	e.meta.NumRows += rows
	return e.err
}

func (c *colChunk) resetChunk() {
	if c.small != nil {
		if c.dictLen > 1<<12 {
			clear(c.small)
		} else {
			// Only the values of the dictionary were set: clearing those is cheaper than
			// clearing the whole index for a file of a few thousand rows.
			for b := c.dict; len(b) >= 4; b = b[4:] {
				if v := binary.LittleEndian.Uint32(b); v < 1<<16 {
					c.small[v] = 0
				}
			}
		}
	}
	c.dict, c.dictLen, c.pageDictStart = c.dict[:0], 0, 0
	clear(c.vals)
	c.vals, c.hint = c.vals[:0], c.hint[:0]
	c.strs.reset()
	c.addrs4.reset()
	c.addrs.reset()
	c.nums.reset()
	c.enums = [256]int32{}
	c.lastStr, c.lastIdx, c.runScore = "", 0, 0
	c.pages, c.numPages, c.rows, c.chunkNulls, c.uncomp = c.pages[:0], 0, 0, 0, 0
	c.min, c.max, c.hasBounds = 0, 0, false
}

// writeFooter writes the file metadata and the trailer.
func (e *encoder) writeFooter() error {
	e.header = appendFooter(e.header[:0], &e.meta, e.lists)
	n := len(e.header)
	if n > math.MaxUint32 {
		return fmt.Errorf("parquet: footer of %d bytes", n)
	}
	e.header = binary.LittleEndian.AppendUint32(e.header, uint32(n))
	e.header = append(e.header, "PAR1"...)
	e.write(e.header)
	return e.err
}

// footerTemplates caches, per column list, the footer parquet-go writes for an empty file
// of that schema: its schema elements, column orders and created_by are taken as they
// are, so that the schema is exactly the one parquet-go would write. The cache is keyed by
// the format's header and bounded, since formats read from files can be anything.
var footerTemplates struct {
	sync.Mutex
	m map[string]*footerTemplate
}

// footerTemplate is a cached footer and its lists in Thrift.
type footerTemplate struct {
	meta  format.FileMetaData
	lists footerLists
}

const maxFooterTemplates = 256

func templateOf(f *flowlog.Format) (*footerTemplate, error) {
	key := f.Header()
	footerTemplates.Lock()
	t := footerTemplates.m[key]
	footerTemplates.Unlock()
	if t != nil {
		return t, nil
	}
	var buf bytes.Buffer
	w := pq.NewWriter(&buf, Schema(f), pq.CreatedBy("flowtap", version.String(), version.Revision()))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("parquet: schema of %q: %w", key, err)
	}
	pf, err := pq.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return nil, fmt.Errorf("parquet: schema of %q: %w", key, err)
	}
	t = &footerTemplate{meta: *pf.Metadata()}
	t.meta.RowGroups, t.meta.NumRows, t.meta.KeyValueMetadata = nil, 0, nil
	if t.lists, err = marshalLists(&t.meta); err != nil {
		return nil, err
	}
	footerTemplates.Lock()
	if footerTemplates.m == nil {
		footerTemplates.m = make(map[string]*footerTemplate)
	}
	if len(footerTemplates.m) < maxFooterTemplates {
		footerTemplates.m[key] = t
	}
	footerTemplates.Unlock()
	return t, nil
}
