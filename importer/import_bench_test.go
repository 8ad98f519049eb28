package importer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
)

// benchDir writes objects × per records of AWS's default VPC format as gzip text objects in
// the plain layout.
func benchDir(b *testing.B, objects, per int) string {
	dir := b.TempDir()
	start := time.Date(2024, 5, 1, 0, 5, 0, 0, time.UTC).Unix()
	for o := 0; o < objects; o++ {
		key := filepath.Join(dir, "AWSLogs/111111111111/vpcflowlogs/us-east-1/2024/05/01",
			"111111111111_vpcflowlogs_us-east-1_fl-1_20240501T0005Z_"+string(rune('a'+o))+".log.gz")
		os.MkdirAll(filepath.Dir(key), 0o750)
		if err := os.WriteFile(key, gzipText(b, flowlog.DefaultVPC, vpcRecords(o, per, "111111111111", start), ""), 0o640); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkImportLocalGzip: gzip text objects in a directory to the embedded broker, with
// the default chunk and compression. Baseline: BenchmarkReadLocalGzip, the same objects
// only read and parsed.
//
//	go test -run '^$' -bench 'ImportLocalGzip|ReadLocalGzip' -benchtime 3x ./importer/
func BenchmarkImportLocalGzip(b *testing.B) {
	const objects, per = 4, 100_000
	dir := benchDir(b, objects, per)
	addr := startBroker(b)
	b.ResetTimer()
	var total int64
	var elapsed time.Duration
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		cfg := DefaultConfig()
		cfg.Source, cfg.Brokers = dir, []string{addr}
		im, err := New(cfg, quiet())
		if err != nil {
			b.Fatal(err)
		}
		st, err := im.Run(context.Background())
		if err != nil || st.Records != objects*per {
			b.Fatalf("%+v %v", st, err)
		}
		total += st.Records
		elapsed += st.Elapsed
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
	// The machine is shared: CPU per record (importer and in-process broker together) is the
	// figure that compares between runs; 1e9/cpu-ns is the rate one core sustains.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(total), "cpu-ns/record")
}

// processCPU is the process's user+system CPU time in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkReadLocalGzip(b *testing.B) {
	const objects, per = 4, 100_000
	dir := benchDir(b, objects, per)
	b.ResetTimer()
	var total int64
	t0 := time.Now()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		files, _ := filepath.Glob(filepath.Join(dir, "AWSLogs/*/*/*/*/*/*/*.log.gz"))
		for _, f := range files {
			fh, _ := os.Open(f)
			rd, _ := flowlog.NewReader(fh, f, nil)
			var r flowlog.Record
			for rd.Read(&r) != io.EOF {
				total++
			}
			fh.Close()
		}
	}
	b.ReportMetric(float64(total)/time.Since(t0).Seconds(), "records/s")
	b.ReportMetric(float64(processCPU()-cpu0)/float64(total), "cpu-ns/record")
}
