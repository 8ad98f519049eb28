package kafka

import (
	"context"
	"net"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// metadataCache is the producer's kafka-go transport. The producer asks for the metadata of
// each topic it sends to on every call, to count the partitions (a kafka-go Writer asks once
// per message); even answered from kafka.Transport's own cache, each answer is a new filtered
// response. metadataCache keeps each topic's answer for ttl and passes every other request
// (and every answer that names no such topic) through.
type metadataCache struct {
	next   kafkago.RoundTripper
	ttl    time.Duration
	topics sync.Map // topic → cachedMetadata
}

type cachedMetadata struct {
	resp *metadata.Response
	at   time.Time
}

// metadataCacheTTL bounds how long a partition count may lag the brokers' own; the
// Transport's MetadataTTL bounds it more loosely already.
const metadataCacheTTL = time.Second

func (c *metadataCache) RoundTrip(ctx context.Context, addr net.Addr, req kafkago.Request) (kafkago.Response, error) {
	m, ok := req.(*metadata.Request)
	if !ok || len(m.TopicNames) != 1 {
		return c.next.RoundTrip(ctx, addr, req)
	}
	topic := m.TopicNames[0]
	now := time.Now()
	if e, ok := c.topics.Load(topic); ok && now.Sub(e.(cachedMetadata).at) < c.ttl {
		return e.(cachedMetadata).resp, nil
	}
	resp, err := c.next.RoundTrip(ctx, addr, req)
	if r, ok := resp.(*metadata.Response); err == nil && ok && knowsTopic(r, topic) {
		c.topics.Store(topic, cachedMetadata{resp: r, at: now})
	}
	return resp, err
}

// CloseIdleConnections passes to the wrapped transport.
func (c *metadataCache) CloseIdleConnections() {
	if t, ok := c.next.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// knowsTopic reports whether r answers for topic without an error.
func knowsTopic(r *metadata.Response, topic string) bool {
	for _, t := range r.Topics {
		if t.Name == topic {
			return t.ErrorCode == 0 && len(t.Partitions) > 0
		}
	}
	return false
}
