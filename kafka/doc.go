// Package kafka moves flow records and VPN log events through Kafka: a Producer that the
// collector and the generator write to (it implements flowlog.RecordWriter, and WriteVPN
// takes VPN events), and a Runner that consumes the record topics, and the VPN topic when a
// sink takes events, in a consumer group and hands batches to the destination sinks
// (sinks.Sink, sinks.EventSink). Both use github.com/segmentio/kafka-go.
//
// # Messages
//
// One message per record: topic by kind (flowtap.vpc, flowtap.tgw; configurable), key =
// Record.Key() (interface ID, or TGW attachment ID) so that one ENI's records stay in one
// partition in order (hash balancer), value = flowlog.AppendJSON (AWS field names; any tool
// can read it), header flowtap-kind = vpc|tgw. VPN events go to flowtap.vpn as AWS's JSON,
// keyed by their CloudWatch stream name, with flowtap-kind = vpn-tunnel|vpn-bgp|client-vpn.
//
// # Producer: lanes, memory, spill, order
//
// The producer sends in Lanes parallel lanes (default 4, the embedded broker's partition
// count). A record goes to the lane of its key: FNV-1a 32 of the key, reduced as kafka-go's
// Hash balancer reduces it to a partition, so with as many lanes as partitions lane i feeds
// partition i of each topic (keyless messages go to lane 0). WriteRecords encodes each lane's
// records (in parallel goroutines for a write of ≥ 256 records, since JSON encoding is the
// largest cost left) and queues them in the lane's memory queue, bounded by QueueBytes/Lanes.
// Each lane has one goroutine that sends one produce call at a time, so the messages of one
// key are acknowledged in order; the lanes share one kafka-go Writer, whose per-partition
// batches mix the lanes' messages. When a lane's queue stays full for BlockTimeout (one
// timeout per write, shared by its lanes) the records go to that lane's disk spill instead,
// and so do all later ones of that lane until its spill is empty again; when a produce call
// fails, the failed messages and the lane's whole memory queue are moved in front of its
// spill. The lane drains its spill oldest first, with capped exponential backoff while Kafka
// stays down, so the order per key holds across an outage and across restarts. What a lane's
// spill cannot take (Spill.MaxBytes/Lanes) is counted in
// flowtap_producer_dropped_records_total and logged, and the write returns an error wrapping
// ErrDropped.
//
// The spill is keyed by cluster: Spill.Dir/brokers-<sorted bootstrap brokers>/ (SpillDir), so
// records spilled for one cluster are never sent to another (each also carries its topic).
// Spill.Dir defaults to spill.DefaultDir() ($XDG_STATE_HOME or ~/.local/state/flowtap/spill),
// never the working directory. A spilled record the brokers refuse for good (a non-retriable
// error such as an invalid topic or a record too large, or an unknown topic for
// UndeliverableAfter) goes to a file in SpillDir/deadletter/ instead of holding the head of
// its spill: counted in flowtap_producer_deadlettered_records_total{reason} and logged.
// DeadLetter is that mechanism; the Firehose receiver's spill uses it too.
//
// Within it the spill is a spill.Set: one queue per lane under set-<seq>-lanes-<n>/. After a
// restart with another lane count (or from the single-queue layout of earlier versions) keys
// map to other lanes, so the old queues are sent first, oldest set first, before any lane
// sends; meanwhile writes queue up in memory and then in the new lanes' spills. A restart with
// the same count reuses its set. One caveat: kafka-go may split one call into several
// requests per partition; if an earlier one fails and a later one succeeds, the retried
// messages land after their successors.
//
// # Re-sent messages
//
// kafka-go has no idempotent producer, so a produce call answered with an error (or not at
// all: a broker killed between its write and its reply) after the broker stored it is sent
// again, by kafka-go's own retries or from the spill, and its messages are stored twice.
// Every message therefore carries a flowtap-id header (HeaderID: a random 8-byte name of the
// Producer and an 8-byte sequence number), kept through the spill, and a call carries at
// most SendChunk messages (a larger write or spill segment is sent in several calls). The
// runner drops a message whose flowtap-id is among the DedupeWindow (65 536) offsets before
// it in its partition, counting it in flowtap_consumer_duplicates_total; the first copy is
// always kept. Messages whose source is delivered again as a whole (a Firehose request
// retried under the same request id) take ids from SourceMessageIDs, so that the copies of
// the second delivery carry the first one's ids and are dropped the same way. The rule
// depends only on the partition's content: a runner starting at an
// offset first reads the window before it, so a batch re-formed after a crash or a rebalance
// holds exactly the same records (dedupe.go).
//
// Budget: ≥ 400 k records/s to the embedded broker on one host (BenchmarkProduce,
// BenchmarkProduceLanes), and `generate --kafka-brokers` ≥ 700 k records/s (bench/pipeline,
// against the same generate writing text in the same run). On the shared 2-core dev host,
// 4 lanes with zstd to the on-disk broker once measured 0.52–0.78 M records/s. Under a load
// average of 14–19, generated VPC records cost the generate process 2.8–3.9 µs of CPU each
// (lz4, AppendJSON unrolled, the metadata cache) against 5.0–6.2 µs for the zstd producer
// before them, in alternating runs; the generator ~0.5, AppendJSON ~0.45, lz4 ~0.85 and
// kafka-go's Writer and protocol encoding most of the rest. 4 MiB batches halved the
// embedded broker's share (0.63–0.75 → 0.34–0.38 µs): it handles one request at a time with
// an fsync each. On a busy host the rate follows the CPU share and the scheduling delay of
// every hand-off (the process used 45% of one core in bench/pipeline), so CPU per record is
// the figure to compare between runs.
//
// # Runner: batches, commits, exactly-once effect
//
// The Runner joins the consumer group with kafka-go's ConsumerGroup and runs one worker per
// assigned partition for the generation (runner.go): a reader (fetch.go) reads the partition
// over a kafka-go connection (up to FetchMaxBytes per fetch, 256 KiB compressed) one
// response ahead, decoding the record batches with rawbatch.Decoder into memory reused from
// response to response (rawfetch.go: no allocation per message), a batcher (batch.go) decodes the messages into a sinks.Batch, and a
// flush loop (fanout.go) writes the batch to the sinks, in parallel, and commits it. So the
// network and decompression overlap with sink writes, partitions are written in parallel,
// and a partition whose sink backs off holds up no other one. A partition holds one decoded
// batch (a decoded record takes about 1 KB, and its strings some 150 bytes more, copied into
// an arena the batch reuses: the messages are not kept). The decoded records of all
// partitions stay within MaxDecodedRecords: each partition sizes its record slice to its
// share of it (MaxDecodedRecords over the partitions holding a batch), cuts a batch that
// filled its share rather than grow it, and one that finds no room in the budget cuts its
// batch at once, so that its flush gives records back (waiting
// instead stalled every partition still forming a batch). A fetch larger than the whole
// budget waits for all of it. A batch re-formed from an intent (below) cannot be cut short,
// so a partition reaching one reserves all of it at once, one such partition at a time and
// ahead of every other reservation, waiting at most for the whole budget less what it holds:
// partitions that each decoded part of theirs would otherwise wait on each other for ever.
// The fetched messages not yet decoded come on top, within MaxFetchedBytes: a response
// holds a whole producer batch (some 5 MB of messages) whatever FetchMaxBytes says, and a
// reader fetches only while the budget has room for one as large as its last.
//
// A batch is cut at MaxRecords, MaxBytes or MaxAge (default 20 000, 16 MiB, 60 s), and as soon as the
// partition has no more to read (its high watermark) when it was being drained from behind
// (a fetch left messages unread, or the previous batch was cut by size) or when its first
// message was produced more than MaxAge ago: a backlog's last batch does not wait for its
// age, while a partition read live still gathers MaxAge worth of messages per batch. Before
// handing a batch to the sinks it durably records an intent {topic, partition, first
// offset, last offset} in StateDir/<group>/<topic>.<partition>.intent (intent.go, with
// internal/fsx). It then writes the batch to every sink, retrying a failing sink with capped
// exponential backoff (counted in flowtap_consumer_sink_errors_total, never spinning), and
// commits the offset after the last message (Generation.CommitOffsets) only when every sink
// returned nil. Sinks name objects from (topic, partition, first, last), so a redelivered batch
// rewrites the same objects. Because a batch cut by age depends on timing, a crash between
// the intent and the commit would otherwise re-form different batches after a restart and
// leave overlapping objects in the lake; so on (re)start, when the committed offset of a
// partition is ≤ the intent's first offset, the runner re-forms exactly [first, last]
// before anything else (messages before first form their own batch). A committed offset past
// the intent's last offset means the intent was carried out; it is ignored. Intents are per
// process: when a rebalance moves a partition to another runner with another state dir in
// the middle of a batch, that runner may cut differently.
//
// A copy of a message in the dedupe window (see Re-sent messages) also belongs to its batch's
// range but reaches no sink.
//
// A message that does not decode goes to the dead-letter topic (default flowtap.deadletter)
// with its key, value and headers and flowtap-dlq-reason, -topic, -partition and -offset
// headers; its offset still belongs to the batch, so the partition keeps flowing and the
// commit moves past it. The dead-letter write is acknowledged before the batch is committed
// (a batch re-formed after a crash may dead-letter the same message twice).
//
// # Permanent sink errors
//
// A sink error is retried as above unless it is permanent (sinks.IsPermanent: the sink
// refused the data itself, e.g. Loki answering 400 for a line over its size limit), which
// would otherwise block the partition for good. Then every message of the batch goes to the
// dead-letter topic, each with its own offset and the reason "sink <name> refused the batch
// [first,last] for good: <error>" — records re-encoded with flowlog.AppendJSON and keyed by
// Record.Key() as the Producer sends them, events with their value unchanged — counted in
// flowtap_consumer_deadlettered_total{reason="refused:<sink>"} and logged at error level.
// That sink is then done with the batch; the others are still retried until they succeed,
// and only then is the batch committed.
//
// # VPN events
//
// The sinks that implement sinks.EventSink (sinks/loki) also get the event topics
// (RunnerConfig.EventTopics, default flowtap.vpn), in the same batches, intents and commits
// as records; without such a sink those topics are not read. A message becomes a
// sinks.Event: kind from its flowtap-kind header, stream from its key, data = its value
// unchanged, time from the event as flowlog parses it (event_timestamp for vpn-tunnel and
// vpn-bgp, connection-last-update-time, else connection-start-time, for client-vpn), account
// and region from the optional flowtap-account and flowtap-region headers. An event that
// does not parse, or of another kind, is dead-lettered as an undecodable message.
package kafka
