package kafka

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// countingTransport counts the metadata requests that reach the real transport.
type countingTransport struct {
	kafkago.RoundTripper
	metadata atomic.Int64
}

func (c *countingTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafkago.Request) (kafkago.Response, error) {
	if _, ok := req.(*metadata.Request); ok {
		c.metadata.Add(1)
	}
	return c.RoundTripper.RoundTrip(ctx, addr, req)
}

// TestMetadataCache: a Writer asks its transport for metadata once per message; through the
// cache the broker is asked once per topic and TTL, unknown topics are asked every time,
// and the answers are the broker's.
func TestMetadataCache(t *testing.T) {
	br := startBroker(t, "", "")
	inner := &countingTransport{RoundTripper: &kafkago.Transport{}}
	cache := &metadataCache{next: inner, ttl: time.Hour}
	w := &kafkago.Writer{Addr: kafkago.TCP(br.Addr()), Transport: cache, Balancer: &keyHash{}, BatchTimeout: time.Millisecond}
	defer w.Close()
	msgs := make([]kafkago.Message, 1000)
	for i := range msgs {
		msgs[i] = kafkago.Message{Topic: TopicVPC, Key: []byte(fmt.Sprintf("eni-%d", i)), Value: []byte("{}")}
	}
	ctx := context.Background()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if n := inner.metadata.Load(); n != 1 {
		t.Fatalf("%d metadata requests reached the broker for 1000 messages to one topic, want 1", n)
	}
	ask := func(topic string) *metadata.Response {
		t.Helper()
		r, err := cache.RoundTrip(ctx, kafkago.TCP(br.Addr()), &metadata.Request{TopicNames: []string{topic}})
		if err != nil {
			t.Fatal(err)
		}
		return r.(*metadata.Response)
	}
	if r := ask(TopicVPC); len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 4 {
		t.Fatalf("cached answer %+v, want the broker's 4 partitions", r.Topics)
	}
	for range 2 {
		if r := ask("no-such-topic"); knowsTopic(r, "no-such-topic") {
			t.Fatal("the broker knows a topic it never created")
		}
	}
	if n := inner.metadata.Load(); n != 3 {
		t.Fatalf("%d metadata requests reached the broker, want 3 (one for the known topic, each for the unknown)", n)
	}
	cache.ttl = 0
	ask(TopicVPC)
	if n := inner.metadata.Load(); n != 4 {
		t.Fatalf("after the TTL %d metadata requests reached the broker, want 4", n)
	}
}
