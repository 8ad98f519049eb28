// Package rawbatch encodes Kafka record batches (message format v2) in reused buffers, from
// kafka-go messages (Batch) or record by record (Records), for kafka-go's raw produce API
// (kafkago.RawProduceRequest): the records are laid out in one pass and compressed with a
// single write (lz4 framed here, without the content checksum), where kafka-go's own Produce
// and Writer copy every key, value and header through io.Reader interfaces into the
// compressor piece by piece. The import and the producer send what it builds. Decoder reads
// such batches back without allocating per record (decode.go).
package rawbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/pierrec/lz4/v4"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// Batch holds the buffers of one record batch; the zero value is ready to use.
type Batch struct {
	body []byte // the records, uncompressed
	set  []byte // the record set: size, batch header, then the (compressed) records
	lz   lz4.Compressor
}

// Pool keeps a few batches' buffers (MBs each) for the next requests: unlike a sync.Pool it
// is not emptied by every garbage collection, which a busy producer triggers often.
type Pool struct {
	free chan *Batch
	size int // the initial capacity of a batch's records buffer
}

// NewPool keeps up to n batches whose records buffers start at size bytes.
func NewPool(n, size int) *Pool {
	return &Pool{free: make(chan *Batch, n), size: size}
}

// Get returns a kept batch or a new one.
func (p *Pool) Get() *Batch {
	select {
	case b := <-p.free:
		return b
	default:
		return &Batch{body: make([]byte, 0, p.size)}
	}
}

// Put keeps b unless enough are kept already; b must no longer be in use.
func (p *Pool) Put(b *Batch) {
	select {
	case p.free <- b:
	default:
	}
}

// headerSize is the size of a v2 record batch's fields before its records; the CRC covers
// everything from attributes (offset crcStart) to the end.
const (
	headerSize = 61
	crcStart   = 21
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrEmpty is returned for a batch without records, which Kafka does not take.
var ErrEmpty = errors.New("rawbatch: empty record batch")

// Encode returns the record batch of msgs[idx...] (of every message when idx is nil),
// compressed with codec and preceded by its size as a produce request's record set is
// (protocol.RawRecordSet), valid until the next Encode. Messages without a time get now's.
func (b *Batch) Encode(msgs []kafkago.Message, idx []int32, codec compress.Compression, now time.Time) ([]byte, error) {
	count := len(idx)
	if idx == nil {
		count = len(msgs)
	}
	if count == 0 {
		return nil, ErrEmpty
	}
	at := func(i int) *kafkago.Message {
		if idx == nil {
			return &msgs[i]
		}
		return &msgs[idx[i]]
	}
	nowMs := now.UnixMilli()
	first, maxTs := nowMs, nowMs
	if t := at(0).Time; !t.IsZero() {
		first, maxTs = t.UnixMilli(), t.UnixMilli()
	}
	body := b.body[:0]
	for i := range count {
		m := at(i)
		ts := nowMs
		if !m.Time.IsZero() {
			ts = m.Time.UnixMilli()
		}
		maxTs = max(maxTs, ts)
		size := 1 + varintLen(ts-first) + varintLen(int64(i)) + nullBytesLen(m.Key) + nullBytesLen(m.Value) +
			varintLen(int64(len(m.Headers)))
		for _, h := range m.Headers {
			size += varintLen(int64(len(h.Key))) + len(h.Key) + nullBytesLen(h.Value)
		}
		body = binary.AppendVarint(body, int64(size))
		body = append(body, 0) // record attributes (unused)
		body = binary.AppendVarint(body, ts-first)
		body = binary.AppendVarint(body, int64(i))
		body = appendNullBytes(body, m.Key)
		body = appendNullBytes(body, m.Value)
		body = binary.AppendVarint(body, int64(len(m.Headers)))
		for _, h := range m.Headers {
			body = binary.AppendVarint(body, int64(len(h.Key)))
			body = append(body, h.Key...)
			body = appendNullBytes(body, h.Value)
		}
	}
	b.body = body
	set, err := appendBatch(b.set[:0], body, count, first, maxTs, codec, &b.lz)
	if err != nil {
		return nil, err
	}
	b.set = set
	return set, nil
}

// appendBatch appends to dst the record set of the count records laid out in body: its
// size, the batch header and the records compressed with codec (lz4 with lz). first is the
// batch's first timestamp, the records' deltas' base; maxTs the largest.
func appendBatch(dst, body []byte, count int, first, maxTs int64, codec compress.Compression, lz *lz4.Compressor) ([]byte, error) {
	var hdr [4 + headerSize]byte // the record set's size, then the batch header
	be := binary.BigEndian
	h := hdr[4:]
	// base offset 0 (the broker assigns it); length and CRC are filled in below.
	be.PutUint32(h[12:], 0xffffffff) // partition leader epoch -1
	h[16] = 2                        // magic: format v2
	be.PutUint16(h[21:], uint16(codec))
	be.PutUint32(h[23:], uint32(count-1)) // last offset delta
	be.PutUint64(h[27:], uint64(first))
	be.PutUint64(h[35:], uint64(maxTs))
	be.PutUint64(h[43:], ^uint64(0)) // producer id -1: no idempotence
	be.PutUint16(h[51:], 0xffff)     // producer epoch -1
	be.PutUint32(h[53:], 0xffffffff) // base sequence -1
	be.PutUint32(h[57:], uint32(count))
	start := len(dst)
	dst = append(dst, hdr[:]...)
	switch codec {
	case compress.None:
		dst = append(dst, body...)
	case compress.Lz4:
		dst = appendLZ4Frame(dst, body, lz)
	default:
		c := codec.Codec()
		if c == nil {
			return nil, fmt.Errorf("rawbatch: unknown compression %d", codec)
		}
		out := bytes.NewBuffer(dst)
		w := c.NewWriter(out)
		if _, err := w.Write(body); err != nil {
			w.Close()
			return nil, fmt.Errorf("rawbatch: %s compression: %w", c.Name(), err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("rawbatch: %s compression: %w", c.Name(), err)
		}
		dst = out.Bytes()
	}
	set := dst[start:]
	batch := set[4:]
	be.PutUint32(set, uint32(len(batch)))
	be.PutUint32(batch[8:], uint32(len(batch)-12)) // batch length: the bytes after this field
	be.PutUint32(batch[17:], crc32.Checksum(batch[crcStart:], castagnoli))
	return dst, nil
}

// appendNullBytes appends b as Kafka's varint-length bytes, nil as length -1.
func appendNullBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(b))), b...)
}

func nullBytesLen(b []byte) int {
	if b == nil {
		return 1
	}
	return varintLen(int64(len(b))) + len(b)
}

// varintLen is the size of v as a zig-zag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}
