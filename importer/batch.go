package importer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// recordBatch encodes a produce request's messages as one Kafka record batch (message
// format v2) in reused buffers: the records are laid out in one pass and compressed with a
// single write, where kafka-go's Produce copies every key, value and header through its
// io.Reader interfaces into the compressor piece by piece (the larger part of the import's
// CPU per record before).
type recordBatch struct {
	body []byte       // the records, uncompressed
	out  bytes.Buffer // the batch: header, then the (compressed) records
}

// batchPool keeps a few record batches' buffers (MBs each) for the next requests: unlike a
// sync.Pool it is not emptied by every garbage collection, which an import triggers often.
type batchPool struct {
	free chan *recordBatch
	size int // the initial capacity of a batch's records buffer
}

func newBatchPool(n, size int) *batchPool {
	return &batchPool{free: make(chan *recordBatch, n), size: size}
}

func (p *batchPool) get() *recordBatch {
	select {
	case b := <-p.free:
		return b
	default:
		return &recordBatch{body: make([]byte, 0, p.size)}
	}
}

// put keeps b unless enough are kept already.
func (p *batchPool) put(b *recordBatch) {
	select {
	case p.free <- b:
	default:
	}
}

// batchHeaderSize is the size of a v2 record batch's fields before its records; the CRC
// covers everything from attributes (offset 21) to the end.
const (
	batchHeaderSize = 61
	batchCRCStart   = 21
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode returns the batch of msgs[idx...] compressed with codec, preceded by its size as
// a produce request's record set is (kafkago.RawProduceRequest), valid until the next
// encode. Messages without a time get now's.
func (b *recordBatch) encode(msgs []kafkago.Message, idx []int32, codec compress.Compression, now time.Time) ([]byte, error) {
	if len(idx) == 0 {
		return nil, fmt.Errorf("empty record batch")
	}
	nowMs := now.UnixMilli()
	first, maxTs := nowMs, nowMs
	if t := msgs[idx[0]].Time; !t.IsZero() {
		first, maxTs = t.UnixMilli(), t.UnixMilli()
	}
	body := b.body[:0]
	for i, j := range idx {
		m := &msgs[j]
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

	out := &b.out
	out.Reset()
	var hdr [batchHeaderSize]byte
	be := binary.BigEndian
	// base offset 0 (the broker assigns it); length and CRC are filled in below.
	be.PutUint32(hdr[12:], 0xffffffff) // partition leader epoch -1
	hdr[16] = 2                        // magic: format v2
	be.PutUint16(hdr[21:], uint16(codec))
	be.PutUint32(hdr[23:], uint32(len(idx)-1)) // last offset delta
	be.PutUint64(hdr[27:], uint64(first))
	be.PutUint64(hdr[35:], uint64(maxTs))
	be.PutUint64(hdr[43:], ^uint64(0)) // producer id -1: no idempotence
	be.PutUint16(hdr[51:], 0xffff)     // producer epoch -1
	be.PutUint32(hdr[53:], 0xffffffff) // base sequence -1
	be.PutUint32(hdr[57:], uint32(len(idx)))
	out.Write([]byte{0, 0, 0, 0}) // the record set's size
	out.Write(hdr[:])
	if codec == compress.None {
		out.Write(body)
	} else {
		c := codec.Codec()
		if c == nil {
			return nil, fmt.Errorf("unknown compression %d", codec)
		}
		w := c.NewWriter(out)
		if _, err := w.Write(body); err != nil {
			w.Close()
			return nil, fmt.Errorf("%s compression: %w", c.Name(), err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("%s compression: %w", c.Name(), err)
		}
	}
	set := out.Bytes()
	batch := set[4:]
	be.PutUint32(set, uint32(len(batch)))
	be.PutUint32(batch[8:], uint32(len(batch)-12)) // batch length: the bytes after this field
	be.PutUint32(batch[17:], crc32.Checksum(batch[batchCRCStart:], castagnoli))
	return set, nil
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
