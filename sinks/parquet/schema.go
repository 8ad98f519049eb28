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
// bucket, encode, fsync, rename) does 0.93–0.95 M (0.47–0.51 M before). Size: 0.63 × the
// gzip text at the default gzip level 2, 0.60 at levels 4–6, 0.57 at level 9, which costs
// twice the CPU (BenchmarkEncodeVPCGzipLevels). What is left is memory-bound: reading ids
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
// BenchmarkEncodeVPC: their files are 0.87× the gzip text (0.88× before).
package parquet

import (
	"fmt"
	"reflect"
	"strings"

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

// Codec returns the page codec named gzip (AWS's choice, at DefaultGzipLevel), gzip-1 to
// gzip-9 (an explicit level), zstd, snappy or none.
func Codec(name string) (compress.Codec, error) {
	if lvl, ok := strings.CutPrefix(name, "gzip-"); ok && len(lvl) == 1 && lvl[0] >= '1' && lvl[0] <= '9' {
		return gzipCodecs[lvl[0]-'1'], nil
	}
	switch name {
	case "gzip", "":
		return gzipCodecs[DefaultGzipLevel-1], nil
	case "zstd":
		return &pq.Zstd, nil
	case "snappy":
		return &pq.Snappy, nil
	case "none", "uncompressed":
		return &pq.Uncompressed, nil
	}
	return nil, fmt.Errorf("parquet: unknown compression %q (want gzip, gzip-1 to gzip-9, zstd, snappy or none)", name)
}

// DefaultGzipLevel is the gzip level of the "gzip" codec. AWS documents only "gzip"; any
// level is valid gzip to readers. Level 2 spends about 7% of the encoder's CPU in gzip,
// levels 3–6 about 14% for files 4–5% smaller, level 9 as much as all the rest.
const DefaultGzipLevel = 2

// gzipHuffman compresses the dictionary pages of the default "gzip" codec. A dictionary
// holds each distinct id or address once, so LZ matching finds little in it, while the
// entropy of its hex digits and decimal octets is most of what gzip gains: on generated
// flow logs, Huffman-only dictionaries are 2% smaller than at level 2 for half the CPU.
// Readers see ordinary gzip either way.
var gzipHuffman = &gzip.Codec{Level: gzip.HuffmanOnly}

// gzipStored compresses the INT64 data pages of the default "gzip" codec: DELTA_BINARY_
// PACKED leaves bit-packed deltas of counters and times in which gzip finds next to
// nothing (on generated flow logs, level 2 makes those pages 0.2% smaller for twenty times
// the CPU of storing them), so they are gzip streams of stored blocks. Readers see
// ordinary gzip either way.
var gzipStored = &gzip.Codec{Level: gzip.NoCompression}

// dictCodecOf is the codec of dictionary pages for page codec c: Huffman-only gzip for the
// default "gzip", c itself for every other choice (an explicit gzip level included).
func dictCodecOf(c compress.Codec) compress.Codec {
	if c == gzipCodecs[DefaultGzipLevel-1] {
		return gzipHuffman
	}
	return c
}

// int64CodecOf is the codec of the data pages of INT64 columns for page codec c: stored
// gzip for the default "gzip", c itself for every other choice.
func int64CodecOf(c compress.Codec) compress.Codec {
	if c == gzipCodecs[DefaultGzipLevel-1] {
		return gzipStored
	}
	return c
}

// gzipCodecs are shared per level: a codec pools its compressors.
var gzipCodecs = func() (cs [9]*gzip.Codec) {
	for i := range cs {
		cs[i] = &gzip.Codec{Level: i + 1}
	}
	return cs
}()
