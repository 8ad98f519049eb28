package rawbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"unsafe"

	"github.com/pierrec/lz4/v4"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// Record is one decoded record. Key, Value and the headers' values are sub-slices of the
// Decoder's memory or of the decoded bytes (nil for Kafka's null), valid until the
// Decoder's Reset.
type Record struct {
	Offset  int64
	Time    int64 // Unix milliseconds
	Key     []byte
	Value   []byte
	Headers []kafkago.Header
}

// Decoded is one record batch: its offset range (records may be missing from it after log
// compaction, so a reader resumes after LastOffset) and its records; a control batch (a
// transaction marker) has none.
type Decoded struct {
	BaseOffset int64
	LastOffset int64
	Control    bool
	Records    []Record
}

// Decoder reads record batches (message format v2) as a fetch response holds them, into
// memory it reuses from one Reset to the next: the records of the batches decoded since are
// laid out in one buffer (decompressed when the batch is; else they stay in the bytes
// given) and their keys, values and headers point into it, so decoding allocates nothing
// once the buffers have grown. The zero value is ready to use.
type Decoder struct {
	body    []byte // the current batch's records, decompressed
	recs    []Record
	headers []kafkago.Header
	hkeys   []string // header keys seen, so that a header's key is not a new string each time
	zr      bytes.Reader
}

// Reset forgets the batches decoded, keeping the memory for the next ones.
func (d *Decoder) Reset() {
	d.body, d.recs, d.headers = d.body[:0], d.recs[:0], d.headers[:0]
}

// Size is the memory the records decoded since Reset take in the Decoder (decompressed
// bytes, records and headers).
func (d *Decoder) Size() int {
	return len(d.body) + len(d.recs)*int(unsafe.Sizeof(Record{})) + len(d.headers)*int(unsafe.Sizeof(kafkago.Header{}))
}

// Errors of Decode. A record set cut inside a batch is how a fetch response ends when the
// batch did not fit its byte limit: ErrTruncated tells the caller to fetch again from the
// batch's offset with room for it rather than that anything is wrong.
var (
	ErrTruncated = errors.New("rawbatch: record batch cut short")
	ErrCorrupt   = errors.New("rawbatch: corrupt record batch")
	ErrVersion   = errors.New("rawbatch: record batch is not message format v2")
)

// batch header field offsets (after base offset and batch length)
const (
	attrCompression = 0x07
	attrControl     = 0x20
	// maxHeaderKeys bounds the header keys remembered per Decoder.
	maxHeaderKeys = 16
)

// Decode decodes the first record batch of set (record batches back to back, without the
// record set's size) and returns it and the bytes after it. The records stay valid until
// Reset (and set unchanged). Errors: ErrTruncated when set ends inside the batch, ErrVersion for an
// older message format, ErrCorrupt (wrapped, with the reason) for a batch that does not
// decode; the batch is then not returned.
func (d *Decoder) Decode(set []byte) (Decoded, []byte, error) {
	be := binary.BigEndian
	if len(set) < 17 {
		return Decoded{}, set, ErrTruncated
	}
	length := int64(be.Uint32(set[8:]))
	if int32(length) < headerSize-12 {
		return Decoded{}, set, fmt.Errorf("%w: batch length %d", ErrCorrupt, int32(length))
	}
	if set[16] != 2 {
		return Decoded{}, set, fmt.Errorf("%w: magic %d", ErrVersion, set[16])
	}
	if int64(len(set)) < 12+length {
		return Decoded{}, set, ErrTruncated
	}
	batch, rest := set[:12+length], set[12+length:]
	if crc32.Checksum(batch[crcStart:], castagnoli) != be.Uint32(batch[17:]) {
		return Decoded{}, set, fmt.Errorf("%w: CRC mismatch", ErrCorrupt)
	}
	attrs := be.Uint16(batch[21:])
	out := Decoded{BaseOffset: int64(be.Uint64(batch)), Control: attrs&attrControl != 0}
	out.LastOffset = out.BaseOffset + int64(int32(be.Uint32(batch[23:])))
	firstTs := int64(be.Uint64(batch[27:]))
	count := int32(be.Uint32(batch[57:]))
	if count < 0 || int64(count) > length { // a record takes at least a byte
		return Decoded{}, set, fmt.Errorf("%w: %d records", ErrCorrupt, count)
	}
	bodyLen := len(d.body)
	body, err := d.decompress(compress.Compression(attrs&attrCompression), batch[headerSize:])
	if err != nil {
		return Decoded{}, set, err
	}
	if out.Control {
		d.body = d.body[:bodyLen]
		return out, rest, nil
	}
	recs, err := d.records(body, int(count), out.BaseOffset, firstTs)
	if err != nil {
		d.body = d.body[:bodyLen]
		return Decoded{}, set, err
	}
	out.Records = recs
	return out, rest, nil
}

// decompress returns the records of a batch: data itself when uncompressed, else data
// decompressed onto the end of d.body.
func (d *Decoder) decompress(codec compress.Compression, data []byte) ([]byte, error) {
	var err error
	start := len(d.body)
	switch codec {
	case compress.None:
		return data, nil
	case compress.Lz4:
		d.body, err = appendLZ4Decoded(d.body, data)
	default:
		c := codec.Codec()
		if c == nil {
			return nil, fmt.Errorf("%w: unknown compression %d", ErrCorrupt, codec)
		}
		d.zr.Reset(data)
		r := c.NewReader(&d.zr)
		d.body, err = appendAll(d.body, r)
		r.Close()
	}
	if err != nil {
		d.body = d.body[:start]
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, codec, err)
	}
	return d.body[start:len(d.body):len(d.body)], nil
}

// appendAll appends what r yields to dst.
func appendAll(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// lz4 frame descriptor flags
const (
	lz4FlagDictID       = 0x01
	lz4FlagContentSum   = 0x04
	lz4FlagContentSize  = 0x08
	lz4FlagBlockSum     = 0x10
	lz4FrameMagic       = 0x184d2204
	lz4MaxBlockSizeCode = 7
)

// appendLZ4Decoded appends the content of the LZ4 frame src to dst, block by block straight
// into dst (kafka-go's lz4 reader copies each block once more). The frame's own checksums
// are not checked: the batch's CRC covers src.
func appendLZ4Decoded(dst, src []byte) ([]byte, error) {
	le := binary.LittleEndian
	if len(src) < 7 || le.Uint32(src) != lz4FrameMagic {
		return dst, errors.New("not an lz4 frame")
	}
	flg, bd := src[4], src[5]
	if flg>>6 != 1 {
		return dst, fmt.Errorf("lz4 frame version %d", flg>>6)
	}
	blockMax := 0
	switch code := bd >> 4 & 7; code {
	case 4, 5, 6, lz4MaxBlockSizeCode:
		blockMax = 1 << (8 + 2*code)
	default:
		return dst, fmt.Errorf("lz4 block size code %d", code)
	}
	src = src[6:]
	if flg&lz4FlagContentSize != 0 {
		src = src[min(8, len(src)):]
	}
	if flg&lz4FlagDictID != 0 {
		src = src[min(4, len(src)):]
	}
	if len(src) < 1 {
		return dst, io.ErrUnexpectedEOF
	}
	src = src[1:] // descriptor checksum
	for {
		if len(src) < 4 {
			return dst, io.ErrUnexpectedEOF
		}
		size := le.Uint32(src)
		src = src[4:]
		if size == 0 {
			break // end mark
		}
		stored := size&(1<<31) != 0
		size &^= 1 << 31
		if int64(size) > int64(len(src)) || int(size) > blockMax {
			return dst, fmt.Errorf("lz4 block of %d bytes", size)
		}
		blk := src[:size]
		src = src[size:]
		if flg&lz4FlagBlockSum != 0 {
			src = src[min(4, len(src)):]
		}
		if stored {
			dst = append(dst, blk...)
			continue
		}
		// The block's decoded size is not known before: room for a JSON-like ratio first,
		// more only when that is short, rather than a whole block's maximum each time.
		at := len(dst)
		for room := min(blockMax, max(8*len(blk), 64<<10)); ; room = min(blockMax, 2*room) {
			dst = slices.Grow(dst, room)
			n, err := lz4.UncompressBlock(blk, dst[at:at+room])
			if err == nil {
				dst = dst[:at+n]
				break
			}
			if room == blockMax {
				return dst[:at], err
			}
		}
	}
	if flg&lz4FlagContentSum != 0 && len(src) < 4 {
		return dst, io.ErrUnexpectedEOF
	}
	return dst, nil
}

// records decodes the count records laid out in body.
func (d *Decoder) records(body []byte, count int, base, firstTs int64) ([]Record, error) {
	if count > len(body) { // a record takes at least a byte
		return nil, fmt.Errorf("%w: %d records in %d bytes", ErrCorrupt, count, len(body))
	}
	from := len(d.recs)
	recs := slices.Grow(d.recs, count)
	// The headers of the batches share one slice; when it grows, the records decoded
	// before keep pointing into the old array, whose headers are still theirs.
	hdrs := d.headers
	p := parser{b: body}
	for i := range count {
		size := p.varint()
		if p.err != nil || size < 0 || size > int64(len(body)-p.at) {
			return nil, p.fail("record %d: size %d", i, size)
		}
		end := p.at + int(size)
		p.at++ // attributes
		tsDelta := p.varint()
		offDelta := p.varint()
		key := p.bytes()
		value := p.bytes()
		nh := p.varint()
		if p.err != nil || nh < 0 || nh > int64(end-p.at) {
			return nil, p.fail("record %d: %d headers", i, nh)
		}
		hfrom := len(hdrs)
		for range nh {
			k := p.bytes()
			v := p.bytes()
			if p.err != nil || k == nil {
				return nil, p.fail("record %d: header", i)
			}
			hdrs = append(hdrs, kafkago.Header{Key: d.headerKey(k), Value: v})
		}
		if p.at != end {
			return nil, p.fail("record %d: %d bytes, size says %d", i, p.at-(end-int(size)), size)
		}
		recs = append(recs, Record{Offset: base + offDelta, Time: firstTs + tsDelta, Key: key, Value: value})
		if nh > 0 {
			recs[len(recs)-1].Headers = hdrs[hfrom:len(hdrs):len(hdrs)]
		}
	}
	d.recs, d.headers = recs, hdrs
	return recs[from:len(recs):len(recs)], nil
}

// headerKey returns k as a string, the same string for a key seen before.
func (d *Decoder) headerKey(k []byte) string {
	for _, s := range d.hkeys {
		if s == string(k) {
			return s
		}
	}
	s := string(k)
	if len(d.hkeys) < maxHeaderKeys {
		d.hkeys = append(d.hkeys, s)
	}
	return s
}

// parser reads the fields of records; the first error sticks.
type parser struct {
	b   []byte
	at  int
	err error
}

func (p *parser) varint() int64 {
	if p.err != nil {
		return 0
	}
	// Most of a record's varints (lengths, deltas, counts) take one or two bytes.
	if at := p.at; at+1 < len(p.b) {
		if b0 := p.b[at]; b0 < 0x80 {
			p.at++
			return int64(b0>>1) ^ -int64(b0&1)
		} else if b1 := p.b[at+1]; b1 < 0x80 {
			p.at += 2
			u := uint64(b0&0x7f) | uint64(b1)<<7
			return int64(u>>1) ^ -int64(u&1)
		}
	}
	if p.at >= len(p.b) {
		p.err = io.ErrUnexpectedEOF
		return 0
	}
	v, n := binary.Varint(p.b[p.at:])
	if n <= 0 {
		p.err = errors.New("bad varint")
		return 0
	}
	p.at += n
	return v
}

// bytes reads varint-length bytes, nil for length -1.
func (p *parser) bytes() []byte {
	n := p.varint()
	if p.err != nil {
		return nil
	}
	if n < -1 || n > int64(len(p.b)-p.at) {
		p.err = fmt.Errorf("bytes of length %d", n)
		return nil
	}
	if n == -1 {
		return nil
	}
	b := p.b[p.at : p.at+int(n) : p.at+int(n)]
	p.at += int(n)
	return b
}

func (p *parser) fail(format string, args ...any) error {
	if p.err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, fmt.Sprintf(format, args...), p.err)
	}
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
