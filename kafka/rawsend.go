package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/flowtap/flowtap/kafka/rawbatch"
)

// rawSender produces messages as record batches it encodes itself (rawbatch) and sends with
// kafka-go's raw produce API, one request per partition and batch. kafka-go's Writer, which
// it replaces, takes each message through a per-partition queue and copies every key, value
// and header into the compressor through io.Reader interfaces; that was most of the
// producer's CPU per record. It keeps the Writer's contract: the Balancer's partition,
// batches of at most batchSize messages and batchBytes bytes, maxAttempts tries of a
// temporary error, and a kafkago.WriteErrors (one error per message) when some failed.
type rawSender struct {
	client      *kafkago.Client
	balancer    kafkago.Balancer
	codec       compress.Compression
	batchSize   int
	batchBytes  int64
	maxAttempts int
	backoffMin  time.Duration
	backoffMax  time.Duration
	batches     *rawbatch.Pool
}

// partitionGroup is the messages of one call for one partition, in call order.
type partitionGroup struct {
	topic     string
	partition int
	idx       []int32
}

// write sends msgs. It returns nil when all were acknowledged; otherwise a
// kafkago.WriteErrors with one entry per message (nil for those acknowledged) when only
// some failed, or the error of all of them.
func (s *rawSender) write(ctx context.Context, msgs []kafkago.Message) error {
	groups, errs := s.group(ctx, msgs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range groups {
		send := func() {
			g := &groups[i]
			if err := s.sendGroup(ctx, msgs, g); err != nil {
				mu.Lock()
				defer mu.Unlock()
				for _, j := range g.idx {
					errs[j] = err
				}
			}
		}
		if i == len(groups)-1 {
			send() // the last (often the only) group in this goroutine
		} else {
			wg.Go(send)
		}
	}
	wg.Wait()
	var first error
	failed := 0
	for _, e := range errs {
		if e != nil {
			failed++
			if first == nil {
				first = e
			}
		}
	}
	switch {
	case failed == 0:
		return nil
	case failed == len(msgs) && allSame(errs):
		return first
	}
	return kafkago.WriteErrors(errs)
}

func allSame(errs []error) bool {
	for _, e := range errs[1:] {
		if e != errs[0] {
			return false
		}
	}
	return true
}

// group assigns every message its partition (as the Writer: the balancer over the topic's
// sorted partition IDs) and returns the groups; a message whose topic has no usable
// metadata gets that error in errs instead. A call has a few topics and partitions, mostly
// in runs, so both are looked up from the last one and then in a short list.
func (s *rawSender) group(ctx context.Context, msgs []kafkago.Message) ([]partitionGroup, []error) {
	errs := make([]error, len(msgs))
	type topicInfo struct {
		name  string
		parts []int
		err   error
	}
	var topics []topicInfo
	var groups []partitionGroup
	of := make([]int32, len(msgs)) // each message's group, -1 for none
	counts := []int{}
	ti, g := -1, -1
	for i := range msgs {
		m := &msgs[i]
		if ti < 0 || topics[ti].name != m.Topic {
			ti = slices.IndexFunc(topics, func(t topicInfo) bool { return t.name == m.Topic })
			if ti < 0 {
				parts, err := s.partitions(ctx, m.Topic)
				topics = append(topics, topicInfo{name: m.Topic, parts: parts, err: err})
				ti = len(topics) - 1
			}
		}
		t := &topics[ti]
		if t.err != nil {
			errs[i], of[i] = t.err, -1
			continue
		}
		part := s.balancer.Balance(*m, t.parts...)
		if g < 0 || groups[g].partition != part || groups[g].topic != m.Topic {
			g = slices.IndexFunc(groups, func(pg partitionGroup) bool { return pg.partition == part && pg.topic == m.Topic })
			if g < 0 {
				groups = append(groups, partitionGroup{topic: m.Topic, partition: part})
				counts = append(counts, 0)
				g = len(groups) - 1
			}
		}
		of[i] = int32(g)
		counts[g]++
	}
	// One array for every group's indexes.
	all := make([]int32, 0, len(msgs))
	for j, n := range counts {
		groups[j].idx = all[len(all) : len(all) : len(all)+n]
		all = all[:len(all)+n]
	}
	for i, j := range of {
		if j >= 0 {
			groups[j].idx = append(groups[j].idx, int32(i))
		}
	}
	return groups, errs
}

// partitions returns the sorted partition IDs of topic (from the transport's cache).
func (s *rawSender) partitions(ctx context.Context, topic string) ([]int, error) {
	md, err := s.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, t.Error
		}
		if len(t.Partitions) == 0 {
			break
		}
		ids := make([]int, len(t.Partitions))
		for i, p := range t.Partitions {
			ids[i] = p.ID
		}
		slices.Sort(ids)
		return ids, nil
	}
	return nil, kafkago.UnknownTopicOrPartition
}

// sendGroup sends g's messages in batches, one at a time and in order. After a batch failed
// the later ones are not sent (they would overtake it when it is retried): they fail with it.
func (s *rawSender) sendGroup(ctx context.Context, msgs []kafkago.Message, g *partitionGroup) error {
	for idx := g.idx; len(idx) > 0; {
		n, size := 0, int64(0)
		for n < len(idx) && n < s.batchSize {
			sz := messageSize(&msgs[idx[n]])
			if n > 0 && size+sz > s.batchBytes {
				break
			}
			size += sz
			n++
		}
		if err := s.sendBatch(ctx, msgs, g.topic, g.partition, idx[:n]); err != nil {
			return err
		}
		idx = idx[n:]
	}
	return nil
}

// messageSize estimates a message's bytes in a batch, as the Writer counts them against
// BatchBytes.
func messageSize(m *kafkago.Message) int64 {
	n := len(m.Key) + len(m.Value) + 24
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 4
	}
	return int64(n)
}

// sendBatch encodes msgs[idx...] as one record batch and produces it, retrying a
// temporary error up to maxAttempts tries. A batch the broker finds too large is sent as
// two halves instead.
func (s *rawSender) sendBatch(ctx context.Context, msgs []kafkago.Message, topic string, partition int, idx []int32) error {
	rb := s.batches.Get()
	defer s.batches.Put(rb)
	set, err := rb.Encode(msgs, idx, s.codec, time.Now())
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		var res *kafkago.ProduceResponse
		res, err = s.client.RawProduce(ctx, &kafkago.RawProduceRequest{Topic: topic, Partition: partition,
			RequiredAcks: kafkago.RequireAll, RawRecords: protocol.RawRecordSet{Reader: bytes.NewReader(set)}})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, kafkago.MessageSizeTooLarge) && len(idx) > 1 {
			half := len(idx) / 2
			if err := s.sendBatch(ctx, msgs, topic, partition, idx[:half]); err != nil {
				return err
			}
			return s.sendBatch(ctx, msgs, topic, partition, idx[half:])
		}
		if attempt >= s.maxAttempts || !temporary(err) || ctx.Err() != nil {
			return fmt.Errorf("produce to %s/%d: %w", topic, partition, err)
		}
		t := time.NewTimer(Backoff(s.backoffMin, s.backoffMax, attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("produce to %s/%d: %w", topic, partition, err)
		}
	}
}

// temporary reports whether a produce error is worth another try, as the Writer judges it:
// a temporary Kafka error or a dropped connection.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// close releases the sender's connections.
func (s *rawSender) close() {
	if t, ok := s.client.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}
