package kafka

import (
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/kafka/spill"
)

// ToSpill converts messages to the spill's form, for producers that keep their own spill
// (the Firehose receiver); the slices are shared, not copied.
func ToSpill(msgs []kafkago.Message) []spill.Message { return toSpill(msgs) }

// FromSpill converts spilled messages back to kafka-go messages.
func FromSpill(msgs []spill.Message) []kafkago.Message { return fromSpill(msgs) }

func toSpill(msgs []kafkago.Message) []spill.Message {
	return convertAll(msgs, func(m kafkago.Message) spill.Message {
		return spill.Message{Topic: m.Topic, Key: m.Key, Value: m.Value,
			Headers: convertAll(m.Headers, func(h kafkago.Header) spill.Header { return spill.Header(h) })}
	})
}

func fromSpill(msgs []spill.Message) []kafkago.Message {
	return convertAll(msgs, func(m spill.Message) kafkago.Message {
		return kafkago.Message{Topic: m.Topic, Key: m.Key, Value: m.Value,
			Headers: convertAll(m.Headers, func(h spill.Header) kafkago.Header { return kafkago.Header(h) })}
	})
}

// convertAll converts each element; an empty slice becomes nil (a message without headers
// has nil ones).
func convertAll[From, To any](in []From, convert func(From) To) []To {
	if len(in) == 0 {
		return nil
	}
	out := make([]To, len(in))
	for i, v := range in {
		out[i] = convert(v)
	}
	return out
}
