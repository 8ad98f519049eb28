package kafka

import (
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

func TestDLQMessageKeepsOriginAndReason(t *testing.T) {
	m := kafkago.Message{Topic: TopicVPC, Partition: 3, Offset: 1234567, Key: []byte("eni-1"), Value: []byte("{bad"),
		Headers: []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}}}
	d := dlqMessage(m, "expected '}'")
	if string(d.Key) != "eni-1" || string(d.Value) != "{bad" || d.Topic != "" {
		t.Fatalf("dead letter %+v", d)
	}
	hs := map[string]string{}
	for _, h := range d.Headers {
		hs[h.Key] = string(h.Value)
	}
	want := map[string]string{HeaderKind: "vpc", HeaderDLQReason: "expected '}'", HeaderDLQTopic: TopicVPC,
		HeaderDLQPartition: "3", HeaderDLQOffset: "1234567"}
	if len(hs) != len(want) {
		t.Fatalf("headers %v, want %v", hs, want)
	}
	for k, v := range want {
		if hs[k] != v {
			t.Fatalf("header %s = %q, want %q", k, hs[k], v)
		}
	}
	if len(m.Headers) != 1 {
		t.Fatalf("the original message's headers changed: %v", m.Headers)
	}
}
