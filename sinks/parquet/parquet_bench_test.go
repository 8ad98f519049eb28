package parquet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/sinktest"
)

// benchRows is one realistic 5-minute batch (one partition's worth of a busy account).
const benchRows = 200_000

// BenchmarkEncodeVPC measures the Parquet encoder alone (29 columns, gzip pages) and reports
// rows/s and the file size relative to the gzip text of the same rows in the same format
// (size_ratio, goal ≤ 0.8) and in AWS's default 14-field format (size_ratio_default14).
func BenchmarkEncodeVPC(b *testing.B) {
	benchEncode(b, realistic(benchRows, 3))
}

// BenchmarkEncodeVPCParsed is BenchmarkEncodeVPC on records parsed from their text lines,
// as the Kafka path delivers them: no two records share the memory of their strings, so
// every id is compared and hashed by content, not recognised by its pointer.
func BenchmarkEncodeVPCParsed(b *testing.B) {
	recs := realistic(benchRows, 3)
	for i := range recs {
		line := string(DefaultVPCFormat.AppendText(nil, &recs[i]))
		if err := DefaultVPCFormat.Parse(&recs[i], line); err != nil {
			b.Fatal(err)
		}
	}
	benchEncode(b, recs)
}

func benchEncode(b *testing.B, recs []flowlog.Record) {
	textSize := gzipTextSize(b, recs, false)
	textSize14 := gzipTextSize(b, recs, true)
	var buf bytes.Buffer
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		writeFile(b, &buf, DefaultVPCFormat, WriterOptions{}, recs)
	}
	b.StopTimer()
	reportRates(b, b.N*len(recs), cpu0)
	b.ReportMetric(float64(buf.Len())/float64(textSize), "size_ratio")
	b.ReportMetric(float64(buf.Len())/float64(textSize14), "size_ratio_default14")
	b.ReportMetric(float64(buf.Len())/float64(len(recs)), "B/row")
}

// BenchmarkSinkVPC measures the whole sink on a local directory: split by account, region
// and bucket, encode, fsync, rename.
func BenchmarkSinkVPC(b *testing.B) {
	recs := realistic(benchRows, 4)
	st, _ := objstore.NewDir(b.TempDir())
	s, _ := New(DefaultConfig(), st, component.Deps{})
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		batch := &sinks.Batch{Topic: "vpc", Partition: 0, FirstOffset: int64(i) * benchRows, LastOffset: int64(i+1)*benchRows - 1, Records: recs}
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRates(b, b.N*len(recs), cpu0)
}

// cpuTime is the CPU time (user+system) of the process so far. On a machine shared with
// other jobs wall time overstates the cost, so the benchmarks also report rows per
// CPU-second, which is what "rows/s/core" means. The process CPU includes the GC.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRates(b *testing.B, rows int, cpu0 time.Duration) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

// gzipTextSize is the size of the rows as one AWS gzip text file (header + lines), in the
// 29-field format of the Parquet file or in AWS's default format.
func gzipTextSize(b *testing.B, recs []flowlog.Record, default14 bool) int {
	format := DefaultVPCFormat
	if default14 {
		format = flowlog.DefaultVPC
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	io.WriteString(zw, format.Header()+"\n")
	line := make([]byte, 0, 512)
	for i := range recs {
		line = append(format.AppendText(line[:0], &recs[i]), '\n')
		zw.Write(line)
	}
	zw.Close()
	return out.Len()
}

// BenchmarkEncodeVPCGzipLevels compares gzip levels for the page codec: speed against
// file size (size_ratio against the gzip text of the same rows).
func BenchmarkEncodeVPCGzipLevels(b *testing.B) {
	recs := realistic(benchRows, 3)
	textSize := gzipTextSize(b, recs, false)
	for _, level := range []int{1, 2, 3, 4, 5, 6, 9} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			codec, err := Codec(fmt.Sprintf("gzip-%d", level))
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				writeFile(b, &buf, DefaultVPCFormat, WriterOptions{Codec: codec}, recs)
			}
			b.StopTimer()
			reportRates(b, b.N*len(recs), cpu0)
			b.ReportMetric(float64(buf.Len())/float64(textSize), "size_ratio")
		})
	}
}

// BenchmarkSinkGenerated is the Parquet destination as `flowtap sink` runs it: records of
// `flowtap generate --seed 7` (default topology, 1000 records/s of log time), spread over
// 4 partitions by interface id as the producer keys them, each partition cut into batches
// of up to 20 000 records (the runner's default) whose strings were copied out of their
// JSON messages (flowlog.ParseJSONCopy, as the runner decodes them), written through
// Sink.Write to a local directory. cpu-ns/record is the process CPU per record (GC
// included); compare it with an older build in the same session.
func BenchmarkSinkGenerated(b *testing.B) {
	batches, n := generatedBatches(b, 3, 20000)
	st, _ := objstore.NewDir(b.TempDir())
	s, err := New(DefaultConfig(), st, component.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the garbage of generating and decoding is not the sink's
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for j, batch := range batches {
			batch.FirstOffset = int64(i*len(batches)+j) * 20000 // new object names, as a live sink writes
			batch.LastOffset = batch.FirstOffset + int64(len(batch.Records)) - 1
			if err := s.Write(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	reportRates(b, b.N*n, cpu0)
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/record")
}

// generatedBatches returns the sink batches of the given minutes of generated VPC records
// (see BenchmarkSinkGenerated) and their number of records.
func generatedBatches(b testing.TB, minutes int, maxRecords int) ([]*sinks.Batch, int) {
	recs := sinktest.Generated(b, time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC), minutes)
	return sinktest.Batches(b, "vpc", recs, 4, maxRecords), len(recs)
}

// BenchmarkEncodeGenerated is BenchmarkSinkGenerated without the store: each group of each
// batch encoded by one reused FileWriter into memory, the part of the sink this package's
// encoder decides (less noisy on a shared machine than the fsyncs of the whole sink).
func BenchmarkEncodeGenerated(b *testing.B) {
	benchEncodeGenerated(b, 20000)
}

// BenchmarkEncodeGeneratedSmallFiles is BenchmarkEncodeGenerated with batches of up to
// 7 000 records, whose groups make files of about 3 500 rows, the size of the objects
// `go run ./bench/pipeline -minutes 60` has the sink write: there the costs of each page
// and each file weigh three times more per record.
func BenchmarkEncodeGeneratedSmallFiles(b *testing.B) {
	benchEncodeGenerated(b, 7000)
}

func benchEncodeGenerated(b *testing.B, maxRecords int) {
	batches, n := generatedBatches(b, 3, maxRecords)
	textSize := 0 // the groups as AWS's gzip text files, for size_ratio
	for _, batch := range batches {
		for _, g := range lake.Split(batch.Records, "", "") {
			recs := make([]flowlog.Record, len(g.Index))
			for k, j := range g.Index {
				recs[k] = batch.Records[j]
			}
			textSize += gzipTextSize(b, recs, false)
		}
	}
	var buf bytes.Buffer
	fw := NewFileWriter(&buf, DefaultVPCFormat, WriterOptions{})
	runtime.GC()
	b.ResetTimer()
	cpu0 := cpuTime()
	size := 0
	for i := 0; i < b.N; i++ {
		size = 0
		for _, batch := range batches {
			for _, g := range lake.Split(batch.Records, "", "") {
				buf.Reset()
				fw.Reset(&buf)
				for _, j := range g.Index {
					if err := fw.WriteRecord(&batch.Records[j]); err != nil {
						b.Fatal(err)
					}
				}
				if err := fw.Close(); err != nil {
					b.Fatal(err)
				}
				size += buf.Len()
			}
		}
	}
	b.StopTimer()
	reportRates(b, b.N*n, cpu0)
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/record")
	b.ReportMetric(float64(size)/float64(n), "B/record")
	b.ReportMetric(float64(size)/float64(textSize), "size_ratio")
}
