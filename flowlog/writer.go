package flowlog

import "context"

// RecordWriter is where producers of records (the collector, the generator) send them: a
// text encoder on stdout, a Kafka producer, a file writer. WriteRecords must not keep recs
// after it returns; implementations copy what they need.
type RecordWriter interface {
	WriteRecords(ctx context.Context, recs []Record) error
}
