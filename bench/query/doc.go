// Package query benchmarks `flowtap query sql` (package query: listing, views, saved
// queries) against DuckDB reading the same Parquet files directly with hand-written SQL,
// over a lake written by the real Parquet sink. See query_bench_test.go.
package query
