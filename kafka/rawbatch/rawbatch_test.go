package rawbatch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pierrec/lz4/v4"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
)

// TestEncodeDecodes: kafka-go's own decoder reads back every key (nil included), value,
// header and timestamp of a batch, for every codec, from a reused Batch, and the CRC holds.
func TestEncodeDecodes(t *testing.T) {
	base := time.UnixMilli(1_760_000_000_123)
	var msgs []kafkago.Message
	for i := range 300 {
		m := kafkago.Message{Value: fmt.Appendf(nil, `{"n":%d,"pad":"%0*d"}`, i, i%50, 0),
			Headers: []kafkago.Header{{Key: "flowtap-kind", Value: []byte("vpc")}, {Key: "flowtap-id", Value: []byte{byte(i), 1, 2}}}}
		if i%7 != 0 {
			m.Key = fmt.Appendf(nil, "eni-%d", i%13)
		}
		if i%3 == 0 {
			m.Time = base.Add(time.Duration(i) * time.Millisecond)
		}
		msgs = append(msgs, m)
	}
	now := base.Add(time.Hour)
	idx := []int32{5, 0, 299, 17}
	var b Batch
	for _, codec := range []compress.Compression{compress.None, compress.Lz4, compress.Zstd, compress.Gzip, compress.Snappy} {
		for _, sel := range [][]int32{nil, idx} {
			set, err := b.Encode(msgs, sel, codec, now)
			if err != nil {
				t.Fatalf("%v: %v", codec, err)
			}
			want := msgs
			if sel != nil {
				want = nil
				for _, i := range sel {
					want = append(want, msgs[i])
				}
			}
			checkDecodes(t, codec, set, want, now)
		}
	}
	if _, err := b.Encode(msgs, []int32{}, compress.None, now); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty selection: %v, want ErrEmpty", err)
	}
}

// checkDecodes fails unless kafka-go's decoder reads set as want, messages without a time
// having now's, and its size and CRC hold.
func checkDecodes(t *testing.T, codec compress.Compression, set []byte, want []kafkago.Message, now time.Time) {
	t.Helper()
	batch := set[4:]
	if got := int(binary.BigEndian.Uint32(set)); got != len(batch) {
		t.Fatalf("%v: record set size %d, want %d", codec, got, len(batch))
	}
	if crc32.Checksum(batch[crcStart:], castagnoli) != binary.BigEndian.Uint32(batch[17:]) {
		t.Fatalf("%v: CRC mismatch", codec)
	}
	var rs protocol.RecordSet
	if _, err := rs.ReadFrom(bytes.NewBuffer(set)); err != nil {
		t.Fatalf("%v: decode: %v", codec, err)
	}
	for i := 0; ; i++ {
		r, err := rs.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Fatalf("%v: %d records, want %d", codec, i, len(want))
			}
			return
		}
		if err != nil {
			t.Fatalf("%v: record %d: %v", codec, i, err)
		}
		m := want[i]
		wantTime := now
		if !m.Time.IsZero() {
			wantTime = m.Time
		}
		if r.Offset != int64(i) || r.Time.UnixMilli() != wantTime.UnixMilli() {
			t.Fatalf("%v: record %d: offset %d time %v, want %d %v", codec, i, r.Offset, r.Time, i, wantTime)
		}
		if key := readAll(t, r.Key); (r.Key == nil) != (m.Key == nil) || !bytes.Equal(key, m.Key) {
			t.Fatalf("%v: record %d: key %q, want %q", codec, i, key, m.Key)
		}
		if v := readAll(t, r.Value); !bytes.Equal(v, m.Value) {
			t.Fatalf("%v: record %d: value %q, want %q", codec, i, v, m.Value)
		}
		if fmt.Sprint(r.Headers) != fmt.Sprint(m.Headers) {
			t.Fatalf("%v: record %d: headers %v, want %v", codec, i, r.Headers, m.Headers)
		}
	}
}

// TestRecordsDecode: records added one at a time decode as the messages they were made of,
// every record with the batch's time, for every codec, also from a reused Records and into
// reused memory; the most records, only with lz4, make a frame of several blocks.
func TestRecordsDecode(t *testing.T) {
	now := time.UnixMilli(1_760_000_000_123)
	var msgs []kafkago.Message
	for i := range 12_000 {
		m := kafkago.Message{Value: fmt.Appendf(nil, `{"n":%d,"pad":"%0*d"}`, i, 300+i%200, 0),
			Headers: []kafkago.Header{{Key: "flowtap-kind", Value: []byte("vpc")}, {Key: "flowtap-id", Value: []byte{byte(i), 1, 2}}}}
		if i%7 != 0 {
			m.Key = fmt.Appendf(nil, "eni-%d", i%13)
		}
		msgs = append(msgs, m)
	}
	var r Records
	var mem []byte
	for _, codec := range []compress.Compression{compress.None, compress.Lz4, compress.Zstd, compress.Gzip, compress.Snappy} {
		for _, n := range []int{1, 1000, len(msgs)} {
			if n == len(msgs) && codec != compress.Lz4 {
				continue
			}
			r.Reset()
			for _, m := range msgs[:n] {
				r.Add(m.Key, m.Value, m.Headers)
			}
			set, err := r.Seal(mem, codec, now)
			if err != nil {
				t.Fatalf("%v: %v", codec, err)
			}
			checkDecodes(t, codec, set, msgs[:n], now)
			mem = set
		}
	}
	r.Reset()
	for _, m := range msgs {
		r.Add(m.Key, m.Value, m.Headers)
	}
	if r.Size() <= lz4BlockMax {
		t.Fatalf("%d bytes of records: the lz4 frame had one block only", r.Size())
	}
	r.Reset()
	if _, err := r.Seal(nil, compress.None, now); !errors.Is(err, ErrEmpty) {
		t.Fatalf("no records: %v, want ErrEmpty", err)
	}
}

// TestLZ4FrameDecodes: the LZ4 frames written here (one or several blocks, compressible or
// stored as is, empty) decode with kafka-go's lz4 codec to the same bytes, after what dst held.
func TestLZ4FrameDecodes(t *testing.T) {
	line := []byte(`{"version":2,"account-id":"111111111111","interface-id":"eni-0123456789abcdef0"}` + "\n")
	many := bytes.Repeat(line, lz4BlockMax/len(line)+1)
	noise := make([]byte, 300<<10)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	var lz lz4.Compressor
	for _, in := range [][]byte{line, many, append(noise, line...), nil} {
		frame := appendLZ4Frame([]byte("prefix"), in, &lz)
		if !bytes.HasPrefix(frame, []byte("prefix")) {
			t.Fatal("appendLZ4Frame overwrote dst")
		}
		r := compress.Lz4.Codec().NewReader(bytes.NewReader(frame[len("prefix"):]))
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("%d bytes: decoded %d bytes, %v", len(in), len(got), err)
		}
	}
}

// TestLZ4FrameHeader: the frame header written here is the one pierrec/lz4's writer makes
// for 4 MiB blocks without checksums.
func TestLZ4FrameHeader(t *testing.T) {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if err := w.Apply(lz4.BlockSizeOption(lz4.Block4Mb), lz4.ChecksumOption(false)); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte{0}) // the header is written with the first block
	w.Close()
	if got := buf.Bytes()[:7]; !bytes.Equal(got, lz4FrameHeader) {
		t.Fatalf("pierrec/lz4 writes % x, appendLZ4Frame % x", got, lz4FrameHeader)
	}
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	if r == nil {
		return nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
