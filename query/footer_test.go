package query

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/query/querytest"
)

type nestedRow struct {
	A    int32                `parquet:"a"`
	Tags []string             `parquet:"tags,list"`
	Pt   struct{ X, Y int64 } `parquet:"pt"`
	M    map[string]int32     `parquet:"m"`
	Z    *string              `parquet:"z,optional"`
}

func nestedFile(t testing.TB) []byte {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[nestedRow](&buf)
	s := "s"
	if _, err := w.Write([]nestedRow{{A: 1, Tags: []string{"x", "y"}, M: map[string]int32{"k": 1}, Z: &s}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestColumnNamesMatchParquetGo(t *testing.T) {
	files := [][]byte{nestedFile(t)}
	// Files written by the sink, with the statistics and key/value metadata it writes.
	dir := t.TempDir()
	if err := querytest.WriteLake(dir, lake.Plain, flowlog.AllVPC, fixtureVPC(t)); err != nil {
		t.Fatal(err)
	}
	if err := querytest.WriteLake(dir, lake.Plain, nil, fixtureTGW(t)); err != nil {
		t.Fatal(err)
	}
	all, _, err := listLake(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	for i, b := range files {
		got, err := readColumnNames(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, f := range pf.Schema().Fields() {
			want = append(want, f.Name())
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || (i == 0 && strings.Join(got, ",") != "a,tags,pt,m,z") || len(got) < 5 {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}

func TestColumnNamesRejectsDamage(t *testing.T) {
	b := nestedFile(t)
	cases := map[string][]byte{
		"short":    b[:8],
		"no magic": append(append([]byte{}, b[:len(b)-4]...), 'X', 'X', 'X', 'X'),
		"huge len": func() []byte {
			c := append([]byte{}, b...)
			binary.LittleEndian.PutUint32(c[len(c)-8:], 1<<30)
			return c
		}(),
		"cut footer": func() []byte { c := append([]byte{}, b...); binary.LittleEndian.PutUint32(c[len(c)-8:], 3); return c }(),
	}
	for name, c := range cases {
		if _, err := readColumnNames(bytes.NewReader(c), int64(len(c))); !errors.Is(err, errFooter) {
			t.Errorf("%s: want errFooter, got %v", name, err)
		}
	}
}

func FuzzColumnNames(f *testing.F) {
	b := nestedFile(f)
	flen := binary.LittleEndian.Uint32(b[len(b)-8:])
	f.Add(b[len(b)-8-int(flen) : len(b)-8])
	f.Add([]byte{0x15, 0x02, 0x19, 0x1c, 0x48, 0x01, 'r', 0x15, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, footer []byte) {
		names, err := columnNames(footer)
		if err == nil && names == nil {
			t.Fatal("nil names without error")
		}
	})
}
