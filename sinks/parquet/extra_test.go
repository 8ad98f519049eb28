package parquet

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
)

// TestUnknownColumnsAsStringColumns: records read from a file whose header names a column
// this build does not know reach Parquet as a string column of that name (DuckDB reads it),
// and read back into Record.Extra.
func TestUnknownColumnsAsStringColumns(t *testing.T) {
	header := flowlog.DefaultVPC.Header() + " some-new-field"
	in := header + "\n" +
		"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 3 4 1418530010 1418530070 ACCEPT OK alpha\n" +
		"2 123456789010 eni-1 10.0.0.1 10.0.0.3 1 2 6 3 4 1418530010 1418530070 ACCEPT OK -\n"
	rd, _ := flowlog.NewReader(strings.NewReader(in), "in", nil)
	var recs []flowlog.Record
	for {
		var r flowlog.Record
		if err := rd.Read(&r); err != nil {
			break
		}
		r.Region = "us-east-1"
		recs = append(recs, r)
	}
	if len(recs) != 2 {
		t.Fatalf("read %d records", len(recs))
	}
	dir := t.TempDir()
	st, _ := objstore.NewDir(dir)
	s, err := New(DefaultConfig(), st, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), &sinks.Batch{Topic: "t", Records: recs, LastOffset: 1}); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, Ext) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT dstaddr, some_new_field FROM read_parquet('" + files[0] + "') ORDER BY dstaddr")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var dst string
		var v sql.NullString
		if err := rows.Scan(&dst, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, dst+"="+map[bool]string{true: v.String, false: "NULL"}[v.Valid])
	}
	rows.Close()
	if strings.Join(got, ",") != "10.0.0.2=alpha,10.0.0.3=NULL" {
		t.Fatalf("DuckDB read %v", got)
	}
	data, _ := os.ReadFile(files[0])
	back, format, err := ReadRecords(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(format.Header(), " some-new-field") {
		t.Fatalf("read-back header %q", format.Header())
	}
	if v, _ := back[0].ExtraValue("some-new-field"); v != "alpha" || back[1].Extra != "" {
		t.Fatalf("read-back extras %q %q", back[0].Extra, back[1].Extra)
	}
}
