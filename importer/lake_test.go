package importer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/query"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/parquet"
)

// TestImportIntoLakeExactlyOnce is the whole path of an import: gzip text objects in a
// directory, an import killed with SIGKILL in the middle and resumed, Kafka (the embedded
// broker), the sink's runner writing the Parquet lake, and DuckDB over the lake (package
// query, as `flowtap query sql`): the lake holds every source record exactly once.
func TestImportIntoLakeExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	ctx := context.Background()
	src := t.TempDir()
	day := time.Date(2024, 5, 1, 0, 5, 0, 0, time.UTC).Unix()
	var want int
	var wantBytes uint64
	for obj := 1; obj <= 4; obj++ {
		recs := vpcRecords(obj, 2500, "111111111111", day+int64(obj)*3600)
		for i := range recs {
			wantBytes += recs[i].Bytes
		}
		want += len(recs)
		key := fmt.Sprintf("AWSLogs/111111111111/vpcflowlogs/us-east-1/2024/05/01/111111111111_vpcflowlogs_us-east-1_fl-1_20240501T%02d05Z_o%d.log.gz", obj, obj)
		path := filepath.Join(src, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, gzipText(t, flowlog.DefaultVPC, recs, ""), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	addr := startBroker(t)
	cfg := DefaultConfig()
	cfg.Source, cfg.Brokers = src, []string{addr}
	cfg.StateFile = filepath.Join(t.TempDir(), "import.state")
	cfg.ChunkRecords = 500

	before, _, out := killImportMidway(t, cfg, addr, want)
	resumed := runImport(t, cfg)
	inKafka := len(consume(t, addr))
	if resumed.Present == 0 || inKafka != want {
		t.Fatalf("killed with %d records in Kafka, the resumed run found %d of them past the checkpoint; Kafka holds %d, want %d\n%s",
			before, resumed.Present, inKafka, want, out)
	}

	// The sink: the runner writes the Parquet lake until every message is handled.
	lakeDir := t.TempDir()
	store, err := objstore.Open(lakeDir, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deps := component.Deps{Log: quiet(), Registry: reg}
	sink, err := parquet.New(parquet.DefaultConfig(), store, deps)
	if err != nil {
		t.Fatal(err)
	}
	rcfg := kafka.DefaultRunnerConfig()
	rcfg.Brokers, rcfg.StateDir, rcfg.MaxAge = []string{addr}, t.TempDir(), time.Second
	rcfg.SessionTimeout = 6 * time.Second
	r, err := kafka.NewRunner(rcfg, []sinks.Sink{sink}, component.Deps{Registry: reg, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { stop(); <-done }()
	handled := func() float64 {
		return testenv.MetricSum(t, reg, "flowtap_consumer_records_total") +
			testenv.MetricSum(t, reg, "flowtap_consumer_duplicates_total")
	}
	deadline := time.Now().Add(30 * time.Second)
	for handled() < float64(inKafka) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the sink handled %v of %d messages", handled(), inKafka)
		}
		time.Sleep(50 * time.Millisecond)
	}

	e, err := query.Open(ctx, query.Config{Dir: lakeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var rows, distinct int
	var bytes uint64
	// vpcRecords makes (srcaddr, bytes) unique per record of an import.
	err = e.DB().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT (interface_id, srcaddr, srcport, bytes, start)), sum(bytes) FROM vpc_flow_logs`).
		Scan(&rows, &distinct, &bytes)
	if err != nil {
		t.Fatal(err)
	}
	if rows != want || distinct != want || bytes != wantBytes {
		t.Fatalf("the lake holds %d rows, %d distinct, %d bytes; want %d records once each, %d bytes", rows, distinct, bytes, want, wantBytes)
	}
	t.Logf("killed with %d of %d records in Kafka; the resumed run found %d past the checkpoint and produced %d; the lake holds %d rows, %d distinct",
		before, want, resumed.Present, resumed.Records, rows, distinct)
}
