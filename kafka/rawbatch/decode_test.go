package rawbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
)

var allCodecs = []compress.Compression{compress.None, compress.Lz4, compress.Zstd, compress.Gzip, compress.Snappy}

// testMessages are n messages like the producer's: a JSON value, a key except for every
// seventh (Kafka's null), the kind and id headers, a time for every third.
func testMessages(n, pad int, base time.Time) []kafkago.Message {
	var msgs []kafkago.Message
	for i := range n {
		m := kafkago.Message{Value: fmt.Appendf(nil, `{"n":%d,"pad":"%0*d"}`, i, pad+i%50, 0),
			Headers: []kafkago.Header{{Key: "flowtap-kind", Value: []byte("vpc")}, {Key: "flowtap-id", Value: []byte{byte(i), byte(i >> 8), 2}}}}
		if i%7 != 0 {
			m.Key = fmt.Appendf(nil, "eni-%d", i%13)
		}
		if i%3 == 0 {
			m.Time = base.Add(time.Duration(i) * time.Millisecond)
		}
		if i%11 == 0 {
			m.Headers = append(m.Headers, kafkago.Header{Key: "empty", Value: nil})
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// atOffset returns an encoded record set (size first) as the broker stores it: the batch
// alone, its base offset set to base.
func atOffset(set []byte, base int64) []byte {
	batch := bytes.Clone(set[4:])
	binary.BigEndian.PutUint64(batch, uint64(base)) // not covered by the CRC
	return batch
}

// TestDecodeMatchesEncoderAndKafkaGo: for every codec, a record set of three batches at
// increasing base offsets decodes with the same Decoder to the messages encoded, and to
// what kafka-go's own decoder reads from the same bytes; the set cut anywhere inside its
// last batch gives the first two and then ErrTruncated.
func TestDecodeMatchesEncoderAndKafkaGo(t *testing.T) {
	base := time.UnixMilli(1_760_000_000_123)
	now := base.Add(time.Hour)
	msgs := testMessages(700, 20, base)
	var d Decoder
	var enc Batch
	for _, codec := range allCodecs {
		var set []byte
		parts := [][]kafkago.Message{msgs[:300], msgs[300:301], msgs[301:]}
		offsets := []int64{1000, 1300, 1301}
		for i, part := range parts {
			s, err := enc.Encode(part, nil, codec, now)
			if err != nil {
				t.Fatal(err)
			}
			set = append(set, atOffset(s, offsets[i])...)
		}
		want := kafkaGoDecode(t, set)
		if len(want) != len(msgs) {
			t.Fatalf("%v: kafka-go decoded %d records, want %d", codec, len(want), len(msgs))
		}
		got := decodeAll(t, &d, set)
		// Without copies: the records of every batch decoded since Reset stay as they were.
		d.Reset()
		var kept []Record
		for rest := set; len(rest) > 0; {
			b, r, err := d.Decode(rest)
			if err != nil {
				t.Fatal(err)
			}
			kept, rest = append(kept, b.Records...), r
		}
		for i := range kept {
			if !sameRecord(kept[i], got[i]) {
				t.Fatalf("%v: record %d changed by the batches decoded after it", codec, i)
			}
		}
		for i, r := range got {
			m := msgs[i]
			wantTime := now
			if !m.Time.IsZero() {
				wantTime = m.Time
			}
			if r.Offset != 1000+int64(i) || r.Time != wantTime.UnixMilli() {
				t.Fatalf("%v: record %d: offset %d time %d, want %d %d", codec, i, r.Offset, r.Time, 1000+i, wantTime.UnixMilli())
			}
			if (r.Key == nil) != (m.Key == nil) || !bytes.Equal(r.Key, m.Key) || !bytes.Equal(r.Value, m.Value) ||
				fmt.Sprint(r.Headers) != fmt.Sprint(m.Headers) {
				t.Fatalf("%v: record %d: %q %q %v, want %q %q %v", codec, i, r.Key, r.Value, r.Headers, m.Key, m.Value, m.Headers)
			}
			if !sameRecord(r, want[i]) {
				t.Fatalf("%v: record %d: %+v, kafka-go decodes %+v", codec, i, r, want[i])
			}
		}
		last := len(set) - len(atOffsetLen(t, &enc, parts[2], codec, now))
		for cut := last; cut < len(set); cut += max(1, (len(set)-last)/37) {
			rest := set[:cut]
			for range 2 {
				var err error
				_, rest, err = d.Decode(rest)
				if err != nil {
					t.Fatalf("%v: cut at %d: %v", codec, cut, err)
				}
			}
			if _, r2, err := d.Decode(rest); !errors.Is(err, ErrTruncated) || len(r2) != len(rest) {
				t.Fatalf("%v: cut at %d of %d: %v, want ErrTruncated and the rest kept", codec, cut, len(set), err)
			}
		}
	}
}

func atOffsetLen(t *testing.T, enc *Batch, part []kafkago.Message, codec compress.Compression, now time.Time) []byte {
	t.Helper()
	s, err := enc.Encode(part, nil, codec, now)
	if err != nil {
		t.Fatal(err)
	}
	return s[4:]
}

// decodeAll decodes every batch of set, copying the records out (they are valid until the
// next Decode only).
func decodeAll(t testing.TB, d *Decoder, set []byte) []Record {
	t.Helper()
	var out []Record
	for len(set) > 0 {
		b, rest, err := d.Decode(set)
		if err != nil {
			t.Fatalf("decode at %d bytes left: %v", len(set), err)
		}
		set = rest
		for _, r := range b.Records {
			c := Record{Offset: r.Offset, Time: r.Time, Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)}
			for _, h := range r.Headers {
				c.Headers = append(c.Headers, kafkago.Header{Key: h.Key, Value: bytes.Clone(h.Value)})
			}
			out = append(out, c)
		}
	}
	return out
}

// kafkaGoDecode reads set with kafka-go's protocol decoder.
func kafkaGoDecode(t testing.TB, set []byte) []Record {
	t.Helper()
	var rs protocol.RecordSet
	sized := binary.BigEndian.AppendUint32(nil, uint32(len(set)))
	if _, err := rs.ReadFrom(bytes.NewBuffer(append(sized, set...))); err != nil {
		t.Fatal(err)
	}
	var out []Record
	for {
		r, err := rs.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		rec := Record{Offset: r.Offset, Time: r.Time.UnixMilli(), Headers: r.Headers}
		if r.Key != nil {
			rec.Key = readAll(t.(*testing.T), r.Key)
			if rec.Key == nil {
				rec.Key = []byte{}
			}
		}
		if r.Value != nil {
			rec.Value = readAll(t.(*testing.T), r.Value)
		}
		out = append(out, rec)
	}
}

func sameRecord(a, b Record) bool {
	if a.Offset != b.Offset || a.Time != b.Time || (a.Key == nil) != (b.Key == nil) || !bytes.Equal(a.Key, b.Key) ||
		!bytes.Equal(a.Value, b.Value) || len(a.Headers) != len(b.Headers) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i].Key != b.Headers[i].Key || !bytes.Equal(a.Headers[i].Value, b.Headers[i].Value) {
			return false
		}
	}
	return true
}

// TestDecodeRecordsMultiBlock: a Records batch whose lz4 frame has several blocks decodes
// to its messages.
func TestDecodeRecordsMultiBlock(t *testing.T) {
	now := time.UnixMilli(1_760_000_000_123)
	msgs := testMessages(12_000, 300, now)
	var r Records
	for _, m := range msgs {
		r.Add(m.Key, m.Value, m.Headers)
	}
	if r.Size() <= lz4BlockMax {
		t.Fatalf("%d bytes of records: one lz4 block only", r.Size())
	}
	set, err := r.Seal(nil, compress.Lz4, now)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	got := decodeAll(t, &d, atOffset(set, 5))
	if len(got) != len(msgs) {
		t.Fatalf("%d records, want %d", len(got), len(msgs))
	}
	for i, g := range got {
		if g.Offset != 5+int64(i) || g.Time != now.UnixMilli() || !bytes.Equal(g.Value, msgs[i].Value) || !bytes.Equal(g.Key, msgs[i].Key) {
			t.Fatalf("record %d: %d %d %q", i, g.Offset, g.Time, g.Value)
		}
	}
}

// TestDecodeRejects: a changed byte (CRC), an older format, a control batch, a record
// that does not fill its size.
func TestDecodeRejects(t *testing.T) {
	now := time.UnixMilli(1_760_000_000_123)
	var enc Batch
	s, err := enc.Encode(testMessages(20, 5, now), nil, compress.None, now)
	if err != nil {
		t.Fatal(err)
	}
	good := atOffset(s, 0)
	var d Decoder
	flipped := bytes.Clone(good)
	flipped[len(flipped)-3] ^= 1
	if _, _, err := d.Decode(flipped); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("changed byte: %v, want ErrCorrupt", err)
	}
	old := bytes.Clone(good)
	old[16] = 1
	if _, _, err := d.Decode(old); !errors.Is(err, ErrVersion) {
		t.Fatalf("magic 1: %v, want ErrVersion", err)
	}
	control := bytes.Clone(good)
	control[22] |= attrControl
	reseal(control)
	if b, rest, err := d.Decode(control); err != nil || !b.Control || len(b.Records) != 0 || len(rest) != 0 || b.LastOffset != 19 {
		t.Fatalf("control batch: %+v %d %v", b, len(rest), err)
	}
	// The first record's size one larger: it ends inside the next record.
	bad := bytes.Clone(good)
	size, n := binary.Varint(bad[headerSize:])
	if binary.PutVarint(bad[headerSize:], size+1) != n {
		t.Fatal("size varint changed length")
	}
	reseal(bad)
	if _, _, err := d.Decode(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("record size off by one: %v, want ErrCorrupt", err)
	}
}

// reseal recomputes a batch's CRC after a change.
func reseal(batch []byte) {
	binary.BigEndian.PutUint32(batch[17:], crc32.Checksum(batch[crcStart:], castagnoli))
}

// TestDecodeAllocates: decoding a batch again with the same Decoder, Reset, allocates nothing,
// compressed (lz4, the producer's codec) or not.
func TestDecodeAllocates(t *testing.T) {
	now := time.UnixMilli(1_760_000_000_123)
	msgs := testMessages(2000, 200, now)
	var enc Batch
	for _, codec := range []compress.Compression{compress.None, compress.Lz4} {
		s, err := enc.Encode(msgs, nil, codec, now)
		if err != nil {
			t.Fatal(err)
		}
		set := atOffset(s, 0)
		var d Decoder
		if got := testing.AllocsPerRun(20, func() {
			d.Reset()
			if b, _, err := d.Decode(set); err != nil || len(b.Records) != len(msgs) {
				t.Fatal(len(b.Records), err)
			}
		}); got != 0 {
			t.Fatalf("%v: %.1f allocations per batch, want 0", codec, got)
		}
	}
}

// FuzzDecode: any bytes decode to batches or a specific error, never a panic; what decodes
// encodes again (the records' keys, values and headers) to a batch that decodes the same.
// With reseal the first batch's CRC is made to hold, so that changes reach the records.
func FuzzDecode(f *testing.F) {
	now := time.UnixMilli(1_760_000_000_123)
	var enc Batch
	for _, codec := range allCodecs {
		s, err := enc.Encode(testMessages(4, 3, now), nil, codec, now)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(atOffset(s, 3), false)
	}
	f.Fuzz(func(t *testing.T, set []byte, resealFirst bool) {
		if resealFirst && len(set) >= headerSize {
			set = bytes.Clone(set)
			if n := 12 + int(binary.BigEndian.Uint32(set[8:])); n >= headerSize && n <= len(set) {
				reseal(set[:n])
			}
		}
		var d, d2 Decoder
		for len(set) > 0 {
			b, rest, err := d.Decode(set)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrVersion) {
					t.Fatalf("unexpected error %v", err)
				}
				if len(rest) != len(set) {
					t.Fatal("the rest moved on error")
				}
				return
			}
			if len(rest) >= len(set) {
				t.Fatal("no progress")
			}
			set = rest
			if len(b.Records) == 0 {
				continue
			}
			var again Records
			for _, r := range b.Records {
				again.Add(r.Key, r.Value, r.Headers)
			}
			s, err := again.Seal(nil, compress.None, now)
			if err != nil {
				t.Fatal(err)
			}
			b2, _, err := d2.Decode(atOffset(s, b.BaseOffset))
			if err != nil || len(b2.Records) != len(b.Records) {
				t.Fatalf("re-encoded: %d records, %v; want %d", len(b2.Records), err, len(b.Records))
			}
			for i, r := range b2.Records {
				r.Offset, r.Time = b.Records[i].Offset, b.Records[i].Time // Records numbers them afresh
				if !sameRecord(r, b.Records[i]) {
					t.Fatalf("record %d re-encoded: %+v, was %+v", i, r, b.Records[i])
				}
			}
		}
	})
}

// BenchmarkDecode reads the records (key, value, headers) of an lz4 batch of 4 000
// producer-like messages with a reused Decoder, and with kafka-go's protocol decoder.
func BenchmarkDecode(b *testing.B) {
	now := time.UnixMilli(1_760_000_000_123)
	msgs := testMessages(4000, 400, now)
	var enc Batch
	s, err := enc.Encode(msgs, nil, compress.Lz4, now)
	if err != nil {
		b.Fatal(err)
	}
	set := atOffset(s, 0)
	b.Run("rawbatch", func(b *testing.B) {
		var d Decoder
		b.ReportAllocs()
		for b.Loop() {
			d.Reset()
			bt, _, err := d.Decode(set)
			if err != nil || len(bt.Records) != len(msgs) {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/record")
	})
	b.Run("kafka-go", func(b *testing.B) {
		sized := binary.BigEndian.AppendUint32(nil, uint32(len(set)))
		sized = append(sized, set...)
		var key, val []byte
		b.ReportAllocs()
		for b.Loop() {
			var rs protocol.RecordSet
			if _, err := rs.ReadFrom(bytes.NewBuffer(sized)); err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				r, err := rs.Records.ReadRecord()
				if err != nil {
					break
				}
				if r.Key != nil {
					key, _ = appendAll(key[:0], r.Key)
				}
				val, _ = appendAll(val[:0], r.Value)
				n++
			}
			if n != len(msgs) {
				b.Fatal(n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/record")
	})
}
