// Package querytest writes small Parquet lakes the way flowtap's Parquet sink and AWS do
// (key layout of sinks/layout, one OPTIONAL column per field named Field.Column(), INT32,
// INT64 or STRING per the registry, null for absent values, gzip pages), for the tests and
// benchmarks of package query.
package querytest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/sinks/layout"
)

// Schema returns the Parquet schema of a file holding the columns of format.
func Schema(format *flowlog.Format) *parquet.Schema {
	g := parquet.Group{}
	for _, f := range format.Fields() {
		var n parquet.Node
		switch f.Info().Type {
		case flowlog.ColumnInt32:
			n = parquet.Int(32)
		case flowlog.ColumnInt64:
			n = parquet.Int(64)
		default:
			n = parquet.String()
		}
		g[f.Column()] = parquet.Optional(n)
	}
	return parquet.NewSchema("flowlog", g)
}

// WriteFile writes recs to path (directories created) with the columns of format.
func WriteFile(path string, format *flowlog.Format, recs []flowlog.Record) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	schema := Schema(format)
	w := parquet.NewWriter(out, schema, parquet.Compression(&parquet.Snappy))
	// Leaf columns come in the schema's (sorted) order, not the format's.
	leaves := schema.Fields()
	fields := make([]flowlog.Field, len(leaves))
	for i, l := range leaves {
		fields[i] = columnField(format, l.Name())
	}
	rows := make([]parquet.Row, 0, 1024)
	flush := func() error {
		_, err := w.WriteRows(rows)
		rows = rows[:0]
		return err
	}
	for i := range recs {
		r := &recs[i]
		row := make(parquet.Row, len(fields))
		for c, f := range fields {
			row[c] = value(r, f).Level(0, 1, c)
			if row[c].IsNull() {
				row[c] = parquet.NullValue().Level(0, 0, c)
			}
		}
		rows = append(rows, row)
		if len(rows) == cap(rows) {
			if err := flush(); err != nil {
				out.Close()
				return fmt.Errorf("querytest: write %s: %w", path, err)
			}
		}
	}
	if err := flush(); err != nil {
		out.Close()
		return fmt.Errorf("querytest: write %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		out.Close()
		return fmt.Errorf("querytest: close %s: %w", path, err)
	}
	return out.Close()
}

func columnField(format *flowlog.Format, col string) flowlog.Field {
	for _, f := range format.Fields() {
		if f.Column() == col {
			return f
		}
	}
	panic("querytest: no field for column " + col)
}

func value(r *flowlog.Record, f flowlog.Field) parquet.Value {
	switch f.Info().Type {
	case flowlog.ColumnInt32:
		if v, ok := r.Int(f); ok {
			return parquet.Int32Value(int32(v))
		}
		return parquet.NullValue()
	case flowlog.ColumnInt64:
		if v, ok := r.Int(f); ok {
			return parquet.Int64Value(v)
		}
		return parquet.NullValue()
	}
	s := r.Value(f)
	if s == "-" || s == "" {
		return parquet.NullValue()
	}
	return parquet.ByteArrayValue([]byte(s))
}

// Key returns the lake key of a file holding records of account and region that end at end,
// in style, for flow log flowLogID; identity makes the name unique.
func Key(style layout.Style, account, region, flowLogID string, end int64, identity string) string {
	return layout.Key("", style, account, region, flowLogID, end, identity, ".log.parquet")
}

// WriteLake writes recs under dir, one file per (account, region, 5-minute end bucket) as
// the sink does, and returns the paths written.
func WriteLake(dir string, style layout.Style, format *flowlog.Format, flowLogID string, recs []flowlog.Record) ([]string, error) {
	type bucket struct {
		account, region string
		b               int64
	}
	groups := map[bucket][]flowlog.Record{}
	var order []bucket
	for _, r := range recs {
		k := bucket{r.AccountID, r.Region, layout.Bucket(r.End).Unix()}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var paths []string
	for _, k := range order {
		p := filepath.Join(dir, filepath.FromSlash(Key(style, k.account, k.region, flowLogID, k.b, fmt.Sprint(k))))
		if err := WriteFile(p, format, groups[k]); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
