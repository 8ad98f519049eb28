package query

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/flowtap/flowtap/lake"
)

// typesQuery returns one row per fixture VPC record with columns of many DuckDB types.
const typesQuery = `SELECT srcaddr, dstport, bytes, protocol,
	sum(bytes) OVER (ORDER BY "end", srcport) AS running,
	CAST(bytes / 4 AS DECIMAL(12,2)) AS quarter,
	bytes / 7.0 AS ratio, action = 'REJECT' AS rejected,
	make_date(2024, 5, 1) AS d, to_timestamp("end") AS ts
FROM vpc_flow_logs ORDER BY "end", srcport NULLS FIRST`

// runTo runs q and returns the result written in format f, and the number of rows.
func runTo(t testing.TB, e *Engine, q string, f OutputFormat) ([]byte, int64) {
	t.Helper()
	rows, err := e.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	n, err := Write(&buf, rows, f)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), n
}

func TestOutputFormatsRoundTrip(t *testing.T) {
	e := openLake(t, writeFixtureLake(t, lake.Hive), TimeRange{})
	csvOut, n := runTo(t, e, typesQuery, FormatCSV)
	if n != 8 {
		t.Fatalf("rows = %d", n)
	}
	recs, err := csv.NewReader(bytes.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 9 || strings.Join(recs[0], ",") != "srcaddr,dstport,bytes,protocol,running,quarter,ratio,rejected,d,ts" {
		t.Fatalf("csv header/rows: %v", recs)
	}
	// The NODATA record (end = day2, srcport NULL) sorts first within day 2.
	want := []string{"10.0.0.1", "443", "1000", "6", "1000", "250.00", fmt.Sprint(1000 / 7.0), "false", "2024-05-01", "2024-05-01T10:00:00Z"}
	if got := recs[1]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("csv row 1:\n got %v\nwant %v", got, want)
	}
	var nodata []string
	for _, r := range recs[1:] {
		if r[0] == "" {
			nodata = r
		}
	}
	if nodata == nil || nodata[1] != "" || nodata[2] != "" || nodata[7] != "" {
		t.Fatalf("NULLs must be empty in CSV: %v", nodata)
	}

	jsonOut, _ := runTo(t, e, typesQuery, FormatJSON)
	lines := strings.Split(strings.TrimSuffix(string(jsonOut), "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("json lines = %d", len(lines))
	}
	for i, l := range lines {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		for j, c := range recs[0] {
			v := m[c]
			got := ""
			if v != nil {
				got = fmt.Sprint(v)
			}
			if got != recs[i+1][j] {
				t.Errorf("row %d col %s: json %q csv %q", i, c, got, recs[i+1][j])
			}
		}
	}
	if !strings.HasPrefix(lines[0], `{"srcaddr":"10.0.0.1","dstport":443,"bytes":1000,`) {
		t.Errorf("json keys must keep column order and numbers must be numbers: %s", lines[0])
	}

	arrowOut, _ := runTo(t, e, typesQuery, FormatArrow)
	r, err := ipc.NewFileReader(bytes.NewReader(arrowOut), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkArrow(t, r.Schema(), func(yield func(arrow.RecordBatch)) {
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.RecordBatch(i)
			if err != nil {
				t.Fatal(err)
			}
			yield(rec)
		}
	}, recs)

	pqOut, _ := runTo(t, e, typesQuery, FormatParquet)
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(pqOut), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1000)
	defer tr.Release()
	checkArrow(t, tbl.Schema(), func(yield func(arrow.RecordBatch)) {
		for tr.Next() {
			yield(tr.RecordBatch())
		}
	}, recs)

	// DuckDB reads the Parquet output back with the same values.
	path := filepath.Join(t.TempDir(), "out.parquet")
	os.WriteFile(path, pqOut, 0o644)
	got := csvOf(t, e, "SELECT * FROM read_parquet('"+path+"')")
	if got != string(csvOut) {
		t.Errorf("parquet via duckdb:\n%s\nwant\n%s", got, csvOut)
	}
}

// checkArrow compares Arrow batches with the CSV rendering of the same result.
func checkArrow(t *testing.T, schema *arrow.Schema, batches func(func(arrow.RecordBatch)), csvRecs [][]string) {
	t.Helper()
	wantTypes := []string{"utf8", "int32", "int64", "int32", "decimal(38, 0)", "decimal(12, 2)", "float64", "bool", "date32", "timestamp[us, tz=UTC]"}
	for i, f := range schema.Fields() {
		if f.Name != csvRecs[0][i] || f.Type.String() != wantTypes[i] {
			t.Errorf("field %d: %s %s, want %s %s", i, f.Name, f.Type, csvRecs[0][i], wantTypes[i])
		}
	}
	row := 1
	batches(func(rec arrow.RecordBatch) {
		for i := 0; i < int(rec.NumRows()); i++ {
			for c := 0; c < int(rec.NumCols()); c++ {
				col := rec.Column(c)
				got := ""
				if !col.IsNull(i) {
					got = col.ValueStr(i)
				}
				want := csvRecs[row][c]
				switch schema.Field(c).Type.ID() {
				case arrow.DECIMAL128:
					if col.IsNull(i) {
						break
					}
					got = col.(*array.Decimal128).Value(i).ToString(schema.Field(c).Type.(*arrow.Decimal128Type).Scale)
				case arrow.DATE32:
					got = col.(*array.Date32).Value(i).FormattedString()
				case arrow.TIMESTAMP:
					if !col.IsNull(i) {
						got = col.(*array.Timestamp).Value(i).ToTime(arrow.Microsecond).UTC().Format("2006-01-02T15:04:05Z07:00")
					}
				}
				if got != want {
					t.Errorf("row %d col %s: arrow %q csv %q", row, schema.Field(c).Name, got, want)
				}
			}
			row++
		}
	})
	if row != len(csvRecs) {
		t.Errorf("arrow rows = %d, want %d", row-1, len(csvRecs)-1)
	}
}

func TestTableOutput(t *testing.T) {
	e := openLake(t, writeFixtureLake(t, lake.Plain), TimeRange{})
	out, n := runTo(t, e, `SELECT dstport, action, count(*) AS flows FROM vpc_flow_logs GROUP BY ALL ORDER BY dstport NULLS LAST, action`, FormatTable)
	want := `dstport  action  flows
-------  ------  -----
     22  REJECT      2
     53  ACCEPT      1
    443  ACCEPT      3
   3389  REJECT      1
   NULL  NULL        1
(5 rows)
`
	if n != 5 || string(out) != want {
		t.Fatalf("table:\n%s\nwant\n%s", out, want)
	}
	if _, err := ParseOutputFormat("xml"); err == nil {
		t.Fatal("want error for unknown format")
	}
}
