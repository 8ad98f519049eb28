// Package sinks moves flow records and log events from Kafka to durable stores: one
// sub-package per destination (sinks/parquet, sinks/text, sinks/loki). The Kafka layer they
// consume from lives in package kafka; the S3 key layout and object storage they write
// through live in package lake.
//
// The contract between the consumer runner and a destination is Sink: the runner hands a
// Batch of consecutive records from one partition, the sink makes it durable and only then
// returns, and the runner commits the batch's offsets afterwards. Sinks name what they write
// from (topic, partition, first offset, last offset), so a batch delivered twice rewrites
// the same objects instead of duplicating records. A Sink that also implements EventSink
// receives the event topics (VPN logs) the same way, as EventBatches.
//
// A failing Write is retried with backoff until it succeeds, unless its error is permanent
// (IsPermanent): the runner then sets the batch aside on the dead-letter topic for that
// sink, counts and logs it, and goes on.
package sinks

import (
	"context"
	"errors"
	"time"

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
// on different partitions, and must only read b's records: the runner decodes the next
// batches into the same memory, clearing only what its decoder may have set.
//
// An error is retried (the runner calls Write again with the same batch, after a backoff)
// unless it is permanent: an error whose chain holds a value with a Permanent() bool method
// that returns true (see IsPermanent), such as a 4xx refusal of the data itself. Return a
// permanent error only when writing the same batch again cannot succeed; the runner then
// dead-letters the batch for this sink instead of blocking its partition. Outages,
// throttling and misconfiguration that an operator can fix are not permanent.
type Sink interface {
	Name() string
	Write(ctx context.Context, b *Batch) error
	Close() error
}

// Permanent is implemented by errors that can say whether retrying is pointless.
type Permanent interface {
	Permanent() bool
}

// IsPermanent reports whether err (or an error it wraps) is permanent: retrying the same
// write cannot succeed.
func IsPermanent(err error) bool {
	var p Permanent
	return errors.As(err, &p) && p.Permanent()
}

// VPN event kinds: the flowtap-kind header of a VPN topic message and Event.Kind.
const (
	EventVPNTunnel = "vpn-tunnel" // Site-to-Site tunnel activity (flowlog.ParseTunnelLog)
	EventVPNBGP    = "vpn-bgp"    // Site-to-Site BGP (flowlog.ParseBGPLog)
	EventClientVPN = "client-vpn" // Client VPN connections (flowlog.ParseClientVPNLog)
)

// Event is one log event kept as its source wrote it (a VPN log event is AWS's JSON).
type Event struct {
	Kind    string    // EventVPNTunnel, EventVPNBGP or EventClientVPN
	Stream  string    // CloudWatch log stream (the message key), e.g. "vpn-1234abcd_1.2.3.4"
	Account string    // AWS account, when known ("" otherwise)
	Region  string    // AWS region, when known ("" otherwise)
	Time    time.Time // the event's own time
	Data    []byte    // the event, unchanged; sinks must not modify it
}

// EventBatch is a run of consecutive Kafka messages from one partition of an event topic,
// decoded to events.
type EventBatch struct {
	Topic       string
	Partition   int
	FirstOffset int64
	LastOffset  int64
	Events      []Event
}

// EventSink is a destination of log events, with the contract of Sink: WriteEvents returns
// nil only once every event of b is durable, writing a batch twice must not duplicate
// events, concurrent calls on different partitions must be safe, and only a permanent
// error (IsPermanent) stops the runner from retrying.
type EventSink interface {
	Name() string
	WriteEvents(ctx context.Context, b *EventBatch) error
	Close() error
}
