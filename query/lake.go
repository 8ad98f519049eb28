// Package query answers ad-hoc questions about the flow logs flowtap stores: SQL over the
// Parquet lake through DuckDB (this package), LogQL against the log store (query/logs), and
// the DDL that makes the same lake queryable by Athena, Trino or Spark (query/athena).
//
// The lake is a directory laid out like AWS's S3 delivery (package lake): plain
// AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}[/{HH}]/ or hive-compatible
// aws-account-id=…/…/year=…/month=…/day=…[/hour=…]/, files *.parquet with one column per
// flow log field. Open lists the lake once, keeps the files whose partition overlaps the
// time range (so partitions outside it are never opened: this is the partition filter),
// sorts VPC from Transit Gateway files by their columns, and defines two views:
//
//	vpc_flow_logs  every VPC field (registry order), then aws_account_id, aws_region,
//	               year, month, day, hour (strings, from the path)
//	tgw_flow_logs  the 36 TGW fields in AWS's default order, then the same path columns
//
// Columns a file lacks read as NULL, so queries do not depend on the flow log's format.
// With a time range the views also keep only records whose end lies in it.
package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // database/sql driver "duckdb"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
)

// ErrEmptyLake is wrapped by Open's error when the lake holds no flow log files in the range.
var ErrEmptyLake = errors.New("no flow log files")

// Config says which lake to open and which part of it the views cover.
type Config struct {
	// Dir is the local lake directory (an s3:// lake is first copied by Sync).
	Dir string
	// Range limits the views to records whose end lies in it; zero means everything.
	Range TimeRange
	// Threads caps DuckDB's worker threads; 0 lets DuckDB use every core.
	Threads int
}

// Engine is an in-memory DuckDB database with the lake views defined.
type Engine struct {
	db      *sql.DB
	cfg     Config
	files   map[flowlog.Kind][]LakeFile
	skipped int

	mu sync.Mutex
	// pending holds the CREATE VIEW statements not run yet: binding a view over a thousand
	// hive paths costs DuckDB tens of milliseconds, so a view is defined only when a
	// statement names it.
	pending map[string]string
}

// LakeFile is one Parquet file of the lake with its partition.
type LakeFile struct {
	Path      string
	Partition lake.Partition
}

// Open lists the lake, picks the files of the range and defines the views. It fails with an
// error wrapping ErrEmptyLake when no file is left, naming what the lake does hold.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	all, skipped, err := listLake(cfg.Dir)
	if err != nil {
		return nil, err
	}
	var inRange []LakeFile
	for _, f := range all {
		if f.Partition.Overlaps(cfg.Range.From, cfg.Range.To) {
			inRange = append(inRange, f)
		}
	}
	if len(inRange) == 0 {
		return nil, emptyLakeError(cfg, all, skipped)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("query: start duckdb: %w", err)
	}
	e := &Engine{db: db, cfg: cfg, skipped: skipped, files: map[flowlog.Kind][]LakeFile{}, pending: map[string]string{}}
	if err := e.setup(ctx, inRange); err != nil {
		db.Close()
		return nil, err
	}
	return e, nil
}

// emptyLakeError explains what the lake holds; it matches ErrEmptyLake.
type emptyLake struct{ msg string }

func (e *emptyLake) Error() string        { return e.msg }
func (e *emptyLake) Is(target error) bool { return target == ErrEmptyLake }

func emptyLakeError(cfg Config, all []LakeFile, skipped int) error {
	if len(all) == 0 {
		msg := fmt.Sprintf("query: the lake %s is empty: no flow log files (*.parquet under AWSLogs/…/vpcflowlogs/…); is the Parquet sink writing there?", cfg.Dir)
		if skipped > 0 {
			msg += fmt.Sprintf(" (%d Parquet files lie outside AWS's key layout)", skipped)
		}
		return &emptyLake{msg}
	}
	first, last := all[0].Partition.Start, all[0].Partition.End()
	for _, f := range all {
		if f.Partition.Start.Before(first) {
			first = f.Partition.Start
		}
		if f.Partition.End().After(last) {
			last = f.Partition.End()
		}
	}
	return &emptyLake{fmt.Sprintf("query: the lake %s has no flow log files from %s; it holds %d files from %s to %s",
		cfg.Dir, cfg.Range, len(all), first.Format(time.RFC3339), last.Format(time.RFC3339))}
}

// listLake walks dir for Parquet files in AWS's layout, sorted by path. Files elsewhere are
// counted, not read.
func listLake(dir string) (files []LakeFile, skipped int, err error) {
	if dir == "" {
		return nil, 0, errors.New("query: no lake given (--lake DIR or s3://bucket/prefix)")
	}
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("query: no lake at %s (is the Parquet sink writing there? give --lake DIR or s3://bucket/prefix): %w", dir, err)
		}
		return nil, 0, fmt.Errorf("query: lake %s: %w", dir, err)
	}
	// Absolute paths, so that the plain layout's path columns match "/AWSLogs/".
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, 0, fmt.Errorf("query: lake %s: %w", dir, err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".parquet") {
			return nil
		}
		part, ok := lake.ParsePartition(filepath.ToSlash(p))
		if !ok {
			skipped++
			return nil
		}
		files = append(files, LakeFile{Path: p, Partition: part})
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("query: list lake %s: %w", dir, err)
	}
	return files, skipped, nil
}

// Files returns the lake files behind the view of kind (after the time-range filter).
func (e *Engine) Files(kind flowlog.Kind) []LakeFile { return e.files[kind] }

// Skipped is the number of Parquet files outside AWS's layout that Open ignored.
func (e *Engine) Skipped() int { return e.skipped }

// DB is the DuckDB database with both views defined, for callers that need more than Query.
func (e *Engine) DB() *sql.DB {
	e.defineViews(context.Background(), "")
	return e.db
}

// defineViews runs the pending CREATE VIEW statements of the views query names (all of
// them when query is empty).
func (e *Engine) defineViews(ctx context.Context, query string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	lower := strings.ToLower(query)
	for name, ddl := range e.pending {
		if query != "" && !strings.Contains(lower, name) {
			continue
		}
		if _, err := e.db.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("query: define view %s: %w", name, err)
		}
		delete(e.pending, name)
	}
	return nil
}

// Close releases DuckDB.
func (e *Engine) Close() error { return e.db.Close() }

// Query runs one SQL statement. DuckDB's errors come back as *SQLError, whose message
// carries DuckDB's text with the failing line and a caret under the position.
func (e *Engine) Query(ctx context.Context, query string) (*sql.Rows, error) {
	if err := e.defineViews(ctx, query); err != nil {
		return nil, err
	}
	rows, err := e.db.QueryContext(ctx, query)
	if err != nil {
		return nil, &SQLError{Query: query, Msg: err.Error(), Err: err}
	}
	return rows, nil
}

// SQLError is a statement DuckDB rejected or failed to run.
type SQLError struct {
	Query string
	Msg   string // DuckDB's message, e.g. "Parser Error: syntax error at or near …\n\nLINE 1: …\n   ^"
	Err   error
}

func (e *SQLError) Error() string { return "query: " + e.Msg }

// Unwrap returns the driver's error.
func (e *SQLError) Unwrap() error { return e.Err }

func (e *Engine) setup(ctx context.Context, files []LakeFile) error {
	if e.cfg.Threads > 0 {
		if _, err := e.db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", e.cfg.Threads)); err != nil {
			return fmt.Errorf("query: set threads: %w", err)
		}
	}
	schemas, err := e.readSchemas(ctx, files)
	if err != nil {
		return err
	}
	for _, f := range files {
		kind := flowlog.KindVPC
		for _, c := range schemas[f.Path] {
			if tgwOnly[c] {
				kind = flowlog.KindTGW
				break
			}
		}
		e.files[kind] = append(e.files[kind], f)
	}
	for _, v := range []struct {
		name string
		kind flowlog.Kind
		cols []flowlog.Field
	}{
		{"vpc_flow_logs", flowlog.KindVPC, flowlog.AllVPC.Fields()},
		{"tgw_flow_logs", flowlog.KindTGW, flowlog.DefaultTGW.Fields()},
	} {
		e.pending[v.name] = viewSQL(v.name, v.cols, e.files[v.kind], schemas, e.cfg.Range)
	}
	return nil
}

// tgwOnly holds the columns only Transit Gateway logs carry (resource_type, tgw_*,
// packets_lost_*): a file with any of them is a TGW file. VPC and TGW files share the key
// layout, and file names hold configurable flow log IDs, so columns are what tells them apart.
var tgwOnly = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range flowlog.AllFields() {
		if f.Info().Scope == flowlog.ScopeTGW {
			m[f.Column()] = true
		}
	}
	return m
}()

// readSchemas returns, per file, its top-level column names in order, read from the
// Parquet footers by a few goroutines (see footer.go).
func (e *Engine) readSchemas(ctx context.Context, files []LakeFile) (map[string][]string, error) {
	out := make(map[string][]string, len(files))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan string)
	)
	for range min(schemaWorkers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				cols, err := fileColumns(p)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[p] = cols
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		next <- f.Path
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return out, firstErr
}

// schemaWorkers bounds the footers read at once.
const schemaWorkers = 8

// fileColumns reads the top-level column names of one Parquet file from its footer.
func fileColumns(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	cols, err := readColumnNames(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("query: %s is not a readable Parquet file: %w", path, err)
	}
	return cols, nil
}

// pathColumns are the partition columns every view ends with.
var pathColumns = []string{"aws_account_id", "aws_region", "year", "month", "day", "hour"}

// viewSQL builds the view of one log kind over files: one read_parquet per partition shape
// (hive key set, or plain daily/hourly), unioned by name, projected onto cols in order.
func viewSQL(name string, cols []flowlog.Field, files []LakeFile, schemas map[string][]string, r TimeRange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s AS SELECT ", name)
	present := map[string]bool{}
	for _, f := range files {
		for _, c := range schemas[f.Path] {
			present[c] = true
		}
	}
	known := map[string]bool{}
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		col := c.Column()
		known[col] = true
		if present[col] && len(files) > 0 {
			b.WriteString(quoteIdent(col))
		} else {
			fmt.Fprintf(&b, "CAST(NULL AS %s) AS %s", duckType(c), quoteIdent(col))
		}
	}
	for _, c := range pathColumns {
		if len(files) > 0 {
			fmt.Fprintf(&b, ", %s", c)
		} else {
			fmt.Fprintf(&b, ", CAST(NULL AS VARCHAR) AS %s", c)
		}
	}
	if len(files) == 0 {
		b.WriteString(" WHERE false")
		return b.String()
	}
	b.WriteString(" FROM (")
	groups := map[string][]LakeFile{}
	var order []string
	for _, f := range files {
		g := f.Partition.Shape()
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], f)
	}
	sort.Strings(order)
	for i, g := range order {
		if i > 0 {
			b.WriteString(" UNION ALL BY NAME ")
		}
		b.WriteString(groupSQL(groups[g], schemas))
	}
	b.WriteString(")")
	var where []string
	if !r.From.IsZero() {
		where = append(where, fmt.Sprintf(`"end" >= %d`, r.From.Unix()))
	}
	if !r.To.IsZero() {
		where = append(where, fmt.Sprintf(`"end" < %d`, r.To.Unix()))
	}
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	return b.String()
}

// groupSQL reads files sharing one partition shape and names their path columns uniformly.
// Hive values stay strings (no autocast: account IDs keep leading zeros); plain paths get
// theirs from the file name, computed only when a query uses them. union_by_name (which
// makes DuckDB read every footer when binding) is asked for only when the files' columns
// differ.
func groupSQL(files []LakeFile, schemas map[string][]string) string {
	paths := make([]string, len(files))
	same := true
	for i, f := range files {
		paths[i] = f.Path
		if same && !sameColumns(schemas[f.Path], schemas[files[0].Path]) {
			same = false
		}
	}
	union := "true"
	if same {
		union = "false"
	}
	p := files[0].Partition
	if p.Hive() {
		k := p.HiveKeys
		hour := "CAST(NULL AS VARCHAR) AS hour"
		if p.Hourly() {
			hour = "hour"
		}
		exclude := make([]string, len(k))
		for i, key := range k {
			exclude[i] = quoteIdent(key)
		}
		return fmt.Sprintf("SELECT * EXCLUDE (%s), %s AS aws_account_id, %s AS aws_region, year, month, day, %s FROM read_parquet(%s, hive_partitioning = true, hive_types_autocast = false, union_by_name = %s)",
			strings.Join(exclude, ", "), quoteIdent(k[0]), quoteIdent(k[2]), hour, sqlList(paths), union)
	}
	const re = `'/AWSLogs/([^/]+)/vpcflowlogs/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/(?:([0-9]{2})/)?[^/]*$'`
	part := func(i int) string { return fmt.Sprintf("regexp_extract(filename, %s, %d)", re, i) }
	hour := "CAST(NULL AS VARCHAR)"
	if p.Hourly() {
		hour = part(6)
	}
	return fmt.Sprintf("SELECT * EXCLUDE (filename), %s AS aws_account_id, %s AS aws_region, %s AS year, %s AS month, %s AS day, %s AS hour FROM read_parquet(%s, hive_partitioning = false, union_by_name = %s, filename = true)",
		part(1), part(2), part(3), part(4), part(5), hour, sqlList(paths), union)
}

// sameColumns reports whether two files have the same columns in the same order (without
// union_by_name DuckDB matches columns by position).
func sameColumns(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// duckType is the DuckDB type of a field's Parquet column.
func duckType(f flowlog.Field) string {
	switch f.Info().Type {
	case flowlog.ColumnInt32:
		return "INTEGER"
	case flowlog.ColumnInt64:
		return "BIGINT"
	}
	return "VARCHAR"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sqlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quoteString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
