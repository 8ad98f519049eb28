package parquet

import (
	"encoding/binary"

	"github.com/parquet-go/parquet-go/format"
)

// Page headers are written by hand in Thrift's compact protocol: parquet-go's encoder
// walks the structs by reflection (and allocates) for each of the two pages per column
// and file. The bytes are exactly the ones thrift.Marshal writes for the same header
// (TestPageHeadersAsThriftMarshal): required fields always, optional ones when set,
// Statistics always (parquet-go's "writezero").

// Compact protocol field types.
const (
	ctTrue   = 1
	ctFalse  = 2
	ctI32    = 5
	ctI64    = 6
	ctStruct = 12
)

// compactField appends a field header: the id as a delta from the previous field's.
func compactField(b []byte, last *int16, id int16, typ byte) []byte {
	if d := id - *last; d > 0 && d <= 15 {
		b = append(b, byte(d)<<4|typ)
	} else {
		b = append(b, typ)
		b = binary.AppendVarint(b, int64(id))
	}
	*last = id
	return b
}

func compactI32(b []byte, last *int16, id int16, v int32) []byte {
	return binary.AppendVarint(compactField(b, last, id, ctI32), int64(v))
}

func compactI64(b []byte, last *int16, id int16, v int64) []byte {
	return binary.AppendVarint(compactField(b, last, id, ctI64), v)
}

// appendDataPageV2Header appends the header of a DATA_PAGE_V2 page.
func appendDataPageV2Header(b []byte, uncompressed, compressed int32, h *format.DataPageHeaderV2, compressedFlag bool) []byte {
	var last int16
	b = compactI32(b, &last, 1, int32(format.DataPageV2))
	b = compactI32(b, &last, 2, uncompressed)
	b = compactI32(b, &last, 3, compressed)
	b = compactField(b, &last, 8, ctStruct)
	var in int16
	b = compactI32(b, &in, 1, h.NumValues)
	b = compactI32(b, &in, 2, h.NumNulls)
	b = compactI32(b, &in, 3, h.NumRows)
	b = compactI32(b, &in, 4, int32(h.Encoding))
	b = compactI32(b, &in, 5, h.DefinitionLevelsByteLength)
	b = compactI32(b, &in, 6, h.RepetitionLevelsByteLength)
	if compressedFlag {
		b = compactField(b, &in, 7, ctTrue)
	} else {
		b = compactField(b, &in, 7, ctFalse)
	}
	b = compactField(b, &in, 8, ctStruct)
	var st int16
	b = compactI64(b, &st, 3, h.Statistics.NullCount)
	b = append(b, 0)    // end of Statistics
	b = append(b, 0)    // end of DataPageHeaderV2
	return append(b, 0) // end of PageHeader
}

// appendDictionaryPageHeader appends the header of a PLAIN dictionary page.
func appendDictionaryPageHeader(b []byte, uncompressed, compressed, numValues int32) []byte {
	var last int16
	b = compactI32(b, &last, 1, int32(format.DictionaryPage))
	b = compactI32(b, &last, 2, uncompressed)
	b = compactI32(b, &last, 3, compressed)
	b = compactField(b, &last, 7, ctStruct)
	var in int16
	b = compactI32(b, &in, 1, numValues)
	b = compactI32(b, &in, 2, int32(format.Plain))
	b = append(b, 0)    // end of DictionaryPageHeader
	return append(b, 0) // end of PageHeader
}
