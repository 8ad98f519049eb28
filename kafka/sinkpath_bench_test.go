package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/loki"
	"github.com/flowtap/flowtap/sinks/parquet"
	"github.com/flowtap/flowtap/sinks/sinktest"
)

// generated returns the records of `flowtap generate --interval 60 --seed 7` over the last
// minutes of log time: recent, so that the log store's old-sample limit takes them all.
func generated(tb testing.TB, minutes int) []flowlog.Record {
	end := time.Now().UTC().Truncate(time.Minute)
	return sinktest.Generated(tb, end.Add(-time.Duration(minutes)*time.Minute), minutes)
}

// BenchmarkSinkPath runs the consumer runner into the real destinations of `flowtap sink
// --parquet DIR --loki-url URL`: the Parquet sink on a directory and the Loki sink pushing
// to an in-process log store. It reports records/s and the CPU time of the whole process
// per record (broker and log store included: profile with -cpuprofile to split it).
// BENCH_MINUTES sets the generated range (default 5 minutes of the default topology).
func BenchmarkSinkPath(b *testing.B) {
	minutes := 5
	if v := os.Getenv("BENCH_MINUTES"); v != "" {
		minutes, _ = strconv.Atoi(v)
	}
	recs := generated(b, minutes)
	br := startBroker(b, "", "")
	p, _ := testProducer(b, br.Addr())
	for i := 0; i < len(recs); i += 10000 {
		if err := p.WriteRecords(context.Background(), recs[i:min(i+10000, len(recs))]); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, 2*time.Minute, "produced", func() bool { return p.Stats().Produced >= int64(len(recs)) })

	lcfg := testenv.LogstoreConfig(b)
	lcfg.IngestionRateMB, lcfg.IngestionBurstSizeMB = 4096, 8192 // as bench/pipeline: limits do not shape the figure
	_, lokiURL := testenv.Logstore(b, lcfg)

	b.ResetTimer()
	for range b.N {
		store, err := objstore.NewDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		pq, err := parquet.New(parquet.DefaultConfig(), store, component.Deps{})
		if err != nil {
			b.Fatal(err)
		}
		lcfg := loki.DefaultConfig()
		lcfg.URL = lokiURL
		lk, err := loki.New(lcfg, component.Deps{})
		if err != nil {
			b.Fatal(err)
		}
		cfg := testRunnerConfig(b, br.Addr(), b.TempDir())
		def := DefaultRunnerConfig()
		cfg.MaxRecords, cfg.MaxAge = def.MaxRecords, 2*time.Second
		cfg.Group = fmt.Sprintf("bench-%d", time.Now().UnixNano())
		r, err := NewRunner(cfg, []sinks.Sink{pq, lk}, component.Deps{Log: benchLog()})
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := processCPU()
		start := time.Now()
		stop := runRunner(b, r)
		for counterVecSum(r.m.consumed) < float64(len(recs)) {
			time.Sleep(5 * time.Millisecond)
		}
		el := time.Since(start)
		cpu := processCPU() - cpu0
		stop()
		if n := counterVecSum(r.m.deadLettered); n > 0 {
			b.Fatalf("%.0f messages dead-lettered: the figure would not be the sink path's", n)
		}
		b.ReportMetric(float64(len(recs))/el.Seconds(), "records/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(recs)), "cpu-ns/record")
	}
}

func benchLog() *slog.Logger {
	if os.Getenv("BENCH_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return testenv.Quiet()
}
