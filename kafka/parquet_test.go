package kafka

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks/parquet"
)

// TestProduceToParquet: producer → embedded broker → runner → Parquet sink in a local
// directory, read back with parquet-go and with DuckDB: the same records, once each.
func TestProduceToParquet(t *testing.T) {
	b, p := brokerAndProducer(t)
	seq := map[string]uint64{}
	sent := makeRecords(3000, 41, 0, seq)
	if err := p.WriteRecords(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	var wantBytes uint64
	format := parquet.DefaultVPCFormat
	var want []string
	for i := range sent {
		wantBytes += sent[i].Bytes
		want = append(want, string(format.AppendText(nil, &sent[i])))
	}

	lake := t.TempDir()
	store, err := objstore.NewDir(lake)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := parquet.New(parquet.DefaultConfig(), store, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-parquet"
	cfg.MaxRecords = 1000
	startRunner(t, cfg, sink)

	readAll := func() []string {
		var got []string
		filepath.Walk(lake, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !strings.HasSuffix(path, parquet.Ext) {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, ff, err := parquet.ReadRecords(f, info.Size())
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for i := range recs {
				got = append(got, string(ff.AppendText(nil, &recs[i])))
			}
			return nil
		})
		return got
	}
	var got []string
	waitFor(t, 30*time.Second, "all records in Parquet", func() bool {
		got = readAll()
		return len(got) >= len(sent)
	})
	testenv.SameMultiset(t, "records parquet-go read", got, want)

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	var sum uint64
	q := "SELECT count(*), sum(bytes) FROM read_parquet('" + filepath.ToSlash(lake) + "/**/*.parquet')"
	if err := db.QueryRow(q).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(sent)) || sum != wantBytes {
		t.Fatalf("DuckDB: count %d sum(bytes) %d, want %d and %d", n, sum, len(sent), wantBytes)
	}
}
