package query

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// OutputFormat is how Write renders a result.
type OutputFormat string

// The output formats of `flowtap query sql --format`.
const (
	FormatTable   OutputFormat = "table"   // aligned columns for a terminal
	FormatCSV     OutputFormat = "csv"     // RFC 4180 with a header row; NULL is empty
	FormatJSON    OutputFormat = "json"    // JSON lines, one object per row, columns in order
	FormatParquet OutputFormat = "parquet" // a Parquet file (Snappy), via Arrow
	FormatArrow   OutputFormat = "arrow"   // an Arrow IPC file
)

// OutputFormats lists the valid formats, for help text and errors.
var OutputFormats = []OutputFormat{FormatTable, FormatCSV, FormatJSON, FormatParquet, FormatArrow}

// ParseOutputFormat checks a --format value.
func ParseOutputFormat(s string) (OutputFormat, error) {
	for _, f := range OutputFormats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown output format %q (want table, csv, json, parquet or arrow)", s)
}

// Binary reports whether the format is a binary file format.
func (f OutputFormat) Binary() bool { return f == FormatParquet || f == FormatArrow }

// Column describes one result column.
type Column struct {
	Name string
	Type string // DuckDB's type name, e.g. "BIGINT", "DECIMAL(18,3)"
}

// Write renders every row of rows to w in format and returns the number of rows written.
func Write(w io.Writer, rows *sql.Rows, format OutputFormat) (int64, error) {
	cols, err := columns(rows)
	if err != nil {
		return 0, err
	}
	var n int64
	switch format {
	case FormatTable:
		n, err = writeTable(w, rows, cols)
	case FormatCSV:
		n, err = writeCSV(w, rows, cols)
	case FormatJSON:
		n, err = writeJSON(w, rows, cols)
	case FormatArrow, FormatParquet:
		n, err = writeArrow(w, rows, cols, format)
	default:
		_, err = ParseOutputFormat(string(format))
	}
	if err != nil {
		return n, err
	}
	if err := rows.Err(); err != nil {
		return n, &SQLError{Msg: err.Error(), Err: err}
	}
	return n, nil
}

func columns(rows *sql.Rows) ([]Column, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("query: result columns: %w", err)
	}
	cols := make([]Column, len(types))
	for i, t := range types {
		cols[i] = Column{Name: t.Name(), Type: t.DatabaseTypeName()}
	}
	return cols, nil
}

// scanner reads rows into a reused slice of driver values.
type scanner struct {
	vals []any
	ptrs []any
}

func newScanner(n int) *scanner {
	s := &scanner{vals: make([]any, n), ptrs: make([]any, n)}
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s
}

func (s *scanner) scan(rows *sql.Rows) ([]any, error) {
	if err := rows.Scan(s.ptrs...); err != nil {
		return nil, fmt.Errorf("query: read row: %w", err)
	}
	return s.vals, nil
}

// text renders one value of a column of DuckDB type typ for the table and CSV outputs; ok
// is false for NULL.
func text(typ string, v any) (s string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case []byte:
		return fmt.Sprintf("%x", x), true
	case time.Time:
		return timeString(typ, x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), true
	case *big.Int:
		return x.String(), true
	case duckdb.Decimal:
		return decimalString(x), true
	case []any, map[string]any:
		b, err := json.Marshal(jsonValue(typ, x))
		if err != nil {
			return fmt.Sprint(x), true
		}
		return string(b), true
	}
	return fmt.Sprint(v), true
}

// numericType reports whether a DuckDB type is a number, to right-align it in tables.
func numericType(t string) bool {
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
		"UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE":
		return true
	}
	return strings.HasPrefix(t, "DECIMAL")
}

// writeTable buffers the result to size the columns, then prints a header, a rule and the
// rows; numbers are right-aligned, NULL shows as NULL.
func writeTable(w io.Writer, rows *sql.Rows, cols []Column) (int64, error) {
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c.Name)
	}
	var cells [][]string
	sc := newScanner(len(cols))
	for rows.Next() {
		vals, err := sc.scan(rows)
		if err != nil {
			return 0, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			s, ok := text(cols[i].Type, v)
			if !ok {
				s = "NULL"
			}
			s = strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
			row[i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
		cells = append(cells, row)
	}
	bw := bufio.NewWriter(w)
	line := func(row []string) {
		for i, s := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			if i > 0 {
				bw.WriteString("  ")
			}
			switch {
			case numericType(cols[i].Type):
				bw.WriteString(pad + s)
			case i == len(row)-1:
				bw.WriteString(s)
			default:
				bw.WriteString(s + pad)
			}
		}
		bw.WriteByte('\n')
	}
	header := make([]string, len(cols))
	rule := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.Name
		rule[i] = strings.Repeat("-", width[i])
	}
	line(header)
	line(rule)
	for _, r := range cells {
		line(r)
	}
	fmt.Fprintf(bw, "(%d rows)\n", len(cells))
	return int64(len(cells)), bw.Flush()
}

func writeCSV(w io.Writer, rows *sql.Rows, cols []Column) (int64, error) {
	cw := csv.NewWriter(w)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return 0, err
	}
	var n int64
	sc := newScanner(len(cols))
	for rows.Next() {
		vals, err := sc.scan(rows)
		if err != nil {
			return n, err
		}
		for i, v := range vals {
			rec[i], _ = text(cols[i].Type, v)
		}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	cw.Flush()
	return n, cw.Error()
}

// writeJSON prints JSON lines: one object per row with the columns in result order,
// numbers as JSON numbers (HUGEINT and DECIMAL included), NULL as null.
func writeJSON(w io.Writer, rows *sql.Rows, cols []Column) (int64, error) {
	bw := bufio.NewWriter(w)
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		k, _ := json.Marshal(c.Name)
		keys[i] = k
	}
	var n int64
	var buf []byte
	sc := newScanner(len(cols))
	for rows.Next() {
		vals, err := sc.scan(rows)
		if err != nil {
			return n, err
		}
		buf = append(buf[:0], '{')
		for i, v := range vals {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, keys[i]...)
			buf = append(buf, ':')
			b, err := json.Marshal(jsonValue(cols[i].Type, v))
			if err != nil {
				return n, fmt.Errorf("query: column %s: %w", cols[i].Name, err)
			}
			buf = append(buf, b...)
		}
		buf = append(buf, '}', '\n')
		if _, err := bw.Write(buf); err != nil {
			return n, err
		}
		n++
	}
	return n, bw.Flush()
}

// timeString renders DATE as 2006-01-02, TIME as 15:04:05 and timestamps in RFC 3339.
func timeString(typ string, t time.Time) string {
	switch typ {
	case "DATE":
		return t.Format("2006-01-02")
	case "TIME", "TIMETZ":
		return t.Format("15:04:05.999999")
	}
	return t.Format(time.RFC3339Nano)
}

// jsonValue maps driver values of a column of DuckDB type typ onto what encoding/json
// renders well.
func jsonValue(typ string, v any) any {
	switch x := v.(type) {
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(decimalString(x))
	case time.Time:
		return timeString(typ, x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue("", e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue("", e)
		}
		return out
	case float64, float32, string, bool, nil, int8, int16, int32, int64, uint8, uint16, uint32, uint64, []byte:
		return x
	}
	return fmt.Sprint(v)
}

// decimalString renders a DECIMAL with exactly its scale's digits after the point, as
// DuckDB prints it (250.00, -0.05).
func decimalString(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	digits := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	scale := int(d.Scale)
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}
