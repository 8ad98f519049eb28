// Package chaos is flowtap's fault-injection suite: the real binary (built once per run) as
// separate broker, log store, sink and generator processes, a deterministic generator run as
// the truth, and faults the suite injects itself:
//
//   - sigkill-sink, sigkill-broker, sigkill-logstore: SIGKILL of that process at random
//     moments while records flow, and a restart on the same data directory;
//   - sigkill-broker-producing: SIGKILL of the broker the moment its record segments grow,
//     so that produce calls it stored are never answered and are sent again;
//   - broker-outage: the broker is stopped (SIGKILL) for seconds under a running generator,
//     whose records wait in its spill and are sent when the broker is back;
//   - loki-slow, loki-failing: an HTTP proxy in front of the log store delays every push
//     or answers 503 to a share of them;
//   - disk-full: the lake on a size-limited tmpfs that fills up, then grows (needs root and
//     mount(8); skipped with a message otherwise).
//
// For every fault it prints a table of records sent (the generator's own output with the
// same seed), found in the lake (Parquet, compared record by record), found in the log
// store (Loki API count, against the distinct records: like Loki it keeps identical entries
// once), lost and duplicated, and fails on any loss or duplicate.
//
// `go test ./bench/chaos` runs the short mode (a few thousand records per fault, one or
// two kills, well under a minute after the build); CHAOS_LONG=1 runs the long mode (more
// records, more kills at random moments). CHAOS_REPORT=file also writes the table there.
package chaos
