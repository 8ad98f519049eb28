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
func benchDir(b testing.TB, objects, per int) string {
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
// the default chunk and compression. Baseline, in the same iterations (alternating, so both
// see the same load of a shared machine): the same objects only read and parsed; of-read is
// the import's rate as a fraction of the baseline's.
//
//	go test -run '^$' -bench 'ImportLocalGzip|ReadLocalGzip' -benchtime 3x ./importer/
func BenchmarkImportLocalGzip(b *testing.B) {
	const objects, per = 4, 100_000
	dir := benchDir(b, objects, per)
	addr := startBroker(b)
	b.ResetTimer()
	var total int64
	var elapsed, readElapsed time.Duration
	var cpu int64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if n := readAll(b, dir); n != objects*per {
			b.Fatalf("read %d records", n)
		}
		readElapsed += time.Since(t0)
		cfg := DefaultConfig()
		cfg.Source, cfg.Brokers = dir, []string{addr}
		im := newImporter(b, cfg)
		cpu0 := processCPU()
		st, err := im.Run(context.Background())
		cpu += processCPU() - cpu0
		if err != nil || st.Records != objects*per {
			b.Fatalf("%+v %v", st, err)
		}
		total += st.Records
		elapsed += st.Elapsed
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(total)/readElapsed.Seconds(), "read-records/s")
	b.ReportMetric(readElapsed.Seconds()/elapsed.Seconds(), "of-read")
	// The machine is shared: CPU per record (importer and in-process broker together) is the
	// figure that compares between runs; 1e9/cpu-ns is the rate one core sustains.
	b.ReportMetric(float64(cpu)/float64(total), "cpu-ns/record")
}

// readAll reads and parses every object of dir as BenchmarkReadLocalGzip does.
func readAll(b *testing.B, dir string) int64 {
	var n int64
	files, _ := filepath.Glob(filepath.Join(dir, "AWSLogs/*/*/*/*/*/*/*.log.gz"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		rd, _ := flowlog.NewReader(fh, f, nil)
		var r flowlog.Record
		for rd.Read(&r) != io.EOF {
			n++
		}
		fh.Close()
	}
	return n
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
		total += readAll(b, dir)
	}
	b.ReportMetric(float64(total)/time.Since(t0).Seconds(), "records/s")
	b.ReportMetric(float64(processCPU()-cpu0)/float64(total), "cpu-ns/record")
}
