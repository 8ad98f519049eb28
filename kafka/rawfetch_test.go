package kafka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/fetch"
)

// encodedFetchResponse is a fetch v4 response as kafka-go's protocol encodes it (after the
// size and correlation id): two topics, the partition asked for holding records from
// offset base with an aborted transaction listed before it, one other partition with an
// error.
func encodedFetchResponse(t testing.TB, base int64, values []string, code int16) []byte {
	t.Helper()
	var recs []protocol.Record
	for i, v := range values {
		recs = append(recs, protocol.Record{Offset: base + int64(i), Time: time.UnixMilli(1_760_000_000_000 + int64(i)),
			Key: protocol.NewBytes([]byte("k")), Value: protocol.NewBytes([]byte(v)),
			Headers: []protocol.Header{{Key: HeaderID, Value: []byte{byte(i), 1}}}})
	}
	// kafka-go encodes no empty record set: the other partitions have a record each.
	one := func() protocol.RecordSet {
		return protocol.RecordSet{Version: 2, Records: protocol.NewRecordReader(protocol.Record{Offset: 5, Value: protocol.NewBytes([]byte("x"))})}
	}
	res := &fetch.Response{ThrottleTimeMs: 3, Topics: []fetch.ResponseTopic{
		{Topic: "other", Partitions: []fetch.ResponsePartition{{Partition: 2, ErrorCode: 3, HighWatermark: 9, RecordSet: one()}}},
		{Topic: "vpc", Partitions: []fetch.ResponsePartition{
			{Partition: 0, HighWatermark: 77, AbortedTransactions: []fetch.ResponseTransaction{{ProducerID: 1, FirstOffset: 2}}, RecordSet: one()},
			{Partition: 1, ErrorCode: code, HighWatermark: base + int64(len(values)), LastStableOffset: 5,
				RecordSet: protocol.RecordSet{Version: 2, Records: protocol.NewRecordReader(recs...)}},
		}},
	}}
	var buf bytes.Buffer
	if err := protocol.WriteResponse(&buf, 4, 42, res); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if int(binary.BigEndian.Uint32(b)) != len(b)-4 || binary.BigEndian.Uint32(b[4:]) != 42 {
		t.Fatal("unexpected response framing")
	}
	return b[8:]
}

// TestParseFetchResponse: the partition asked for is found among others in a response
// kafka-go encodes, with its high watermark and records (decoded from offset 12 on, the
// batch starting before); its error code comes back as a kafkago.Error; a cut response and
// a response without the partition are errors.
func TestParseFetchResponse(t *testing.T) {
	values := []string{"a", "bb", "ccc", "dddd"}
	resp := encodedFetchResponse(t, 10, values, 0)
	hwm, set, err := parseFetchResponse(resp, "vpc", 1)
	if err != nil || hwm != 14 {
		t.Fatalf("hwm %d, %v", hwm, err)
	}
	// kafka-go encodes batches as a producer does, from offset 0: the broker's offset goes
	// in the base offset field (outside the CRC).
	binary.BigEndian.PutUint64(set, 10)
	var m fetchMem
	next, err := m.decode(set, tp{"vpc", 1}, 12, hwm)
	if err != nil || next != 14 || len(m.msgs) != 2 {
		t.Fatalf("next %d, %d messages, %v", next, len(m.msgs), err)
	}
	for i, msg := range m.msgs {
		if msg.Offset != int64(12+i) || string(msg.Value) != values[2+i] || string(msg.Key) != "k" || msg.Topic != "vpc" ||
			msg.Partition != 1 || msg.Time.UnixMilli() != 1_760_000_000_002+int64(i) || len(msg.Headers) != 1 ||
			msg.Headers[0].Key != HeaderID || !bytes.Equal(msg.Headers[0].Value, []byte{byte(2 + i), 1}) {
			t.Fatalf("message %d: %+v", i, msg)
		}
	}
	if _, err := m.decode(set[:len(set)-1], tp{"vpc", 1}, 10, hwm); err == nil {
		t.Fatal("a set whose only batch is cut decoded")
	}
	if _, _, err := parseFetchResponse(encodedFetchResponse(t, 10, values, 1), "vpc", 1); !errors.Is(err, kafkago.OffsetOutOfRange) {
		t.Fatalf("error code 1: %v, want OffsetOutOfRange", err)
	}
	if _, _, err := parseFetchResponse(resp, "vpc", 3); !errors.Is(err, errFetchResponse) {
		t.Fatalf("missing partition: %v", err)
	}
	for cut := 0; cut < len(resp); cut += 7 {
		if _, _, err := parseFetchResponse(resp[:cut], "vpc", 1); !errors.Is(err, errFetchResponse) {
			t.Fatalf("cut at %d of %d: %v", cut, len(resp), err)
		}
	}
}

// FuzzParseFetchResponse: any response parses to a partition's records or an error, never
// a panic, and the records returned lie within the response.
func FuzzParseFetchResponse(f *testing.F) {
	f.Add(encodedFetchResponse(f, 10, []string{"a", "bb"}, 0))
	f.Add(encodedFetchResponse(f, 0, []string{"a"}, 1))
	f.Fuzz(func(t *testing.T, resp []byte) {
		_, set, err := parseFetchResponse(resp, "vpc", 1)
		if err != nil {
			return
		}
		if len(set) > len(resp) {
			t.Fatalf("%d bytes of records from a %d byte response", len(set), len(resp))
		}
		var m fetchMem
		if _, err := m.decode(set, tp{"vpc", 1}, 0, 0); err != nil {
			return
		}
		for _, msg := range m.msgs {
			if msg.Topic != "vpc" || msg.Partition != 1 || msg.Offset < 0 {
				t.Fatalf("message %s", fmt.Sprint(msg.Topic, msg.Partition, msg.Offset))
			}
		}
	})
}
