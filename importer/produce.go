package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/flowtap/flowtap/kafka"
)

// requestBytes bounds the records of one produce request before compression: a batch sent
// uncompressed must fit the broker's message.max.bytes (kafka.MaxMessageBytes); compressed,
// JSON records shrink 4× or more (snappy less), and fewer, larger requests halve the
// embedded broker's CPU per record, as for kafka.Producer.
func requestBytes(codec compress.Compression) int {
	switch codec {
	case compress.None:
		return kafka.MaxMessageBytes - 64<<10
	case compress.Snappy:
		return 2 * kafka.MaxMessageBytes
	}
	return 4 * kafka.MaxMessageBytes
}

// producer sends the encoders' produce requests with kafka-go's Client (the importer sends
// one partition's requests one at a time, in order, and the partitions in parallel).
type producer struct {
	client *kafkago.Client
	codec  compress.Compression
	topics []string
	parts  map[string]int // partitions per topic; a missing topic has none
	// requestBytes is requestBytes(codec); pause delays every request (tests change both).
	requestBytes int
	pause        time.Duration
	// sent, when set, runs after each request Kafka acknowledged (the kill tests stall
	// the import there).
	sent func()
}

func newProducer(brokers []string, codec compress.Compression, topics []string) *producer {
	return &producer{
		client: &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 30 * time.Second,
			Transport: &kafkago.Transport{DialTimeout: 5 * time.Second, ClientID: "flowtap-import"}},
		codec: codec, topics: topics, requestBytes: requestBytes(codec),
	}
}

// connect reads the topics' partition counts.
func (p *producer) connect(ctx context.Context) error {
	md, err := p.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: p.topics})
	if err != nil {
		return fmt.Errorf("import: Kafka metadata: %w", err)
	}
	p.parts = map[string]int{}
	for _, t := range md.Topics {
		if t.Error == nil {
			p.parts[t.Name] = len(t.Partitions)
		}
	}
	return nil
}

func (p *producer) close() {
	if t, ok := p.client.Transport.(*kafkago.Transport); ok {
		t.CloseIdleConnections()
	}
}

func (p *producer) partition(topic string, key []byte) int {
	return kafka.PartitionOf(key, max(1, p.parts[topic]))
}

// request sends one produce request, retrying a temporary error with backoff. A retry after
// an answer that never came may store the records twice; the copies carry the same
// flowtap-id (flowmsg), so the consumer drops them (see kafka.HeaderID). set is the record
// set an encoder made (rawbatch.Records.Seal), sent as is by every attempt.
func (p *producer) request(tp topicPartition, set []byte) error {
	time.Sleep(p.pause)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(kafka.Backoff(100*time.Millisecond, 2*time.Second, attempt))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var res *kafkago.ProduceResponse
		res, err = p.client.RawProduce(ctx, &kafkago.RawProduceRequest{Topic: tp.topic, Partition: tp.partition,
			RequiredAcks: kafkago.RequireAll, RawRecords: protocol.RawRecordSet{Reader: bytes.NewReader(set)}})
		cancel()
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if err == nil {
			if p.sent != nil {
				p.sent()
			}
			return nil
		}
		if !retriable(err) {
			break
		}
	}
	return fmt.Errorf("%s/%d: %w", tp.topic, tp.partition, err)
}

func retriable(err error) bool {
	var kerr kafkago.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}

// endOffsets returns the end offset of every partition of the topics that exist.
func (p *producer) endOffsets() (map[string][]int64, error) {
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for t, n := range p.parts {
		for i := 0; i < n; i++ {
			req.Topics[t] = append(req.Topics[t], kafkago.LastOffsetOf(i))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	out := map[string][]int64{}
	for t, n := range p.parts {
		ends := make([]int64, n)
		got := 0
		for _, po := range res.Topics[t] {
			if po.Error != nil {
				return nil, fmt.Errorf("end offset of %s/%d: %w", t, po.Partition, po.Error)
			}
			if po.Partition >= 0 && po.Partition < n {
				ends[po.Partition] = po.LastOffset
				got++
			}
		}
		if got != n {
			return nil, fmt.Errorf("end offsets of %s: %d of %d partitions answered", t, got, n)
		}
		out[t] = ends
	}
	return out, nil
}

// scan calls fn with the flowtap-import header of every message from the offsets from to
// the partitions' current ends.
func (p *producer) scan(ctx context.Context, from map[string][]int64, fn func([]byte)) error {
	ends, err := p.endOffsets()
	if err != nil {
		return err
	}
	for t, offs := range from {
		for part, off := range offs {
			if part >= len(ends[t]) {
				continue
			}
			for end := ends[t][part]; off < end; {
				res, err := p.client.Fetch(ctx, &kafkago.FetchRequest{Topic: t, Partition: part, Offset: off,
					MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 500 * time.Millisecond})
				if err == nil {
					err = res.Error
				}
				if err != nil {
					return fmt.Errorf("%s/%d at offset %d: %w", t, part, off, err)
				}
				next := off
				for res.Records != nil {
					r, err := res.Records.ReadRecord()
					if err != nil {
						if !errors.Is(err, io.EOF) {
							return fmt.Errorf("%s/%d at offset %d: %w", t, part, next, err)
						}
						break
					}
					if r.Offset < off {
						continue // a compressed batch starts before off
					}
					for _, h := range r.Headers {
						if h.Key == kafka.HeaderImport {
							fn(h.Value)
						}
					}
					next = r.Offset + 1
				}
				if next == off {
					if res.HighWatermark <= off {
						break // nothing more (the partition was truncated)
					}
					return fmt.Errorf("%s/%d: no progress at offset %d (high watermark %d)", t, part, off, res.HighWatermark)
				}
				off = next
			}
		}
	}
	return nil
}

func fmtProduceErr(key string, err error, st state) error {
	return fmt.Errorf("import: %s: produce: %w (state kept at %s record %d; rerun to resume)", key, err, st.Current, st.Records)
}
