// Package sinks moves flow records from Kafka to durable stores. Sub-packages hold the
// Kafka producer and consumer runner (sinks/kafka), the embedded broker (sinks/broker), the
// AWS S3 key layout (sinks/layout), object storage (sinks/objstore) and one package per
// destination (sinks/parquet, sinks/text, sinks/loki).
//
// The contract between the consumer runner and a destination is Sink: the runner hands a
// Batch of consecutive records from one partition, the sink makes it durable and only then
// returns, and the runner commits the batch's offsets afterwards. Sinks name what they write
// from (topic, partition, first offset, last offset), so a batch delivered twice rewrites
// the same objects instead of duplicating records.
package sinks

import (
	"context"

	"github.com/flowtap/flowtap/flowlog"
)

// Batch is a run of consecutive Kafka messages from one partition, decoded to records.
type Batch struct {
	Topic       string
	Partition   int
	FirstOffset int64 // offset of the first message in the batch
	LastOffset  int64 // offset of the last message in the batch (inclusive)
	Records     []flowlog.Record
}

// Sink is one destination. Write returns nil only once every record of b is durable (file
// fsynced and renamed, object PUT acknowledged, push answered 2xx). Writing the same batch
// again must not duplicate records. Implementations must be safe for concurrent Write calls
// on different partitions.
type Sink interface {
	Name() string
	Write(ctx context.Context, b *Batch) error
	Close() error
}
