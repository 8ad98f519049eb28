package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flowtap/flowtap/flowlog"
)

// WriterOptions tune a FileWriter.
type WriterOptions struct {
	// Codec compresses pages; nil means gzip, as AWS does (see Codec).
	Codec compress.Codec
	// RowGroupRows caps the rows of a row group (default 131072).
	RowGroupRows int64
}

// DefaultRowGroupRows keeps a row group of the 29-column format around 2–4 MB compressed:
// large enough for good compression and cheap footers, small enough to write in memory.
const DefaultRowGroupRows = 128 << 10

// chunkRows is how many rows are gathered before they are appended column by column.
const chunkRows = 128

// FileWriter encodes records of one kind into one Parquet file on out. It writes column by
// column: for each chunk of rows, each column's values are appended by a filler chosen
// for that field to the column's dictionary indexes or values.
type FileWriter struct {
	format   *flowlog.Format
	fillers  []filler
	order    []int   // the order in which the fillers run: key and flow address columns first
	keys     []int32 // key column's dictionary index of each row of the chunk, -1 for null
	srcRows  []int32 // srcaddr's and dstaddr's dictionary index of each row, -1 for null,
	dstRows  []int32 // when the packet addresses are columns too
	enc      encoder
	chunk    []*flowlog.Record
	arena    []byte
	groupMax int64
	inGroup  int64
	records  int
	started  bool
	span     uintptr   // bytes of flowlog.Record the columns read
	strOffs  []uintptr // offsets of the string fields the columns read
	touched  uint64    // what touch read, kept so that its loads are not optimised away
}

// NewFileWriter starts a Parquet file in format on out.
func NewFileWriter(out io.Writer, format *flowlog.Format, opts WriterOptions) *FileWriter {
	if opts.Codec == nil {
		opts.Codec, _ = Codec("gzip")
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	fw := &FileWriter{format: format, groupMax: opts.RowGroupRows}
	fw.enc.codec = opts.Codec
	if opts.Codec == defaultGzip {
		fw.enc.huff = new(huffGzip)
	}
	fw.enc.levEnc.BitWidth = 1
	keyField := flowlog.FieldInterfaceID
	if format.Kind() == flowlog.KindTGW {
		keyField = flowlog.FieldTGWAttachmentID
	}
	has := func(f flowlog.Field) bool { return slices.Contains(format.Fields(), f) }
	hasKey := has(keyField)
	var first, rest []int // fill order: columns whose row indexes others use go first
	for i, f := range format.Fields() {
		if f == flowlog.FieldIgnored {
			if format.Extras() > 0 {
				rest = append(rest, len(fw.fillers))
				fw.fillers = append(fw.fillers, extraFiller(format.Name(i)))
				fw.enc.cols = append(fw.enc.cols, colChunk{name: format.ColumnName(i), phys: physByteArray})
			}
			continue
		}
		phys := physByteArray
		switch f.Info().Type {
		case flowlog.ColumnInt32:
			phys = physInt32
		case flowlog.ColumnInt64:
			phys = physInt64
		}
		fill := fillerFor(f)
		isFirst := false
		if off, ok := strFields[f]; ok {
			fw.strOffs = append(fw.strOffs, off)
			switch {
			case hasKey && f == keyField:
				fill, isFirst = keyStrFiller(off), true
			case hasKey:
				fill = hintedStrFiller(off)
			}
		}
		if paired, flow := pairedAddrFiller(f, has); paired != nil {
			fill, isFirst = paired, flow
		}
		if isFirst {
			first = append(first, len(fw.fillers))
		} else {
			rest = append(rest, len(fw.fillers))
		}
		fw.fillers = append(fw.fillers, fill)
		fw.enc.cols = append(fw.enc.cols, colChunk{name: format.ColumnName(i), phys: phys})
	}
	fw.order = append(first, rest...)
	fw.chunk = make([]*flowlog.Record, 0, chunkRows)
	fw.span = recordSpan(format)
	fw.Reset(out)
	return fw
}

// Records is the number of records written.
func (fw *FileWriter) Records() int { return fw.records }

// SetMetadata adds a key/value pair to the file footer.
func (fw *FileWriter) SetMetadata(key, value string) {
	kv := fw.enc.meta.KeyValueMetadata
	for i := range kv {
		if kv[i].Key == key {
			kv[i].Value = value
			return
		}
	}
	fw.enc.meta.KeyValueMetadata = append(kv, format.KeyValue{Key: key, Value: value})
}

// Reset starts a new file on out, keeping the buffers and dictionary tables of the
// previous one; the Sink pools writers this way.
func (fw *FileWriter) Reset(out io.Writer) {
	e := &fw.enc
	e.out, e.offset, e.err = out, 0, nil
	tmpl, err := templateOf(fw.format)
	if err != nil {
		e.err = err
	} else {
		e.meta, e.lists = tmpl.meta, &tmpl.lists
		e.meta.RowGroups = e.meta.RowGroups[:0:0]
	}
	for i := range e.cols {
		c := &e.cols[i]
		c.defs, c.idx, c.ints, c.nulls = c.defs[:0], c.idx[:0], c.ints[:0], 0
		c.resetChunk()
	}
	clear(fw.chunk)
	fw.chunk = fw.chunk[:0]
	fw.inGroup, fw.records, fw.started = 0, 0, false
}

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

// WriteRecord appends one record. The record must not change until the next chunk is
// flushed (Close or every chunkRows records), since it is referenced, not copied.
func (fw *FileWriter) WriteRecord(r *flowlog.Record) error {
	if fw.enc.err != nil {
		return fw.enc.err
	}
	if r.Kind != fw.format.Kind() {
		return fmt.Errorf("parquet: %s record in a %s file", r.Kind, fw.format.Kind())
	}
	fw.chunk = append(fw.chunk, r)
	fw.records++
	if len(fw.chunk) == cap(fw.chunk) || fw.inGroup+int64(len(fw.chunk)) >= fw.groupMax {
		return fw.flushChunk()
	}
	return nil
}

// flushChunk appends the pending rows column by column, compresses the pages that are
// full, and writes the row group once it is.
func (fw *FileWriter) flushChunk() error {
	n := len(fw.chunk)
	if n == 0 {
		return nil
	}
	e := &fw.enc
	if !fw.started {
		fw.started = true
		e.write([]byte("PAR1"))
	}
	fw.touch()
	for _, ci := range fw.order {
		c := &e.cols[ci]
		fw.fillers[ci](c, fw.chunk, fw)
		if len(c.defs) >= pageRows {
			if err := e.flushPage(c); err != nil {
				e.err = err
				return err
			}
		}
	}
	clear(fw.chunk)
	fw.chunk = fw.chunk[:0]
	fw.inGroup += int64(n)
	if fw.inGroup >= fw.groupMax {
		fw.inGroup = 0
		if err := e.writeRowGroup(); err != nil {
			e.err = err
			return err
		}
	}
	return e.err
}

// touch loads each cache line of the chunk's records that the columns read, in a loop
// that keeps many loads in flight: the fillers then find the records in cache, where their
// own loads would each wait for memory between dictionary probes.
func (fw *FileWriter) touch() {
	var acc uint64
	for _, r := range fw.chunk {
		p := unsafe.Pointer(r)
		for off := uintptr(0); off < fw.span; off += 64 {
			acc += *(*uint64)(unsafe.Add(p, off))
		}
		acc += uint64(*(*byte)(unsafe.Add(p, fw.span-1))) // the last line, as records are not line-aligned
	}
	// The strings' bytes too: parsed records keep them apart from the record.
	for _, r := range fw.chunk {
		p := unsafe.Pointer(r)
		for _, off := range fw.strOffs {
			if s := *(*string)(unsafe.Add(p, off)); s != "" {
				acc += uint64(s[0])
			}
		}
	}
	fw.touched += acc
}

// Close writes the remaining rows and the footer. It does not close out.
func (fw *FileWriter) Close() error {
	if err := fw.flushChunk(); err != nil {
		return err
	}
	e := &fw.enc
	if !fw.started {
		fw.started = true
		e.write([]byte("PAR1"))
	}
	if err := e.writeRowGroup(); err != nil {
		e.err = err
		return err
	}
	if err := e.writeFooter(); err != nil {
		e.err = err
		return err
	}
	return nil
}

// ReadRecords decodes a Parquet flow log file (AWS's or ours): columns are matched by name,
// columns this build does not know are kept by name in Record.Extra, null means absent, and INT32 or INT64 is accepted for any
// integer column. It returns the records and the format their columns form.
//
// parquet-go panics on some corrupt files (slice bounds in page decoding); those panics
// are turned into an error here, so a bad object is reported, never fatal.
func ReadRecords(r io.ReaderAt, size int64) (recs []flowlog.Record, format *flowlog.Format, err error) {
	defer func() {
		if p := recover(); p != nil {
			recs, format, err = nil, nil, fmt.Errorf("parquet: corrupt file: %v", p)
		}
	}()
	return readRecords(r, size)
}

func readRecords(r io.ReaderAt, size int64) ([]flowlog.Record, *flowlog.Format, error) {
	// parquet-go allocates the footer length it reads before checking it against the file
	// size; check first, so a corrupt length cannot make it allocate gigabytes.
	var tail [8]byte
	if size < 12 {
		return nil, nil, fmt.Errorf("parquet: %d bytes is too short for a Parquet file", size)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, nil, fmt.Errorf("parquet: read footer: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return nil, nil, errors.New("parquet: no PAR1 magic at the end: not a Parquet file")
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return nil, nil, fmt.Errorf("parquet: footer length %d exceeds the file (%d bytes)", n, size)
	}
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
	out := make([]flowlog.Record, 0, min(f.NumRows(), 1<<16)) // NumRows comes from the file: do not trust it for allocation
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
					if err := setValue(&rec, fields[ci], format.Name(ci), v); err != nil {
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

func setValue(r *flowlog.Record, f flowlog.Field, name string, v pq.Value) error {
	if f == flowlog.FieldIgnored {
		// A column this build does not know is kept under its name (as text).
		switch {
		case v.IsNull():
		case v.Kind() == pq.Int32:
			r.SetExtra(name, strconv.FormatInt(int64(v.Int32()), 10))
		case v.Kind() == pq.Int64:
			r.SetExtra(name, strconv.FormatInt(v.Int64(), 10))
		case v.Kind() == pq.ByteArray:
			if s := string(v.ByteArray()); !r.SetExtra(name, s) {
				return fmt.Errorf("value %q of column %s has white space", s, name)
			}
		}
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
