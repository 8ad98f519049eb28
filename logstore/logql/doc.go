// Package logql parses and evaluates LogQL, Grafana Loki's query language, over any
// storage that implements Querier (the logstore package, or MemQuerier in tests).
//
// ParseExpr turns a query into an Expr; errors are *ParseError with Loki's wording
// ("parse error at line 1, col 12: syntax error: unexpected ..."). Engine.Exec evaluates a
// query for a time range and returns streams (log queries), a matrix (metric range
// queries), a vector (instant queries) or a scalar, with Loki's summary statistics.
//
// Semantics follow Loki and Prometheus:
//   - log queries select Start <= t < End, keep the newest (Backward) or oldest (Forward)
//     Limit entries over all streams, and group entries by their labels after the pipeline
//     (stream labels plus extracted labels; an extracted name that clashes with a stream
//     label gets the _extracted suffix);
//   - metric range queries evaluate on the step grid: Start rounds down and End up to a
//     multiple of Step (as Loki's query frontend does), then T = Start, Start+Step, ...;
//     a range vector at T covers (T-offset-range, T-offset]; an empty window yields no
//     point; the default step is the range / 250, at least 1s; at most 11,000 points per
//     series; the series limit counts the result's series only;
//   - instant vectors are ordered by labels (topk and bottomk too), by value only for
//     sort and sort_desc; topk/bottomk break ties by labels;
//   - a stage error replaces an earlier one (label filters excepted), keep never drops
//     __error__ or __error_details__, label filters do not see __error_details__, a label
//     a stage set to "" is part of the result, unwrap skips lines without the label;
//   - by/without on a range aggregation is allowed where Loki's documentation allows it
//     (unwrapped ones other than sum_over_time, rate and rate_counter);
//   - parsers that fail set __error__ (JSONParserErr, LogfmtParserErr with --strict,
//     LabelFilterErr, SampleExtractionErr, TemplateFormatErr) and __error_details__; a metric
//     query whose samples still carry __error__ fails with *PipelineError, as in Loki;
//     as Loki's parser hints do, sum(...) over a pipeline that reads no label skips its
//     parsers, and sum by (__error__) groups by the error instead of failing;
//   - logfmt follows Loki's scanner: a pair whose unquoted value holds '=' or '"' is
//     dropped (--strict reports it); json with paths keeps objects and arrays as their
//     raw text and sets a missing path to ""; a numeric label filter drops a line that
//     lacks the label; x/0 and x%0 are NaN (Loki, unlike Prometheus);
//   - line_format and label_format templates offer every function Loki documents, with
//     its argument order and conversions; a label_format stage's templates see the
//     labels as they were before the stage (Loki fills them once per line);
//   - |> and !> match a pattern of literals and <_>; as in Loki, the first literal need
//     not start the line;
//   - the unwrapped label is removed from a series' labels; vector matching is one-to-one
//     or, with group_left/group_right, many-to-one; and, or, unless are supported;
//   - vector(N), label_replace, sort, sort_desc, absent_over_time (labelled by the
//     selector's equality matchers) and rate_counter (Loki's arithmetic, see rateCounter);
//   - a query nests at most MaxDepth levels (brackets, signs, chained operators): deeper
//     ones get a positioned parse error instead of exhausting the stack;
//   - instant topk/bottomk results are ordered by value, every other result by labels.
//
// Where Loki 3.5 contradicts its own documentation, flowtap follows the documentation:
// label filter regexes (=~, !~) are anchored full matches (Loki's optimiser turns a.*|b.*
// into substring tests), and an instant scalar carries the evaluation time (Loki stamps a
// constant, overflowed time). bench/loki's compatibility corpus records every such case.
//
// Not implemented: structured metadata, query sharding, approx_topk, variants.
//
// Budget: the pipeline allocates nothing per line for line filters, pattern, regexp and
// label filters (labels are built in a reused builder and keyed in a reused buffer;
// strings are slices of the line). A line filter costs about 1.4x a bare strings.Contains
// over the same entries. Range aggregations that only count (count_over_time, rate,
// bytes_over_time, bytes_rate) accumulate each series in cumulative histograms on the step
// grid once it has a few samples per step, so memory is O(series x steps) and independent
// of the number of lines; sum by (...) over them is pushed down, so series are grouped
// while lines stream through. See engine_bench_test.go for figures over 1 M VPC lines.
package logql
