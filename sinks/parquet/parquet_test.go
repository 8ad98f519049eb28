package parquet

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	pq "github.com/parquet-go/parquet-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/lake/objstore/s3test"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/sinktest"
	"github.com/flowtap/flowtap/sinks/text"
)

func encode(t testing.TB, format *flowlog.Format, recs []flowlog.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	writeFile(t, &buf, format, WriterOptions{RowGroupRows: 3}, recs) // several row groups
	return buf.Bytes()
}

// writeFile encodes recs as one Parquet file into buf, emptied first.
func writeFile(tb testing.TB, buf *bytes.Buffer, format *flowlog.Format, opts WriterOptions, recs []flowlog.Record) {
	tb.Helper()
	buf.Reset()
	fw := NewFileWriter(buf, format, opts)
	if err := fw.Write(recs...); err != nil {
		tb.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
}

// lines renders records in format, the reference for comparisons.
func lines(format *flowlog.Format, recs []flowlog.Record) []string {
	out := make([]string, len(recs))
	for i := range recs {
		out[i] = string(format.AppendText(nil, &recs[i]))
	}
	return out
}

func testCases(t testing.TB) map[string]struct {
	format *flowlog.Format
	recs   []flowlog.Record
} {
	var tgw flowlog.Record
	if err := flowlog.DefaultTGW.Parse(&tgw, tgwLine); err != nil {
		t.Fatal(err)
	}
	vpc := append([]flowlog.Record{fullRecord(flowlog.KindVPC), emptyRecord(flowlog.KindVPC)}, realistic(200, 1)...)
	return map[string]struct {
		format *flowlog.Format
		recs   []flowlog.Record
	}{
		"vpc-default29": {DefaultVPCFormat, vpc},
		"vpc-all":       {flowlog.AllVPC, vpc},
		"vpc-aws":       {flowlog.DefaultVPC, vpc},
		"tgw-default":   {flowlog.DefaultTGW, []flowlog.Record{tgw, fullRecord(flowlog.KindTGW), emptyRecord(flowlog.KindTGW)}},
		"tgw-all":       {flowlog.AllTGW, []flowlog.Record{tgw, fullRecord(flowlog.KindTGW), emptyRecord(flowlog.KindTGW)}},
	}
}

func TestSchemaMatchesAWS(t *testing.T) {
	s := Schema(DefaultVPCFormat)
	want := "version account_id interface_id srcaddr dstaddr srcport dstport protocol packets bytes start end action log_status " +
		"vpc_id subnet_id instance_id tcp_flags type pkt_srcaddr pkt_dstaddr region az_id sublocation_type sublocation_id " +
		"pkt_src_aws_service pkt_dst_aws_service flow_direction traffic_path"
	var got []string
	for _, c := range s.Columns() {
		got = append(got, strings.Join(c, "."))
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("columns\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, f := range s.Fields() {
		if !f.Optional() {
			t.Errorf("%s is not OPTIONAL", f.Name())
		}
		fd, _ := FieldOfColumn(f.Name())
		want := map[flowlog.ColumnType]pq.Kind{flowlog.ColumnInt32: pq.Int32, flowlog.ColumnInt64: pq.Int64, flowlog.ColumnString: pq.ByteArray}[fd.Info().Type]
		if f.Type().Kind() != want {
			t.Errorf("%s: physical %s, want %s", f.Name(), f.Type().Kind(), want)
		}
		if want == pq.ByteArray && f.Type().LogicalType().String() != "STRING" {
			t.Errorf("%s: not annotated as a UTF-8 string", f.Name())
		}
	}
}

func TestRoundTripParquetGo(t *testing.T) {
	for name, c := range testCases(t) {
		t.Run(name, func(t *testing.T) {
			data := encode(t, c.format, c.recs)
			if string(data[:4]) != "PAR1" || string(data[len(data)-4:]) != "PAR1" {
				t.Fatal("not a bare Parquet file")
			}
			got, format, err := ReadRecords(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if format.Header() != c.format.Header() {
				t.Fatalf("columns %q, want %q", format.Header(), c.format.Header())
			}
			want, have := lines(c.format, c.recs), lines(c.format, got)
			if len(have) != len(want) {
				t.Fatalf("%d rows, want %d", len(have), len(want))
			}
			for i := range want {
				if have[i] != want[i] {
					t.Fatalf("row %d:\n got %s\nwant %s", i, have[i], want[i])
				}
			}
			f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.recs) > 3 && len(f.RowGroups()) < 2 {
				t.Fatalf("%d row groups, want several with RowGroupRows=3", len(f.RowGroups()))
			}
			for _, col := range f.Metadata().RowGroups[0].Columns {
				if col.MetaData.Codec.String() != "GZIP" {
					t.Fatalf("column %v codec %s, want GZIP", col.MetaData.PathInSchema, col.MetaData.Codec)
				}
			}
		})
	}
}

// TestRoundTripDuckDB reads the files back with DuckDB, an independent Parquet reader, and
// checks column names, SQL types and every value.
func TestRoundTripDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	for name, c := range testCases(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".parquet")
			if err := os.WriteFile(path, encode(t, c.format, c.recs), 0o644); err != nil {
				t.Fatal(err)
			}
			types := map[flowlog.ColumnType]string{flowlog.ColumnInt32: "INTEGER", flowlog.ColumnInt64: "BIGINT", flowlog.ColumnString: "VARCHAR"}
			rows, err := db.Query(fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s')", path))
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for rows.Next() {
				var col, typ string
				var null, key, def, extra sql.NullString
				if err := rows.Scan(&col, &typ, &null, &key, &def, &extra); err != nil {
					t.Fatal(err)
				}
				f := c.format.Fields()[i]
				if col != f.Column() || typ != types[f.Info().Type] {
					t.Errorf("column %d: %s %s, want %s %s", i, col, typ, f.Column(), types[f.Info().Type])
				}
				i++
			}
			rows.Close()
			if i != len(c.format.Fields()) {
				t.Fatalf("%d columns, want %d", i, len(c.format.Fields()))
			}

			rows, err = db.Query(fmt.Sprintf("SELECT * FROM read_parquet('%s')", path))
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			want := lines(c.format, c.recs)
			n := 0
			vals := make([]any, len(c.format.Fields()))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				parts := make([]string, len(vals))
				for i, v := range vals {
					if v == nil {
						parts[i] = "-"
					} else {
						parts[i] = fmt.Sprint(v)
					}
				}
				if got := strings.Join(parts, " "); n >= len(want) || got != want[n] {
					t.Fatalf("row %d:\n got %s\nwant %s", n, got, want[min(n, len(want)-1)])
				}
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Fatalf("DuckDB read %d rows, want %d", n, len(want))
			}
		})
	}
}

func TestWrongKindRejected(t *testing.T) {
	fw := NewFileWriter(io.Discard, DefaultVPCFormat, WriterOptions{})
	if err := fw.Write(fullRecord(flowlog.KindTGW)); err == nil {
		t.Fatal("TGW record accepted in a VPC file")
	}
}

func mixedBatch(t testing.TB) *sinks.Batch {
	recs := realistic(2000, 7) // 3 accounts, 2 regions, ~2 buckets
	var tgw flowlog.Record
	flowlog.DefaultTGW.Parse(&tgw, tgwLine)
	recs = append(recs, tgw, fullRecord(flowlog.KindTGW))
	return &sinks.Batch{Topic: "flowlogs-vpc", Partition: 2, FirstOffset: 1000, LastOffset: 1000 + int64(len(recs)) - 1, Records: recs}
}

// readAll reads every Parquet object in store back into records, keyed by kind.
func readAll(t *testing.T, st objstore.Store) (map[flowlog.Kind][]string, []objstore.Object) {
	ctx := context.Background()
	objs, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[flowlog.Kind][]string{}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, Ext) {
			t.Fatalf("unexpected object %s", o.Key)
		}
		rc, err := st.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		recs, format, err := ReadRecords(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		pf, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if src, _ := pf.Lookup(SourceKey); !strings.HasPrefix(src, "flowlogs-vpc/2/1000-") || len(recs) == 0 ||
			!strings.Contains(src, fmt.Sprintf("/%s/%s/%s/", recs[0].Kind, recs[0].AccountID, recs[0].Region)) {
			t.Errorf("%s: source metadata %q", o.Key, src)
		}
		all := flowlog.AllVPC
		if format.Kind() == flowlog.KindTGW {
			all = flowlog.AllTGW
			if !strings.Contains(o.Key, "_fl-0fedcba9876543210_") {
				t.Errorf("TGW object %s not under the TGW flow log id", o.Key)
			}
		}
		for i := range recs {
			r := &recs[i]
			if !strings.Contains(o.Key, "/"+r.AccountID+"_vpcflowlogs_"+r.Region+"_") {
				t.Errorf("record of %s/%s in %s", r.AccountID, r.Region, o.Key)
			}
			out[format.Kind()] = append(out[format.Kind()], string(all.AppendText(nil, r)))
		}
	}
	return out, objs
}

func TestSinkRedelivery(t *testing.T) {
	st, _ := objstore.NewDir(t.TempDir())
	s, err := New(DefaultConfig(), st, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := mixedBatch(t)
	if objs := sinktest.Redeliver(t, s, st, b); len(objs) < 6 {
		t.Fatalf("%d objects, want ≥ 6", len(objs))
	}
	got, _ := readAll(t, st)
	// Every record exactly once (projected onto the columns written).
	count := map[string]int{}
	for _, l := range got[flowlog.KindVPC] {
		count[l]++
	}
	project := func(r *flowlog.Record) string {
		var rr flowlog.Record
		DefaultVPCFormat.Parse(&rr, string(DefaultVPCFormat.AppendText(nil, r)))
		return string(flowlog.AllVPC.AppendText(nil, &rr))
	}
	want := map[string]int{}
	nvpc := 0
	for i := range b.Records {
		if b.Records[i].Kind == flowlog.KindVPC {
			want[project(&b.Records[i])]++
			nvpc++
		}
	}
	if len(got[flowlog.KindVPC]) != nvpc || len(got[flowlog.KindTGW]) != 2 {
		t.Fatalf("read %d VPC and %d TGW records, want %d and 2", len(got[flowlog.KindVPC]), len(got[flowlog.KindTGW]), nvpc)
	}
	for l, n := range want {
		if count[l] != n {
			t.Fatalf("record seen %d times, want %d:\n%s\nfirst read: %s", count[l], n, l, got[flowlog.KindVPC][0])
		}
	}
}

func TestSinkS3RoundTrip(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	st, err := objstore.Open("s3://lake/flowlogs", objstore.Options{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.(*objstore.S3).MakeBucket(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Layout = "hive-hourly"
	s, _ := New(cfg, st, component.Deps{})
	b := mixedBatch(t)
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	ts, _ := text.New(text.DefaultConfig(), st, component.Deps{})
	if err := ts.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	objs, err := st.List(ctx, "AWSLogs/")
	if err != nil {
		t.Fatal(err)
	}
	var nparquet, ntext int
	for _, o := range objs {
		switch {
		case strings.HasSuffix(o.Key, Ext):
			nparquet++
			if !strings.Contains(o.Key, "/aws-service=vpcflowlogs/") || !strings.Contains(o.Key, "/hour=") {
				t.Errorf("not a hive-hourly key: %s", o.Key)
			}
		case strings.HasSuffix(o.Key, text.Ext):
			ntext++
			rc, err := st.Get(ctx, o.Key)
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 2)
			io.ReadFull(rc, head)
			rc.Close()
			if head[0] != 0x1f || head[1] != 0x8b {
				t.Errorf("%s is not gzip", o.Key)
			}
		}
	}
	if nparquet == 0 || nparquet != ntext {
		t.Fatalf("%d Parquet and %d text objects, want the same non-zero number", nparquet, ntext)
	}
	got, _ := readAll(t, filterStore{st, Ext})
	if len(got[flowlog.KindVPC])+len(got[flowlog.KindTGW]) != len(b.Records) {
		t.Fatalf("read back %d records from S3, wrote %d", len(got[flowlog.KindVPC])+len(got[flowlog.KindTGW]), len(b.Records))
	}
}

// filterStore lists only keys with a suffix.
type filterStore struct {
	objstore.Store
	suffix string
}

func (f filterStore) List(ctx context.Context, prefix string) ([]objstore.Object, error) {
	all, err := f.Store.List(ctx, prefix)
	var out []objstore.Object
	for _, o := range all {
		if strings.HasSuffix(o.Key, f.suffix) {
			out = append(out, o)
		}
	}
	return out, err
}

func TestSinkBadDestinations(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o644)
	st, _ := objstore.NewDir(file)
	s, _ := New(DefaultConfig(), st, component.Deps{})
	if err := s.Write(ctx, mixedBatch(t)); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("unwritable directory: want an error naming %s, got %v", file, err)
	}
	st3, _ := objstore.Open("s3://lake/x", objstore.Options{Endpoint: "http://127.0.0.1:1", PathStyle: true, MaxRetries: 1})
	s3, _ := New(DefaultConfig(), st3, component.Deps{})
	err := s3.Write(ctx, mixedBatch(t))
	if err == nil || !strings.Contains(err.Error(), "s3://lake/x/AWSLogs/") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable S3: want an error naming the object and the cause, got %v", err)
	}
	for _, bad := range []Config{{Target: lake.Target{Layout: "daily"}}, {Compression: "lzma"}, {VPCFormat: "${tgw-id}"}, {TGWFormat: "${srcaddr}"}, {VPCFormat: "${srcadr}"}} {
		if _, err := New(bad, st, component.Deps{}); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}

// FuzzReadRecords feeds arbitrary bytes (seeded with real files) to the reader: it must
// return an error or records, never panic.
func FuzzReadRecords(f *testing.F) {
	for _, c := range testCases(f) {
		f.Add(encode(f, c.format, c.recs[:3]))
	}
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, format, err := ReadRecords(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if format == nil {
			t.Fatal("nil format without error")
		}
		if len(recs) > 10000 || format.Has(flowlog.FieldIgnored) { // keep each input cheap
			return
		}
		// Whatever decoded must encode again in its own format.
		fw := NewFileWriter(io.Discard, format, WriterOptions{})
		if err := fw.Write(recs...); err != nil {
			t.Fatalf("decoded records do not re-encode: %v", err)
		}
		if err := fw.Close(); err != nil {
			t.Fatalf("decoded records do not re-encode: %v", err)
		}
	})
}
