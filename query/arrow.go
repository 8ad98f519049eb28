package query

import (
	"database/sql"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/duckdb/duckdb-go/v2"
)

// arrowBatchRows is how many rows go into one Arrow record batch (and Parquet row group
// chunk): large enough for columnar efficiency, small enough to bound memory.
const arrowBatchRows = 64 * 1024

// arrowType maps a DuckDB result type onto Arrow. Types without a natural counterpart
// (intervals, nested types, UUID, …) are written as their text rendering.
func arrowType(t string) arrow.DataType {
	switch t {
	case "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case "TINYINT":
		return arrow.PrimitiveTypes.Int8
	case "SMALLINT":
		return arrow.PrimitiveTypes.Int16
	case "INTEGER":
		return arrow.PrimitiveTypes.Int32
	case "BIGINT":
		return arrow.PrimitiveTypes.Int64
	case "UTINYINT":
		return arrow.PrimitiveTypes.Uint8
	case "USMALLINT":
		return arrow.PrimitiveTypes.Uint16
	case "UINTEGER":
		return arrow.PrimitiveTypes.Uint32
	case "UBIGINT":
		return arrow.PrimitiveTypes.Uint64
	case "FLOAT":
		return arrow.PrimitiveTypes.Float32
	case "DOUBLE":
		return arrow.PrimitiveTypes.Float64
	case "HUGEINT":
		return &arrow.Decimal128Type{Precision: 38, Scale: 0}
	case "BLOB":
		return arrow.BinaryTypes.Binary
	case "DATE":
		return arrow.FixedWidthTypes.Date32
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS":
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case "TIMESTAMPTZ":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	var p, s int32
	if n, _ := fmt.Sscanf(t, "DECIMAL(%d,%d)", &p, &s); n == 2 {
		return &arrow.Decimal128Type{Precision: p, Scale: s}
	}
	return arrow.BinaryTypes.String
}

// ArrowSchema is the Arrow schema Write uses for a result with these columns.
func ArrowSchema(cols []Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c.Type), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// recordSink is an Arrow IPC or Parquet file writer.
type recordSink interface {
	Write(arrow.RecordBatch) error
	Close() error
}

func writeArrow(w io.Writer, rows *sql.Rows, cols []Column, format OutputFormat) (int64, error) {
	schema := ArrowSchema(cols)
	var out recordSink
	if format == FormatArrow {
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema))
		if err != nil {
			return 0, fmt.Errorf("query: arrow writer: %w", err)
		}
		out = fw
	} else {
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
		fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.DefaultWriterProps())
		if err != nil {
			return 0, fmt.Errorf("query: parquet writer: %w", err)
		}
		out = fw
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	var n int64
	pending := 0
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		pending = 0
		if err := out.Write(rec); err != nil {
			return fmt.Errorf("query: write %s: %w", format, err)
		}
		return nil
	}
	sc := newScanner(len(cols))
	for rows.Next() {
		vals, err := sc.scan(rows)
		if err != nil {
			out.Close()
			return n, err
		}
		for i, v := range vals {
			if err := appendArrow(b.Field(i), v); err != nil {
				out.Close()
				return n, fmt.Errorf("query: column %s: %w", cols[i].Name, err)
			}
		}
		n++
		if pending++; pending == arrowBatchRows {
			if err := flush(); err != nil {
				out.Close()
				return n, err
			}
		}
	}
	if pending > 0 || n == 0 {
		if err := flush(); err != nil {
			out.Close()
			return n, err
		}
	}
	if err := out.Close(); err != nil {
		return n, fmt.Errorf("query: close %s: %w", format, err)
	}
	return n, nil
}

// appendArrow appends one driver value to the builder chosen by arrowType.
func appendArrow(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		if x, ok := v.(bool); ok {
			bb.Append(x)
			return nil
		}
	case *array.Int8Builder:
		if x, ok := v.(int8); ok {
			bb.Append(x)
			return nil
		}
	case *array.Int16Builder:
		if x, ok := v.(int16); ok {
			bb.Append(x)
			return nil
		}
	case *array.Int32Builder:
		if x, ok := v.(int32); ok {
			bb.Append(x)
			return nil
		}
	case *array.Int64Builder:
		if x, ok := v.(int64); ok {
			bb.Append(x)
			return nil
		}
	case *array.Uint8Builder:
		if x, ok := v.(uint8); ok {
			bb.Append(x)
			return nil
		}
	case *array.Uint16Builder:
		if x, ok := v.(uint16); ok {
			bb.Append(x)
			return nil
		}
	case *array.Uint32Builder:
		if x, ok := v.(uint32); ok {
			bb.Append(x)
			return nil
		}
	case *array.Uint64Builder:
		if x, ok := v.(uint64); ok {
			bb.Append(x)
			return nil
		}
	case *array.Float32Builder:
		if x, ok := v.(float32); ok {
			bb.Append(x)
			return nil
		}
	case *array.Float64Builder:
		if x, ok := v.(float64); ok {
			bb.Append(x)
			return nil
		}
	case *array.Decimal128Builder:
		var bi *big.Int
		switch x := v.(type) {
		case *big.Int:
			bi = x
		case duckdb.Decimal:
			bi = x.Value
		}
		if bi != nil {
			if bi.BitLen() > 127 {
				return fmt.Errorf("value %s does not fit 128 bits", bi)
			}
			bb.Append(decimal128.FromBigInt(bi))
			return nil
		}
	case *array.BinaryBuilder:
		if x, ok := v.([]byte); ok {
			bb.Append(x)
			return nil
		}
	case *array.Date32Builder:
		if x, ok := v.(time.Time); ok {
			bb.Append(arrow.Date32FromTime(x))
			return nil
		}
	case *array.TimestampBuilder:
		if x, ok := v.(time.Time); ok {
			bb.Append(arrow.Timestamp(x.UnixMicro()))
			return nil
		}
	case *array.StringBuilder:
		s, _ := text("", v)
		bb.Append(s)
		return nil
	}
	return fmt.Errorf("unexpected %T value for %s", v, b.Type())
}
