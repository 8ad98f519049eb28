package query

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Reading the column names of every lake file is the one cost Open adds to a query, and a
// lake holds thousands of small files (one per 5 minutes, region and kind). parquet-go's
// OpenFile decodes the whole footer, row group and column statistics included, which costs
// about 0.1 ms a file; the names sit in the footer's first field. So columnNames decodes the
// Thrift compact encoding of FileMetaData only up to its schema list and stops there.

// schemaPrefix is how much of the footer is read at first: the schema comes first in it, and
// the row group metadata after it can be many times larger.
const schemaPrefix = 8 << 10

// errFooter is wrapped by every footer decoding error.
var errFooter = errors.New("bad Parquet footer")

// errTruncated is a footer that ends before the schema does.
var errTruncated = fmt.Errorf("%w: truncated", errFooter)

// readColumnNames returns the top-level column names of the Parquet file r of size bytes.
// It reads the 8-byte trailer, then the start of the footer, and the whole footer only if
// the schema is longer than that.
func readColumnNames(r io.ReaderAt, size int64) ([]string, error) {
	if size < 12 {
		return nil, fmt.Errorf("%w: file of %d bytes", errFooter, size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, err
	}
	if string(tail[4:]) != "PAR1" {
		return nil, fmt.Errorf("%w: no PAR1 magic at the end (encrypted or not Parquet)", errFooter)
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if flen+12 > size {
		return nil, fmt.Errorf("%w: footer length %d exceeds the file", errFooter, flen)
	}
	start := size - 8 - flen
	buf := make([]byte, min(flen, schemaPrefix))
	if _, err := r.ReadAt(buf, start); err != nil {
		return nil, err
	}
	names, err := columnNames(buf)
	if errors.Is(err, errTruncated) && int64(len(buf)) < flen {
		buf = make([]byte, flen)
		if _, err := r.ReadAt(buf, start); err != nil {
			return nil, err
		}
		names, err = columnNames(buf)
	}
	return names, err
}

// columnNames decodes FileMetaData (Thrift compact protocol) up to field 2, the schema:
// a depth-first list of SchemaElement whose first element is the root.
func columnNames(footer []byte) ([]string, error) {
	d := &thriftReader{b: footer}
	var last int16
	for {
		id, typ, err := d.fieldHeader(&last)
		if err != nil {
			return nil, err
		}
		if typ == tStop {
			return nil, fmt.Errorf("%w: no schema", errFooter)
		}
		if id != 2 || typ != tList {
			if err := d.skip(typ, 0); err != nil {
				return nil, err
			}
			continue
		}
		size, elem, err := d.listHeader()
		if err != nil {
			return nil, err
		}
		if elem != tStruct || size == 0 {
			return nil, fmt.Errorf("%w: schema is not a list of structs", errFooter)
		}
		elems := make([]schemaElement, 0, min(size, 4096))
		for range size {
			e, err := d.schemaElement()
			if err != nil {
				return nil, err
			}
			elems = append(elems, e)
		}
		return topLevelNames(elems)
	}
}

type schemaElement struct {
	name     string
	children int32
}

// topLevelNames returns the names of the root's children, skipping their descendants.
func topLevelNames(elems []schemaElement) ([]string, error) {
	root := elems[0]
	if root.children < 0 || int(root.children) > len(elems)-1 {
		return nil, fmt.Errorf("%w: root has %d children", errFooter, root.children)
	}
	names := make([]string, 0, root.children)
	i := 1
	for range root.children {
		if i >= len(elems) {
			return nil, fmt.Errorf("%w: schema ends early", errFooter)
		}
		names = append(names, elems[i].name)
		// Skip the subtree: pending counts the elements still owed to it.
		pending := int64(elems[i].children)
		i++
		for pending > 0 {
			if i >= len(elems) || elems[i].children < 0 {
				return nil, fmt.Errorf("%w: schema ends early", errFooter)
			}
			pending += int64(elems[i].children) - 1
			i++
		}
	}
	return names, nil
}

// Thrift compact protocol types.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

// maxDepth bounds nested structs in skipped fields.
const maxDepth = 32

type thriftReader struct {
	b []byte
	i int
}

func (d *thriftReader) byte() (byte, error) {
	if d.i >= len(d.b) {
		return 0, errTruncated
	}
	c := d.b[d.i]
	d.i++
	return c, nil
}

func (d *thriftReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b[d.i:])
	if n == 0 {
		return 0, errTruncated
	}
	if n < 0 {
		return 0, fmt.Errorf("%w: bad varint", errFooter)
	}
	d.i += n
	return v, nil
}

func (d *thriftReader) varint() (int64, error) {
	u, err := d.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// fieldHeader reads a field header; last carries the previous field id for deltas.
func (d *thriftReader) fieldHeader(last *int16) (int16, byte, error) {
	c, err := d.byte()
	if err != nil {
		return 0, 0, err
	}
	typ := c & 0x0f
	if typ == tStop {
		return 0, tStop, nil
	}
	if delta := c >> 4; delta != 0 {
		*last += int16(delta)
	} else {
		v, err := d.varint()
		if err != nil {
			return 0, 0, err
		}
		*last = int16(v)
	}
	return *last, typ, nil
}

func (d *thriftReader) listHeader() (int, byte, error) {
	c, err := d.byte()
	if err != nil {
		return 0, 0, err
	}
	size := int(c >> 4)
	if size == 15 {
		v, err := d.uvarint()
		if err != nil {
			return 0, 0, err
		}
		if v > uint64(len(d.b)-d.i) { // every element takes at least one byte
			return 0, 0, errTruncated
		}
		size = int(v)
	}
	return size, c & 0x0f, nil
}

func (d *thriftReader) binary() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.i) {
		return nil, errTruncated
	}
	s := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return s, nil
}

// schemaElement reads the name (field 4) and num_children (field 5) of a SchemaElement.
func (d *thriftReader) schemaElement() (schemaElement, error) {
	var e schemaElement
	var last int16
	for {
		id, typ, err := d.fieldHeader(&last)
		if err != nil {
			return e, err
		}
		switch {
		case typ == tStop:
			return e, nil
		case id == 4 && typ == tBinary:
			s, err := d.binary()
			if err != nil {
				return e, err
			}
			e.name = string(s)
		case id == 5 && typ == tI32:
			v, err := d.varint()
			if err != nil {
				return e, err
			}
			if v < 0 || v > 1<<20 {
				return e, fmt.Errorf("%w: %d children", errFooter, v)
			}
			e.children = int32(v)
		default:
			if err := d.skip(typ, 1); err != nil {
				return e, err
			}
		}
	}
}

// skip passes over one value of type typ.
func (d *thriftReader) skip(typ byte, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested too deep", errFooter)
	}
	switch typ {
	case tTrue, tFalse:
		return nil
	case tByte:
		_, err := d.byte()
		return err
	case tI16, tI32, tI64:
		_, err := d.uvarint()
		return err
	case tDouble:
		if len(d.b)-d.i < 8 {
			return errTruncated
		}
		d.i += 8
		return nil
	case tBinary:
		_, err := d.binary()
		return err
	case tList, tSet:
		size, elem, err := d.listHeader()
		if err != nil {
			return err
		}
		for range size {
			if elem == tTrue || elem == tFalse { // booleans in lists take a byte each
				if _, err := d.byte(); err != nil {
					return err
				}
				continue
			}
			if err := d.skip(elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		size, err := d.uvarint()
		if err != nil {
			return err
		}
		if size == 0 {
			return nil
		}
		if size > uint64(len(d.b)-d.i) {
			return errTruncated
		}
		kv, err := d.byte()
		if err != nil {
			return err
		}
		for range size {
			if err := d.skip(kv>>4, depth+1); err != nil {
				return err
			}
			if err := d.skip(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		var last int16
		for {
			_, t, err := d.fieldHeader(&last)
			if err != nil {
				return err
			}
			if t == tStop {
				return nil
			}
			if err := d.skip(t, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w: unknown Thrift type %d", errFooter, typ)
}
