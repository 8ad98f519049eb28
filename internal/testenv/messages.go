package testenv

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/kafka/broker"
)

// Message is one message read back from the broker by Messages.
type Message struct {
	Topic      string
	Key, Value string
	Headers    map[string]string
}

// Messages reads every message of topics from the broker at addr, partition by partition
// in offset order, so that a test can check what a producer stored.
func Messages(tb testing.TB, addr string, topics ...string) []Message {
	tb.Helper()
	var out []Message
	for _, topic := range topics {
		for p := 0; p < broker.DefaultConfig().Partitions; p++ {
			conn, err := kafkago.DialLeader(context.Background(), "tcp", addr, topic, p)
			if err != nil {
				tb.Fatal(err)
			}
			last, err := conn.ReadLastOffset()
			if err != nil {
				tb.Fatal(err)
			}
			if _, err := conn.Seek(0, kafkago.SeekAbsolute); err != nil {
				tb.Fatal(err)
			}
			for off := int64(0); off < last; {
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				b := conn.ReadBatch(1, 64<<20)
				for {
					m, err := b.ReadMessage()
					if err != nil {
						break
					}
					h := make(map[string]string, len(m.Headers))
					for _, x := range m.Headers {
						h[x.Key] = string(x.Value)
					}
					out = append(out, Message{Topic: topic, Key: string(m.Key), Value: string(m.Value), Headers: h})
					off = m.Offset + 1
				}
				if err := b.Close(); err != nil && !errors.Is(err, io.EOF) {
					tb.Fatal(err)
				}
			}
			conn.Close()
		}
	}
	return out
}
