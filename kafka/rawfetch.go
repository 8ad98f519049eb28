package kafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/fetch"
)

// A partition's reader fetches over the socket of a kafka-go Conn (dialed, authenticated
// and used for offsets by kafka-go) with kafka-go's encoding of the fetch request, and keeps
// the response's record batches as bytes for rawbatch.Decoder: kafka-go's Batch.ReadMessage
// allocates every key, value and header of every message apart (some 1.2 KB in 8
// allocations per producer message), most of the sink's garbage.

// rawFetchVersion is the fetch version sent: v4 has the isolation level and the response
// needs no session or tagged fields; every broker with record batches v2 (Kafka 0.11+)
// takes it.
const rawFetchVersion = 4

// rawConn is a partition leader's connection: kafka-go's Conn for everything but fetches,
// its socket for fetches. The two never have requests in flight at once.
type rawConn struct {
	*kafkago.Conn
	sock     net.Conn
	rd       *bufio.Reader
	clientID string
	id       int32
	req      fetch.Request
}

// dialRaw dials the leader of topic/partition through d (one of the brokers first, for the
// leader's address), keeping the socket kafka-go dialed it on.
func dialRaw(ctx context.Context, d *kafkago.Dialer, broker, topic string, partition int) (*rawConn, error) {
	dd := *d
	var sock net.Conn
	dial := (&net.Dialer{}).DialContext
	dd.DialFunc = func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := dial(ctx, network, address)
		sock = c // the last dial is the leader's: the lookup's connection is closed first
		return c, err
	}
	conn, err := dd.DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		return nil, err
	}
	rc := &rawConn{Conn: conn, sock: sock, rd: bufio.NewReaderSize(sock, 64<<10), clientID: d.ClientID}
	rc.req = fetch.Request{ReplicaID: -1, Topics: []fetch.RequestTopic{{Topic: topic,
		Partitions: []fetch.RequestPartition{{Partition: int32(partition)}}}}}
	return rc, nil
}

// fetchRaw fetches from offset: up to maxBytes, waiting up to maxWait for at least a byte.
// It returns the partition's high watermark and record batches, read into *buf (grown when
// too small), or the partition's error as a kafkago.Error. After any other error the
// connection is in an unknown state.
func (rc *rawConn) fetchRaw(buf *[]byte, offset int64, maxBytes int, maxWait time.Duration) (hwm int64, records []byte, err error) {
	rc.req.MaxWaitTime = int32(maxWait.Milliseconds())
	rc.req.MinBytes = 1
	rc.req.MaxBytes = int32(maxBytes)
	p := &rc.req.Topics[0].Partitions[0]
	p.FetchOffset, p.PartitionMaxBytes = offset, int32(maxBytes)
	rc.id++
	deadline := time.Now().Add(maxWait + fetchGrace)
	rc.sock.SetDeadline(deadline)
	defer rc.sock.SetDeadline(time.Time{})
	if err := protocol.WriteRequest(rc.sock, rawFetchVersion, rc.id, rc.clientID, &rc.req); err != nil {
		return 0, nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(rc.rd, size[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > 1<<30 {
		return 0, nil, fmt.Errorf("kafka: fetch response of %d bytes", n)
	}
	if cap(*buf) < n {
		*buf = make([]byte, n+n/4)
	}
	resp := (*buf)[:n]
	if _, err := io.ReadFull(rc.rd, resp); err != nil {
		return 0, nil, err
	}
	if id := int32(binary.BigEndian.Uint32(resp)); id != rc.id {
		return 0, nil, fmt.Errorf("kafka: fetch response for request %d, sent %d", id, rc.id)
	}
	return parseFetchResponse(resp[4:], rc.req.Topics[0].Topic, p.Partition)
}

// errFetchResponse is a fetch response (v4) that does not parse.
var errFetchResponse = errors.New("kafka: malformed fetch response")

// parseFetchResponse reads a fetch v4 response (after its correlation id) for one
// partition: its high watermark and record batches, or its error code as a kafkago.Error.
func parseFetchResponse(b []byte, topic string, partition int32) (hwm int64, records []byte, err error) {
	be := binary.BigEndian
	var zero [8]byte
	// take returns the next n bytes; past the end it sets err and returns zeros (n ≤ 8).
	take := func(n int) []byte {
		if n < 0 || len(b) < n {
			err, b = errFetchResponse, nil
			return zero[:min(max(n, 0), len(zero))]
		}
		s := b[:n]
		b = b[n:]
		return s
	}
	take(4) // throttle time
	topics := int32(be.Uint32(take(4)))
	for t := int32(0); t < topics && err == nil; t++ {
		name := take(int(int16(be.Uint16(take(2)))))
		parts := int32(be.Uint32(take(4)))
		for p := int32(0); p < parts && err == nil; p++ {
			id := int32(be.Uint32(take(4)))
			code := int16(be.Uint16(take(2)))
			h := int64(be.Uint64(take(8)))
			take(8) // last stable offset
			if aborted := int32(be.Uint32(take(4))); aborted > 0 {
				if int64(aborted)*16 > int64(len(b)) {
					return 0, nil, errFetchResponse
				}
				take(16 * int(aborted))
			}
			size := int32(be.Uint32(take(4)))
			if int64(size) > int64(len(b)) {
				return 0, nil, errFetchResponse
			}
			set := b[:max(size, 0)]
			b = b[len(set):]
			if err == nil && string(name) == topic && id == partition {
				if code != 0 {
					return h, nil, kafkago.Error(code)
				}
				return h, set, nil
			}
		}
	}
	if err != nil {
		return 0, nil, err
	}
	return 0, nil, fmt.Errorf("%w: no partition %s/%d in it", errFetchResponse, topic, partition)
}
