// Package parquet writes flow records as AWS delivers them to S3 in Parquet format: a bare
// Parquet file, one OPTIONAL column per field of the flow log's format in format order,
// named with "_" for "-" (account_id, log_status), typed as AWS documents (INT_32, INT_64,
// STRING as BYTE_ARRAY/UTF8), null where the text form has "-", gzip pages by default.
//
// The schema is built from a flowlog.Format at run time (an ordered group node, since
// parquet.Group sorts by name), and the footer's schema elements are the ones parquet-go
// writes for it. The pages and the footer are laid out by this package (encoder.go):
// values are appended column by column, in chunks of rows, straight from the typed records
// to per-column dictionary indexes (strings, addresses, INT32) or values (INT64), and each
// page is encoded with parquet-go's RLE and delta encoders. parquet-go reads the files back.
//
// Budget: ≥ 1 M rows/s/core for the 29-column VPC format with gzip pages, and files no
// larger than 0.8 × the gzip text of the same rows (BenchmarkEncodeVPC, measured in rows
// per CPU-second since the machine is shared). On the shared, loaded 2-core box, with
// `go test -run '^$' -bench 'EncodeVPC|SinkVPC' -benchtime 5x -cpu 1 ./sinks/parquet/`:
// the encoder does 1.45–1.75 M rows per CPU-second, against 0.63–0.65 M for parquet-go's
// Writer (the previous design) in the same session, about 2.4×; 1.15–1.35 M on records
// parsed from text (BenchmarkEncodeVPCParsed: no string is shared between records, so ids
// are hashed and compared by content). The whole sink (split by account, region and
// bucket, encode, fsync, rename) does 0.93–0.95 M (0.47–0.51 M before). Size: 0.62 × the
// gzip text with the default "gzip" codec (pageGzip); 0.63 with level 2 of klauspost's
// deflate, 0.60 at levels 4–6, 0.57 at level 9, which costs twice the CPU
// (BenchmarkEncodeVPCGzipLevels). What is left is memory-bound: reading ids
// out of scattered records, probing dictionaries of thousands of addresses, and gzip.
//
// In the sink's own situation (BenchmarkEncodeGenerated: batches of up to 20 000 records
// of `flowtap generate`, decoded from JSON, split into groups; BenchmarkSinkGenerated adds
// the store): each chunk's records are first loaded in one tight loop (FileWriter.touch),
// so their cache misses overlap instead of stalling every dictionary probe; the columns
// that follow the interface id compare with the value last seen with it, and the packet
// addresses map the flow address's index, before probing; ports index an array. Against
// the encoder before these changes, alternating 10 runs each on the loaded 2-core box,
// the encoder takes 0.63× the CPU per record and the sink 0.74×; in `bench/pipeline
// -minutes 30` the Parquet destination of the real sink went from about 1.44 to 0.99 CPU
// µs per record (0.69×). Generated groups are far more varied than the ones of
// BenchmarkEncodeVPC: their files are 0.83× the gzip text (0.87× with level-2 pages).
package parquet

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/flowtap/flowtap/flowlog"
)

// DefaultVPCFormat is the column set of AWS's Athena examples: fields 1–29 of the field
// table (the default format plus every v3–v5 field), in table order.
var DefaultVPCFormat = func() *flowlog.Format {
	var fs []flowlog.Field
	for f := flowlog.FieldVersion; f <= flowlog.FieldTrafficPath; f++ {
		fs = append(fs, f)
	}
	f, err := flowlog.NewFormat(fs...)
	if err != nil {
		panic(err)
	}
	return f
}()

// Schema returns the Parquet schema AWS would write for format: one optional column per
// field, in format order. Strings and INT32 columns are dictionary-encoded, INT64 columns
// delta-encoded.
func Schema(format *flowlog.Format) *pq.Schema {
	fields := make(orderedGroup, 0, len(format.Fields()))
	for i, f := range format.Fields() {
		if f == flowlog.FieldIgnored && format.Extras() == 0 {
			continue
		}
		// A column this build does not know (named by a header) is a string column.
		fields = append(fields, column{name: format.ColumnName(i), Node: pq.Optional(leafFor(f))})
	}
	return pq.NewSchema("flowlogs", fields)
}

func leafFor(f flowlog.Field) pq.Node {
	switch f.Info().Type {
	case flowlog.ColumnInt32:
		return pq.Encoded(pq.Int(32), &pq.RLEDictionary)
	case flowlog.ColumnInt64:
		// Counters and times: delta encoding packs them to a few bits per value before the
		// page codec sees them, which makes the pages both smaller and cheaper to compress.
		return pq.Encoded(pq.Int(64), &pq.DeltaBinaryPacked)
	}
	return pq.Encoded(pq.String(), &pq.RLEDictionary)
}

// orderedGroup is a group node whose fields keep the order given, unlike parquet.Group
// (a map, sorted by name): AWS's columns follow the flow log's format order.
type orderedGroup []pq.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return g.asGroup().String() }
func (g orderedGroup) Type() pq.Type               { return pq.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []pq.Field          { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return g.asGroup().GoType() }
func (g orderedGroup) asGroup() pq.Group {
	m := make(pq.Group, len(g))
	for _, f := range g {
		m[f.Name()] = f
	}
	return m
}

// column is one named field of an orderedGroup.
type column struct {
	pq.Node
	name string
}

func (c column) Name() string { return c.name }

// Value is only used by reflection-based writes of maps, which this package never does.
func (c column) Value(base reflect.Value) reflect.Value {
	if base.Kind() == reflect.Map {
		return base.MapIndex(reflect.ValueOf(c.name))
	}
	return reflect.Value{}
}

// FieldOfColumn maps a Parquet column name back to its field ("log_status" → log-status).
func FieldOfColumn(name string) (flowlog.Field, bool) {
	return flowlog.LookupField(strings.ReplaceAll(name, "_", "-"))
}

// Codec returns the page codec named gzip (AWS's choice, coded by this package: see
// pageGzip), gzip-1 to gzip-9 (klauspost's deflate at that level), zstd, snappy or none.
func Codec(name string) (compress.Codec, error) {
	if lvl, ok := strings.CutPrefix(name, "gzip-"); ok && len(lvl) == 1 && lvl[0] >= '1' && lvl[0] <= '9' {
		return gzipCodecs[lvl[0]-'1'], nil
	}
	switch name {
	case "gzip", "":
		return defaultGzip, nil
	case "zstd":
		return &pq.Zstd, nil
	case "snappy":
		return &pq.Snappy, nil
	case "none", "uncompressed":
		return &pq.Uncompressed, nil
	}
	return nil, fmt.Errorf("parquet: unknown compression %q (want gzip, gzip-1 to gzip-9, zstd, snappy or none)", name)
}

// defaultGzip is the "gzip" codec.
var defaultGzip = &pageGzip{}

// pageGzip is the "gzip" page codec. AWS documents only "gzip"; any deflate stream is
// valid gzip to readers. Its pages are coded by huffGzip, one page kind at a time:
//
//   - dictionary pages are Huffman-coded (dictionaries hold each distinct id, address or
//     port once, so LZ77 matching finds little in them, while the entropy of their hex
//     digits, decimal octets and little-endian integers is most of what gzip gains);
//   - data pages of dictionary indexes are Huffman-coded when that saves at least
//     dataPageMinSaving percent, else stored: the indexes are bit-packed at odd widths,
//     in which level 2 of klauspost's deflate found few matches and stored many pages
//     whose bytes looked uniform to it, while Huffman coding alone made them 12% smaller;
//   - INT64 data pages are stored: DELTA_BINARY_PACKED leaves bit-packed deltas of
//     counters and times in which Huffman coding gains about 1%.
//
// Encode (for callers other than FileWriter, which keeps its own huffGzip) codes a page as
// a dictionary page.
type pageGzip struct {
	gzip.Codec // decoding, name and format.Gzip
	coders     sync.Pool
}

func (c *pageGzip) Encode(dst, src []byte) ([]byte, error) {
	h, _ := c.coders.Get().(*huffGzip)
	if h == nil {
		h = new(huffGzip)
	}
	dst = h.encode(dst[:0], src, 0)
	c.coders.Put(h)
	return dst, nil
}

// dataPageMinSaving is how much smaller (in percent) Huffman coding must make a data page
// of dictionary indexes for it to be coded rather than stored: coding costs about 1.5 ns
// per byte beyond the histogram and code table. On the generated flow logs of
// BenchmarkEncodeGenerated, files are 0.826× the gzip text at 10%, 0.832× at 15%, 0.867×
// at 20% (0.875× with level 2 before), and on files of ~3 500 rows gzip costs 85, 78 and
// 73 ns per record (98 before); at 20% BenchmarkEncodeVPC's files would be larger than
// with level 2.
const dataPageMinSaving = 15

// gzipCodecs are shared per level: a codec pools its compressors.
var gzipCodecs = func() (cs [9]*gzip.Codec) {
	for i := range cs {
		cs[i] = &gzip.Codec{Level: i + 1}
	}
	return cs
}()
