// Package kafka moves flow records through Kafka: a Producer that the collector and the
// generator write to (it implements flowlog.RecordWriter), and a Runner that consumes the
// record topics in a consumer group and hands batches to the destination sinks
// (sinks.Sink). Both use github.com/segmentio/kafka-go.
//
// # Messages
//
// One message per record: topic by kind (flowtap.vpc, flowtap.tgw; configurable), key =
// Record.Key() (interface ID, or TGW attachment ID) so that one ENI's records stay in one
// partition in order (hash balancer), value = flowlog.AppendJSON (AWS field names; any tool
// can read it), header flowtap-kind = vpc|tgw. VPN events go to flowtap.vpn as AWS's JSON,
// keyed by their CloudWatch stream name, with flowtap-kind = vpn-tunnel|vpn-bgp|client-vpn.
//
// # Producer: memory, spill, order
//
// WriteRecords encodes in the caller's goroutine and queues the messages in a memory queue
// bounded by QueueBytes. One goroutine sends, one produce call at a time, so messages of one
// key are acknowledged in order. When the queue stays full for BlockTimeout (Kafka slow or
// down) the caller's messages go to the disk spill (package sinks/spill) instead, and so do
// all later ones until the spill is empty again; when a produce call fails, the failed
// messages and the whole memory queue are moved in front of the spill. The sender drains the
// spill oldest first, with capped exponential backoff while Kafka stays down, so the order
// per key holds across an outage and across restarts. What the spill cannot take (its size
// cap) is counted in flowtap_producer_dropped_records_total and logged, and the write
// returns an error wrapping ErrDropped. One caveat: kafka-go may split one call into several
// requests per partition; if an earlier one fails and a later one succeeds, the retried
// messages land after their successors.
//
// Budget: ≥ 400 k records/s to the embedded broker on one host (BenchmarkProduce).
//
// # Runner: batches, commits, exactly-once effect
//
// The Runner groups consecutive messages of one partition into a sinks.Batch, cut at
// MaxRecords, MaxBytes or MaxAge (default 60 s). Before handing a batch to the sinks it
// durably records an intent {topic, partition, first offset, last offset} in
// StateDir/<group>/<topic>.<partition>.intent (temp file, fsync, rename, fsync of the
// directory). It then writes the batch to every sink, retrying a failing sink with capped
// exponential backoff (counted in flowtap_consumer_sink_errors_total, never spinning), and
// commits the offset after the last message (CommitMessages) only when every sink returned
// nil. Sinks name objects from (topic, partition, first, last), so a redelivered batch
// rewrites the same objects. Because a batch cut by age depends on timing, a crash between
// the intent and the commit would otherwise re-form different batches after a restart and
// leave overlapping objects in the lake; so on (re)start, when the committed offset of a
// partition is ≤ the intent's first offset, the runner re-forms exactly [first, last]
// before anything else (messages before first form their own batch). A committed offset past
// the intent's last offset means the intent was carried out; it is ignored. Intents are per
// process: when a rebalance moves a partition to another runner with another state dir in
// the middle of a batch, that runner may cut differently.
//
// A message that does not decode goes to the dead-letter topic (default flowtap.deadletter)
// with its key, value and headers and flowtap-dlq-reason, -topic, -partition and -offset
// headers; its offset still belongs to the batch, so the partition keeps flowing and the
// commit moves past it. The dead-letter write is acknowledged before the batch is committed
// (a batch re-formed after a crash may dead-letter the same message twice).
package kafka
