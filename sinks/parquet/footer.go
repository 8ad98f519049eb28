package parquet

import (
	"encoding/binary"
	"fmt"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// The footer is written by hand in Thrift's compact protocol too, as the page headers are
// (thrift.go): parquet-go's encoder walks FileMetaData by reflection, which cost as much as
// 3% of the encoder on files of a few thousand rows. The schema and column orders, the
// same for every file of a format, are marshalled by parquet-go once per format
// (footerLists); the rest follows the rules of parquet-go's encoder: required fields
// always (lists too, even nil), optional ones when not zero (lists when not nil),
// writezero ones always. TestFooterAsThriftMarshal
// compares the bytes with thrift.Marshal's.

// More compact protocol types.
const (
	ctI16    = 4
	ctBinary = 8
	ctList   = 9
)

// footerLists holds the encoded bodies (element header and elements) of the lists of a
// footer template that never change: the schema and the column orders.
type footerLists struct {
	schema, orders []byte
}

// marshalLists encodes md's schema and column orders with parquet-go's Thrift encoder.
func marshalLists(md *format.FileMetaData) (footerLists, error) {
	var proto thrift.CompactProtocol
	// A struct of the list alone encodes as its field header, the list, the stop byte.
	body := func(v any) ([]byte, error) {
		b, err := thrift.Marshal(&proto, v)
		if err != nil || len(b) < 2 {
			return nil, fmt.Errorf("parquet: footer lists: %v", err)
		}
		return b[1 : len(b)-1], nil
	}
	var l footerLists
	var err error
	if l.schema, err = body(&struct {
		Schema thrift.Slice[format.SchemaElement] `thrift:"1,required"`
	}{md.Schema}); err != nil {
		return l, err
	}
	if md.ColumnOrders != nil {
		if l.orders, err = body(&struct {
			ColumnOrders thrift.Slice[format.ColumnOrder] `thrift:"1,optional"`
		}{md.ColumnOrders}); err != nil {
			return l, err
		}
	}
	return l, nil
}

// appendFooter appends md in Thrift's compact protocol; lists are md's schema and column
// orders already encoded.
func appendFooter(b []byte, md *format.FileMetaData, lists *footerLists) []byte {
	var last int16
	b = compactI32(b, &last, 1, md.Version)
	b = append(compactField(b, &last, 2, ctList), lists.schema...)
	b = compactI64(b, &last, 3, md.NumRows)
	b = compactListHeader(compactField(b, &last, 4, ctList), len(md.RowGroups), ctStruct)
	for i := range md.RowGroups {
		b = appendRowGroup(b, &md.RowGroups[i])
	}
	if md.KeyValueMetadata != nil {
		b = compactListHeader(compactField(b, &last, 5, ctList), len(md.KeyValueMetadata), ctStruct)
		for _, kv := range md.KeyValueMetadata {
			var in int16
			b = compactString(b, &in, 1, kv.Key)
			b = compactString(b, &in, 2, kv.Value)
			b = append(b, 0)
		}
	}
	if md.CreatedBy != "" {
		b = compactString(b, &last, 6, md.CreatedBy)
	}
	if md.ColumnOrders != nil {
		b = append(compactField(b, &last, 7, ctList), lists.orders...)
	}
	return append(b, 0)
}

func appendRowGroup(b []byte, rg *format.RowGroup) []byte {
	var last int16
	b = compactListHeader(compactField(b, &last, 1, ctList), len(rg.Columns), ctStruct)
	for i := range rg.Columns {
		b = appendColumnChunk(b, &rg.Columns[i])
	}
	b = compactI64(b, &last, 2, rg.TotalByteSize)
	b = compactI64(b, &last, 3, rg.NumRows)
	if rg.FileOffset != 0 {
		b = compactI64(b, &last, 5, rg.FileOffset)
	}
	if rg.TotalCompressedSize != 0 {
		b = compactI64(b, &last, 6, rg.TotalCompressedSize)
	}
	b = binary.AppendVarint(compactField(b, &last, 7, ctI16), int64(rg.Ordinal))
	return append(b, 0)
}

func appendColumnChunk(b []byte, cc *format.ColumnChunk) []byte {
	var last int16
	b = compactI64(b, &last, 2, cc.FileOffset)
	b = compactField(b, &last, 3, ctStruct)
	md := &cc.MetaData
	var in int16
	b = compactI32(b, &in, 1, int32(md.Type))
	b = compactListHeader(compactField(b, &in, 2, ctList), len(md.Encoding), ctI32)
	for _, e := range md.Encoding {
		b = binary.AppendVarint(b, int64(e))
	}
	b = compactListHeader(compactField(b, &in, 3, ctList), len(md.PathInSchema), ctBinary)
	for _, p := range md.PathInSchema {
		b = append(binary.AppendUvarint(b, uint64(len(p))), p...)
	}
	b = compactI32(b, &in, 4, int32(md.Codec))
	b = compactI64(b, &in, 5, md.NumValues)
	b = compactI64(b, &in, 6, md.TotalUncompressedSize)
	b = compactI64(b, &in, 7, md.TotalCompressedSize)
	b = compactI64(b, &in, 9, md.DataPageOffset)
	if md.DictionaryPageOffset != 0 {
		b = compactI64(b, &in, 11, md.DictionaryPageOffset)
	}
	b = compactField(b, &in, 12, ctStruct)
	var st int16
	b = compactI64(b, &st, 3, md.Statistics.NullCount)
	if md.Statistics.MaxValue != nil {
		b = compactBinary(b, &st, 5, md.Statistics.MaxValue)
	}
	if md.Statistics.MinValue != nil {
		b = compactBinary(b, &st, 6, md.Statistics.MinValue)
	}
	b = append(b, 0)
	if md.EncodingStats != nil {
		b = compactListHeader(compactField(b, &in, 13, ctList), len(md.EncodingStats), ctStruct)
		for _, s := range md.EncodingStats {
			var es int16
			b = compactI32(b, &es, 1, int32(s.PageType))
			b = compactI32(b, &es, 2, int32(s.Encoding))
			b = compactI32(b, &es, 3, s.Count)
			b = append(b, 0)
		}
	}
	b = append(b, 0)    // end of ColumnMetaData
	return append(b, 0) // end of ColumnChunk
}

func compactListHeader(b []byte, n int, elem byte) []byte {
	if n <= 14 {
		return append(b, byte(n)<<4|elem)
	}
	return binary.AppendUvarint(append(b, 0xf0|elem), uint64(n))
}

func compactString(b []byte, last *int16, id int16, s string) []byte {
	b = binary.AppendUvarint(compactField(b, last, id, ctBinary), uint64(len(s)))
	return append(b, s...)
}

func compactBinary(b []byte, last *int16, id int16, v []byte) []byte {
	b = binary.AppendUvarint(compactField(b, last, id, ctBinary), uint64(len(v)))
	return append(b, v...)
}
