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
