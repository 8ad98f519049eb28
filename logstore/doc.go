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
//   - patterns cluster each stream's lines with this store's own implementation of the
//     Drain algorithm (patterns.go), not Loki's pattern ingester: the answer has Loki's
//     shape, the patterns found may differ, and Loki leaves out some it has found.
package logstore
