package rawbatch

import (
	"encoding/binary"
	"time"

	"github.com/pierrec/lz4/v4"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// Records lays out a record set one record at a time, for a producer that encodes each
// message straight into its partition's records while the message is still in the cache
// (the import's encoders) rather than keeping kafka-go Messages for Encode. Every record has
// the batch's timestamp. The zero value is ready to use.
type Records struct {
	body []byte // the records, uncompressed
	n    int
	lz   lz4.Compressor
}

// Len is the number of records added since the last Reset.
func (r *Records) Len() int { return r.n }

// Size is the size of those records, uncompressed.
func (r *Records) Size() int { return len(r.body) }

// Reset empties r, keeping its memory.
func (r *Records) Reset() { r.body, r.n = r.body[:0], 0 }

// Add appends a record; a nil key or header value is Kafka's null.
func (r *Records) Add(key, value []byte, headers []kafkago.Header) {
	size := 2 + varintLen(int64(r.n)) + nullBytesLen(key) + nullBytesLen(value) + varintLen(int64(len(headers)))
	for _, h := range headers {
		size += varintLen(int64(len(h.Key))) + len(h.Key) + nullBytesLen(h.Value)
	}
	body := binary.AppendVarint(r.body, int64(size))
	body = append(body, 0, 0) // record attributes (unused), timestamp delta 0
	body = binary.AppendVarint(body, int64(r.n))
	body = appendNullBytes(body, key)
	body = appendNullBytes(body, value)
	body = binary.AppendVarint(body, int64(len(headers)))
	for _, h := range headers {
		body = binary.AppendVarint(body, int64(len(h.Key)))
		body = append(body, h.Key...)
		body = appendNullBytes(body, h.Value)
	}
	r.body = body
	r.n++
}

// Seal returns the records as one record batch timestamped now, compressed with codec and
// preceded by its size as a produce request's record set is (protocol.RawRecordSet), laid
// out in dst's memory (reused from dst[0]). r keeps its records until Reset.
func (r *Records) Seal(dst []byte, codec compress.Compression, now time.Time) ([]byte, error) {
	if r.n == 0 {
		return nil, ErrEmpty
	}
	return appendBatch(dst[:0], r.body, r.n, now.UnixMilli(), now.UnixMilli(), codec, &r.lz)
}
