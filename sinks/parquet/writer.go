package parquet

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/flowtap/flowtap/flowlog"
)

// WriterOptions tune a FileWriter.
type WriterOptions struct {
	// Codec compresses pages; nil means gzip, as AWS does.
	Codec compress.Codec
	// RowGroupRows caps the rows of a row group (default 131072).
	RowGroupRows int64
}

// DefaultRowGroupRows keeps a row group of the 29-column format around 2–4 MB compressed:
// large enough for good compression and cheap footers, small enough to write in memory.
const DefaultRowGroupRows = 128 << 10

// rowChunk is how many rows are assembled before handing them to parquet-go.
const rowChunk = 512

// FileWriter encodes records of one kind into one Parquet file on out.
type FileWriter struct {
	format  *flowlog.Format
	fields  []flowlog.Field // the format's fields without ignored ones: column i = fields[i]
	types   []flowlog.ColumnType
	w       *pq.Writer
	rows    []pq.Row
	arena   []byte
	records int
	err     error
}

// NewFileWriter starts a Parquet file in format on out.
func NewFileWriter(out io.Writer, format *flowlog.Format, opts WriterOptions) *FileWriter {
	if opts.Codec == nil {
		opts.Codec = &pq.Gzip
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	fw := &FileWriter{format: format}
	for _, f := range format.Fields() {
		if f != flowlog.FieldIgnored {
			fw.fields = append(fw.fields, f)
			fw.types = append(fw.types, f.Info().Type)
		}
	}
	fw.w = pq.NewWriter(out, Schema(format), pq.Compression(opts.Codec),
		pq.MaxRowsPerRowGroup(opts.RowGroupRows), pq.CreatedBy("flowtap", "", ""))
	fw.rows = make([]pq.Row, 0, rowChunk)
	fw.arena = make([]byte, 0, rowChunk*64)
	return fw
}

// Records is the number of records written.
func (fw *FileWriter) Records() int { return fw.records }

// Write appends records; those of the other kind are rejected, since their fields do not
// fit the columns.
func (fw *FileWriter) Write(recs ...flowlog.Record) error {
	for i := range recs {
		if err := fw.WriteRecord(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// WriteRecord appends one record.
func (fw *FileWriter) WriteRecord(r *flowlog.Record) error {
	if fw.err != nil {
		return fw.err
	}
	if r.Kind != fw.format.Kind() {
		return fmt.Errorf("parquet: %s record in a %s file", r.Kind, fw.format.Kind())
	}
	n := len(fw.rows)
	fw.rows = fw.rows[:n+1]
	row := fw.rows[n][:0]
	if cap(row) < len(fw.fields) {
		row = make(pq.Row, 0, len(fw.fields))
	}
	for ci, f := range fw.fields {
		var v pq.Value
		switch fw.types[ci] {
		case flowlog.ColumnInt32, flowlog.ColumnInt64:
			x, ok := r.Int(f)
			if !ok && f == flowlog.FieldVersion && !r.Null.Has(f) {
				x, ok = int64(fw.format.Version()), true
			}
			switch {
			case !ok:
				v = pq.NullValue().Level(0, 0, ci)
			case fw.types[ci] == flowlog.ColumnInt32:
				v = pq.Int32Value(int32(x)).Level(0, 1, ci)
			default:
				v = pq.Int64Value(x).Level(0, 1, ci)
			}
		default:
			start := len(fw.arena)
			fw.arena = r.AppendValue(fw.arena, f, fw.format.Version())
			s := fw.arena[start:len(fw.arena):len(fw.arena)]
			if len(s) == 1 && s[0] == '-' {
				fw.arena = fw.arena[:start]
				v = pq.NullValue().Level(0, 0, ci)
			} else {
				v = pq.ByteArrayValue(s).Level(0, 1, ci)
			}
		}
		row = append(row, v)
	}
	fw.rows[n] = row
	fw.records++
	if len(fw.rows) == cap(fw.rows) {
		return fw.flushRows()
	}
	return nil
}

// flushRows hands the assembled rows to parquet-go, which copies the values, so the arena
// can be reused afterwards.
func (fw *FileWriter) flushRows() error {
	if len(fw.rows) == 0 {
		return nil
	}
	if _, err := fw.w.WriteRows(fw.rows); err != nil {
		fw.err = fmt.Errorf("parquet: write rows: %w", err)
		return fw.err
	}
	fw.rows = fw.rows[:0]
	fw.arena = fw.arena[:0]
	return nil
}

// Close writes the remaining rows and the footer. It does not close out.
func (fw *FileWriter) Close() error {
	if err := fw.flushRows(); err != nil {
		return err
	}
	if err := fw.w.Close(); err != nil {
		return fmt.Errorf("parquet: close: %w", err)
	}
	return nil
}

// ReadRecords decodes a Parquet flow log file (AWS's or ours): columns are matched by name,
// unknown columns are ignored, null means absent, and INT32 or INT64 is accepted for any
// integer column. It returns the records and the format their columns form.
func ReadRecords(r io.ReaderAt, size int64) ([]flowlog.Record, *flowlog.Format, error) {
	f, err := pq.OpenFile(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("parquet: open: %w", err)
	}
	cols := f.Schema().Columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		if len(c) != 1 {
			return nil, nil, fmt.Errorf("parquet: nested column %s is not a flow log field", strings.Join(c, "."))
		}
		names[i] = strings.ReplaceAll(c[0], "_", "-")
	}
	if len(names) == 0 {
		return nil, nil, errors.New("parquet: file has no columns")
	}
	format, err := flowlog.FormatFromHeader(strings.Join(names, " "))
	if err != nil {
		return nil, nil, fmt.Errorf("parquet: columns: %w", err)
	}
	fields := format.Fields()
	out := make([]flowlog.Record, 0, f.NumRows())
	buf := make([]pq.Row, 256)
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				var rec flowlog.Record
				rec.Kind = format.Kind()
				rec.Null = nullInts
				for _, v := range row {
					ci := v.Column()
					if ci < 0 || ci >= len(fields) {
						continue
					}
					if err := setValue(&rec, fields[ci], v); err != nil {
						rows.Close()
						return nil, nil, fmt.Errorf("parquet: row %d column %s: %w", len(out), cols[ci][0], err)
					}
				}
				out = append(out, rec)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("parquet: read rows: %w", err)
			}
		}
		rows.Close()
	}
	return out, format, nil
}

// nullInts marks every integer field but version absent, as flowlog's decoders do: a
// field the file has no column for is absent, not zero.
var nullInts = func() flowlog.FieldSet {
	var s flowlog.FieldSet
	for _, f := range flowlog.AllFields() {
		if f.Info().Type != flowlog.ColumnString && f != flowlog.FieldVersion {
			s = s.With(f)
		}
	}
	return s
}()

func setValue(r *flowlog.Record, f flowlog.Field, v pq.Value) error {
	if f == flowlog.FieldIgnored {
		return nil
	}
	if v.IsNull() {
		return r.SetValue(f, "-")
	}
	switch v.Kind() {
	case pq.Int32:
		return r.SetValue(f, strconv.FormatInt(int64(v.Int32()), 10))
	case pq.Int64:
		return r.SetValue(f, strconv.FormatInt(v.Int64(), 10))
	case pq.ByteArray:
		return r.SetValue(f, string(v.ByteArray()))
	}
	return fmt.Errorf("unexpected %s value", v.Kind())
}
