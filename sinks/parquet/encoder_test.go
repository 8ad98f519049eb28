package parquet

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/rle"

	"github.com/flowtap/flowtap/flowlog"
)

// TestSchemaAsParquetGoWrites checks that the footer's schema is, element for element, the
// one parquet-go's own writer produces for the same schema.
func TestSchemaAsParquetGoWrites(t *testing.T) {
	for name, c := range testCases(t) {
		var ref bytes.Buffer
		w := pq.NewWriter(&ref, Schema(c.format))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want, err := pq.OpenFile(bytes.NewReader(ref.Bytes()), int64(ref.Len()))
		if err != nil {
			t.Fatal(err)
		}
		data := encode(t, c.format, c.recs)
		got, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Metadata().Schema, want.Metadata().Schema) {
			t.Errorf("%s: schema elements\n got %+v\nwant %+v", name, got.Metadata().Schema, want.Metadata().Schema)
		}
		if got.Schema().String() != want.Schema().String() {
			t.Errorf("%s: schema\n got %s\nwant %s", name, got.Schema(), want.Schema())
		}
	}
}

// TestChunkStatistics checks the min/max of every integer column chunk against the
// records: engines skip row groups with them, so a wrong bound loses rows in queries.
func TestChunkStatistics(t *testing.T) {
	recs := append(realistic(5000, 11), emptyRecord(flowlog.KindVPC), fullRecord(flowlog.KindVPC))
	var buf bytes.Buffer
	writeFile(t, &buf, DefaultVPCFormat, WriterOptions{RowGroupRows: 1024}, recs)
	f, err := pq.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Metadata().RowGroups); n != 5 {
		t.Fatalf("%d row groups, want 5", n)
	}
	first := 0
	for g, rg := range f.Metadata().RowGroups {
		rows := recs[first : first+int(rg.NumRows)]
		first += int(rg.NumRows)
		for ci, f := range DefaultVPCFormat.Fields() {
			st := rg.Columns[ci].MetaData.Statistics
			var lo, hi, nulls int64
			seen := false
			for i := range rows {
				x, ok := rows[i].Int(f)
				if f == flowlog.FieldVersion && !ok && !rows[i].Null.Has(f) {
					x, ok = int64(DefaultVPCFormat.Version()), true
				}
				if f.Info().Type == flowlog.ColumnString {
					ok = string(rows[i].AppendValue(nil, f, 5)) != "-"
				}
				if !ok {
					nulls++
					continue
				}
				if f.Info().Type == flowlog.ColumnInt32 {
					x = int64(int32(x))
				}
				if !seen || x < lo {
					lo = x
				}
				if !seen || x > hi {
					hi = x
				}
				seen = true
			}
			if st.NullCount != nulls {
				t.Errorf("group %d %s: null count %d, want %d", g, f.Column(), st.NullCount, nulls)
			}
			if f.Info().Type == flowlog.ColumnString || !seen {
				continue
			}
			var gotLo, gotHi int64
			switch f.Info().Type {
			case flowlog.ColumnInt32:
				if len(st.MinValue) != 4 || len(st.MaxValue) != 4 {
					t.Fatalf("group %d %s: bounds of %d and %d bytes", g, f.Column(), len(st.MinValue), len(st.MaxValue))
				}
				gotLo, gotHi = int64(int32(binary.LittleEndian.Uint32(st.MinValue))), int64(int32(binary.LittleEndian.Uint32(st.MaxValue)))
			case flowlog.ColumnInt64:
				if len(st.MinValue) != 8 || len(st.MaxValue) != 8 {
					t.Fatalf("group %d %s: bounds of %d and %d bytes", g, f.Column(), len(st.MinValue), len(st.MaxValue))
				}
				gotLo, gotHi = int64(binary.LittleEndian.Uint64(st.MinValue)), int64(binary.LittleEndian.Uint64(st.MaxValue))
			}
			if gotLo != lo || gotHi != hi {
				t.Errorf("group %d %s: bounds [%d, %d], want [%d, %d]", g, f.Column(), gotLo, gotHi, lo, hi)
			}
		}
	}
}

// TestManyPagesDuckDB writes row groups of several pages each, with more distinct
// addresses than the dictionary tables start with, and checks that DuckDB reads every
// value and answers filtered counts (which use the chunk statistics) as the records do.
func TestManyPagesDuckDB(t *testing.T) {
	recs := realistic(3*pageRows+123, 5)
	var buf bytes.Buffer
	writeFile(t, &buf, DefaultVPCFormat, WriterOptions{RowGroupRows: 2*pageRows + 7}, recs)
	got, _, err := ReadRecords(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := lines(DefaultVPCFormat, recs)
	have := lines(DefaultVPCFormat, got)
	if len(have) != len(want) {
		t.Fatalf("parquet-go read %d rows, want %d", len(have), len(want))
	}
	for i := range want {
		if have[i] != want[i] {
			t.Fatalf("parquet-go row %d:\n got %s\nwant %s", i, have[i], want[i])
		}
	}

	path := filepath.Join(t.TempDir(), "pages.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mid := recs[len(recs)/2].End
	var wantLate, wantHTTPS, wantBytes int64
	srcs := map[string]bool{}
	for i := range recs {
		r := &recs[i]
		if r.End >= mid {
			wantLate++
		}
		if !r.Null.Has(flowlog.FieldDstPort) && r.DstPort == 443 && r.LogStatus == flowlog.StatusOK {
			wantHTTPS++
		}
		if !r.Null.Has(flowlog.FieldBytes) {
			wantBytes += int64(r.Bytes)
		}
		if r.SrcAddr.IsValid() {
			srcs[r.SrcAddr.String()] = true
		}
	}
	checks := []struct {
		query string
		want  int64
	}{
		{fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s') WHERE "end" >= %d`, path, mid), wantLate},
		{fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s') WHERE dstport = 443 AND log_status = 'OK'`, path), wantHTTPS},
		{fmt.Sprintf(`SELECT sum(bytes) FROM read_parquet('%s')`, path), wantBytes},
		{fmt.Sprintf(`SELECT count(DISTINCT srcaddr) FROM read_parquet('%s')`, path), int64(len(srcs))},
	}
	for _, c := range checks {
		var n int64
		if err := db.QueryRow(c.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if n != c.want {
			t.Errorf("%s = %d, want %d", c.query, n, c.want)
		}
	}
	if len(srcs) < 1000 {
		t.Fatalf("only %d distinct source addresses: the dictionary tables are not made to grow", len(srcs))
	}
}

// TestResetReuse writes two different files with one writer: nothing of the first
// (dictionaries, cached last values, footer entries) may leak into the second.
func TestResetReuse(t *testing.T) {
	a, b := realistic(700, 21), realistic(900, 22)
	b[0].AccountID, b[0].InterfaceID = "999999999999", "eni-reused"
	var bufA, bufB bytes.Buffer
	fw := NewFileWriter(&bufA, DefaultVPCFormat, WriterOptions{RowGroupRows: 300})
	fw.SetMetadata("k", "a")
	if err := fw.Write(a...); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	fw.Reset(&bufB)
	fw.SetMetadata("k", "b")
	if err := fw.Write(b...); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		data []byte
		recs []flowlog.Record
		meta string
	}{{bufA.Bytes(), a, "a"}, {bufB.Bytes(), b, "b"}} {
		got, _, err := ReadRecords(bytes.NewReader(c.data), int64(len(c.data)))
		if err != nil {
			t.Fatal(err)
		}
		want, have := lines(DefaultVPCFormat, c.recs), lines(DefaultVPCFormat, got)
		if len(have) != len(want) {
			t.Fatalf("file %s: %d rows, want %d", c.meta, len(have), len(want))
		}
		for i := range want {
			if have[i] != want[i] {
				t.Fatalf("file %s row %d:\n got %s\nwant %s", c.meta, i, have[i], want[i])
			}
		}
		f, err := pq.OpenFile(bytes.NewReader(c.data), int64(len(c.data)))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := f.Lookup("k"); v != c.meta || len(f.Metadata().KeyValueMetadata) != 1 {
			t.Errorf("file %s: metadata %+v", c.meta, f.Metadata().KeyValueMetadata)
		}
	}
}

// TestResetReusePorts reuses one writer over files whose INT32 columns (ports) take many
// distinct values, then few, then values of both earlier files: the direct port index is
// cleared wholesale after a large dictionary and value by value after a small one, and a
// port index left over from an earlier file would make a row read back a wrong port.
func TestResetReusePorts(t *testing.T) {
	many := realistic(6000, 31)
	for i := range many {
		many[i].SrcPort, many[i].DstPort = uint16(1024+i), uint16(60000-i)
	}
	few := realistic(500, 32)
	for i := range few {
		few[i].SrcPort = uint16(1024 + i%7)
	}
	mixed := realistic(3000, 33)
	for i := range mixed {
		mixed[i].SrcPort, mixed[i].DstPort = uint16(1024+(i*7)%6000), uint16(1024+i%11)
	}
	writeAndReadBack(t, DefaultVPCFormat, WriterOptions{}, many, few, mixed, few)
}

// TestColumnHints writes records whose interface attributes (account, VPC, subnet,
// instance, zone) change under the same interface id, interface ids that are absent,
// packet addresses that differ from the flow addresses or are absent where those are not
// (and the reverse), and several row groups, with one writer over two files: a column
// that trusted another column's index instead of checking would read back a wrong value.
func TestColumnHints(t *testing.T) {
	recs := realistic(3000, 41)
	for i := range recs {
		r := &recs[i]
		switch i % 5 {
		case 0:
			r.InterfaceID = "eni-shared"
		case 1:
			r.InterfaceID = ""
		}
		if i%3 == 0 {
			r.VPCID, r.SubnetID, r.AZID = fmt.Sprintf("vpc-%d", i%7), fmt.Sprintf("subnet-%d", i%11), ""
		}
		if i%4 == 0 {
			r.AccountID, r.InstanceID = fmt.Sprintf("%012d", i%13), ""
		}
		switch i % 6 {
		case 0:
			r.PktSrcAddr = netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 5)}) // NAT
		case 1:
			r.SrcAddr = netip.Addr{}
		case 2:
			r.PktDstAddr = netip.Addr{}
		case 3:
			r.DstAddr, r.PktDstAddr = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::1")
		}
	}
	// Packet addresses and the interface's attributes before the columns they follow.
	reordered, err := flowlog.NewFormat(flowlog.FieldPktSrcAddr, flowlog.FieldPktDstAddr, flowlog.FieldVPCID,
		flowlog.FieldAccountID, flowlog.FieldSrcAddr, flowlog.FieldDstAddr, flowlog.FieldInterfaceID, flowlog.FieldSubnetID)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []*flowlog.Format{DefaultVPCFormat, reordered} {
		writeAndReadBack(t, format, WriterOptions{RowGroupRows: 700}, recs[:1700], recs[1700:])
	}
}

// writeAndReadBack writes each of files with one writer (reset between them) and checks
// that each reads back as its records.
func writeAndReadBack(t *testing.T, format *flowlog.Format, opts WriterOptions, files ...[]flowlog.Record) {
	t.Helper()
	var buf bytes.Buffer
	fw := NewFileWriter(&buf, format, opts)
	for n, recs := range files {
		buf.Reset()
		fw.Reset(&buf)
		if err := fw.Write(recs...); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		got, _, err := ReadRecords(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		want, have := lines(format, recs), lines(format, got)
		if len(have) != len(want) {
			t.Fatalf("file %d: %d rows, want %d", n, len(have), len(want))
		}
		for i := range want {
			if have[i] != want[i] {
				t.Fatalf("file %d row %d:\n got %s\nwant %s", n, i, have[i], want[i])
			}
		}
	}
}

// TestCodecNames checks the codec names the config accepts, and that every gzip level
// writes a file that reads back.
func TestCodecNames(t *testing.T) {
	recs := realistic(300, 9)
	for _, name := range []string{"", "gzip", "gzip-1", "gzip-5", "gzip-9", "zstd", "snappy", "none"} {
		codec, err := Codec(name)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		var buf bytes.Buffer
		writeFile(t, &buf, DefaultVPCFormat, WriterOptions{Codec: codec}, recs)
		got, _, err := ReadRecords(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if len(got) != len(recs) || lines(DefaultVPCFormat, got)[299] != lines(DefaultVPCFormat, recs)[299] {
			t.Fatalf("%q: %d records read back, or the last differs", name, len(got))
		}
	}
	for _, name := range []string{"gzip-0", "gzip-10", "gzip-", "lz4", "GZIP"} {
		if _, err := Codec(name); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
}

// TestEncodeIndexesAsParquetGo checks that a page's indexes are encoded byte for byte as
// parquet-go's rle.DictionaryEncoding encodes them, whether the page added dictionary
// entries (the width then comes from the dictionary's size) or not (from the indexes).
func TestEncodeIndexesAsParquetGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var e encoder
	for _, tc := range []struct {
		n, dictLen, pageStart int
		hi                    int32 // the indexes before the page's, below hi
	}{
		{0, 0, 0, 1}, {1, 1, 0, 1}, {100, 1, 0, 1}, {1000, 7, 3, 3}, {5000, 300, 0, 1},
		{5000, 300, 300, 300}, {5000, 300, 300, 9}, {777, 70000, 69000, 69000},
		{777, 70000, 70000, 1000}, {4096, 2, 2, 2}, {333, 1 << 20, 0, 1},
	} {
		c := colChunk{dictLen: int32(tc.dictLen), pageDictStart: int32(tc.pageStart)}
		for i := 0; i < tc.n; i++ {
			x := rng.Int32N(tc.hi)
			if rng.IntN(4) == 0 { // runs, for the RLE half of the hybrid
				for k := 0; k < 20 && i < tc.n; k++ {
					c.idx = append(c.idx, x)
					i++
				}
			}
			c.idx = append(c.idx, x)
		}
		if tc.dictLen > tc.pageStart && tc.n > 0 { // a page that added entries holds the newest
			c.idx[rng.IntN(len(c.idx))] = int32(tc.dictLen - 1)
		}
		want, err := new(rle.DictionaryEncoding).EncodeInt32(nil, c.idx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.encodeIndexes(&c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v: %d bytes, width %d; parquet-go: %d bytes, width %d", tc, len(got), got[0], len(want), want[0])
		}
		if c.pageDictStart != c.dictLen {
			t.Fatalf("%+v: the next page starts at %d", tc, c.pageDictStart)
		}
	}
}
