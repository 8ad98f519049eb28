// Package bench holds flowtap's end-to-end load harnesses and the benchmark report.
// Benchmarks of single packages live beside their code (*_bench_test.go); `make bench`
// runs them all and pipes the output through bench/report, which prints one table.
package bench
