// Package logstore is flowtap's embedded, durable log store: it speaks Grafana Loki's
// HTTP API (push, query, query_range, labels, label values, series, index stats, ready,
// metrics, and what Explore, Logs Drilldown and logcli call besides: status/buildinfo,
// index/volume and volume_range, detected_labels, detected_fields and their values,
// patterns, format_query, drilldown-limits and the live tail websocket), so
// loki-client-go, Promtail/Alloy, logcli and Grafana use it unchanged. LogQL itself is
// evaluated by the logql sub-package over this package's Querier.
//
// # Where the answers differ from Loki's
//
// bench/loki compares every endpoint with Grafana Loki 3.5 over the same data. Where
// Loki's answer contradicts its documentation the store keeps the documented one:
//   - index/volume_range counts each line's bytes in the step it falls in; Loki spreads a
//     chunk's bytes over the steps its time span overlaps (its index holds counts per
//     chunk), and answers a vector when no series has more than one step. volume_range
//     is always a matrix here.
//   - detected_fields, detected_field/NAME/values and detected_labels with nothing found
//     answer their documented keys with empty lists; Loki answers {}.
//   - a tail of a metric query is refused with 400 before the websocket upgrade, as Loki
//     refuses every other invalid tail; Loki upgrades it and closes with an internal error.
//   - drilldown-limits (absent in Loki 3.5) answers with later Loki versions' shape.
//   - tail names lines dropped for a slow client in dropped_entries as Loki does, but also
//     when no new line follows (Loki waits for one, so a tail whose flood ended never
//     learns what it missed); Loki's own dropped-frame path names the line as the labels.
//   - patterns come from a clustering of this store's own (patternOf), not Loki's pattern
//     ingester: the answer has Loki's shape, the patterns found differ.
//
// # Write path
//
// A push (snappy protobuf or JSON, optionally gzip) is decoded and validated, encoded as
// one WAL record and written with a single write(2) under the ingest lock, which also
// appends the entries to each stream's in-memory head, so WAL order and head order agree.
// The push is acknowledged (204) after the write and, with fsync "always", after an
// fsync that concurrent pushes share (group commit). A head becomes a sorted,
// de-duplicated block at BlockSize; blocks are compressed (zstd or S2) outside the lock;
// a stream's blocks become a chunk file once they reach ChunkTargetSize, or after
// MaxChunkAge, ChunkIdlePeriod, when the WAL exceeds MaxWALSize, or at shutdown. WAL
// segments are deleted once every stream has flushed the records they hold.
//
// Out-of-order entries are accepted; a query sorts overlapping blocks and drops exact
// duplicates (same stream, timestamp and line), so a redelivered push changes nothing.
//
// # Limits
//
// Pushes are checked against Loki's ingestion limits (Limits: stream count, label name and
// value length, label names per series, line size, old samples, creation grace period,
// ingestion rate) with Loki's defaults, status codes and wording, per tenant
// (Config.Overrides). One deviation: Loki's distributor stores the valid part of a push and
// answers 400 for the rest; the store refuses the whole push, so a client that retries or
// dead-letters a refused batch never leaves a second copy. A new stream beyond the
// tenant's active-stream limit refuses the push (429) before anything is created, so a
// flood of new streams costs no memory. Old samples are refused (one week by default)
// so that nothing acknowledged is older than retention allows.
//
// A WAL write that fails (ENOSPC) cuts the segment back to its last whole record, or when
// that fails too seals the segment and starts a new one, so that no record acknowledged
// later sits behind a torn one. Shutdown flushes open chunks for at most
// ShutdownFlushTimeout and leaves the rest to WAL replay.
//
// # Data directory
//
//	DIR/.lock                                          fsx.LockDir: one store per directory
//	DIR/wal/<first seq, 16 hex>.wal                    WAL segments, oldest first
//	DIR/chunks/<tenant>/<fp>-<minT>-<maxT>-<seq>.chunk  one chunk of one stream
//
// fp is the xxhash of the canonical label string, minT/maxT the entries' Unix-ns range and
// seq the last WAL record the chunk holds. Files follow fsx.FileMode/DirMode. A WAL record is framed as u32 length, u32
// CRC-32C, u64 seq, payload (tenant, then per stream its labels and entries); replay stops
// a segment at the first torn or corrupt record and truncates it there. Chunk files are
// written with fsx.Create/Commit (temp file, fsync, rename); their format is described in chunkfile.go. At
// start the store reads every chunk header into the per-tenant inverted label index, then
// replays the WAL, skipping records a stream's chunk files already hold. Retention deletes
// whole chunk files whose newest entry is older than Retention.
//
// # Budget
//
// Ingest: ≥ 300 k VPC flow-log lines/s through the HTTP API on 2 cores (protobuf pushes
// of ~1000 lines); the ingest lock covers only one write(2) and head appends (tens of ns
// per line). Queries decode only blocks overlapping the query range, one group of
// overlapping blocks at a time, merging their sorted runs (and a head's runs, one per
// overlapping push) rather than sorting them; a backward log query reads each stream
// newest block first and stops once older lines cannot make its limit. bench/loki runs
// the same data and queries through Grafana Loki in the same run and reports the ratios.
package logstore
