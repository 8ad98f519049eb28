package parquet

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// TestPageHeadersAsThriftMarshal checks the hand-written page headers against parquet-go's
// Thrift encoder, byte for byte, over small and large (multi-byte varint) values.
func TestPageHeadersAsThriftMarshal(t *testing.T) {
	var proto thrift.CompactProtocol
	sizes := []int32{0, 1, 15, 16, 63, 64, 127, 128, 300, 16383, 16384, 1 << 20, 1<<31 - 1}
	for _, a := range sizes {
		for _, b := range []int32{0, 7, 200, 70000} {
			for _, enc := range []format.Encoding{format.RLEDictionary, format.DeltaBinaryPacked} {
				for _, comp := range []bool{true, false} {
					v2 := format.DataPageHeaderV2{NumValues: a, NumNulls: b, NumRows: a, Encoding: enc,
						DefinitionLevelsByteLength: b + 3, Statistics: format.Statistics{NullCount: int64(b)}}
					h := format.PageHeader{Type: format.DataPageV2, UncompressedPageSize: a, CompressedPageSize: b}
					withFlag := v2
					withFlag.IsCompressed = thrift.New(comp)
					h.DataPageHeaderV2 = thrift.New(withFlag)
					want, err := thrift.Marshal(&proto, &h)
					if err != nil {
						t.Fatal(err)
					}
					if got := appendDataPageV2Header(nil, a, b, &v2, comp); !bytes.Equal(got, want) {
						t.Fatalf("data page %d %d %v %v:\n got %x\nwant %x", a, b, enc, comp, got, want)
					}
				}
			}
			h := format.PageHeader{Type: format.DictionaryPage, UncompressedPageSize: a, CompressedPageSize: b,
				DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: b + a/2, Encoding: format.Plain})}
			want, err := thrift.Marshal(&proto, &h)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendDictionaryPageHeader(nil, a, b, b+a/2); !bytes.Equal(got, want) {
				t.Fatalf("dictionary page %d %d:\n got %x\nwant %x", a, b, got, want)
			}
		}
	}
}

// TestFooterAsThriftMarshal checks the hand-written footer against parquet-go's Thrift
// encoder, byte for byte: every test format, with key/value metadata or none, one row
// group or more than 14 (a list header of more than one byte), empty files.
func TestFooterAsThriftMarshal(t *testing.T) {
	var proto thrift.CompactProtocol
	for name, c := range testCases(t) {
		for _, groupRows := range []int64{0, 1, 7} {
			for _, withKV := range []bool{false, true} {
				var buf bytes.Buffer
				fw := NewFileWriter(&buf, c.format, WriterOptions{RowGroupRows: groupRows})
				if withKV {
					fw.SetMetadata(SourceKey, "vpc/0/10-20")
					fw.SetMetadata("other", "")
				}
				recs := c.recs
				for len(recs) < 100 {
					recs = append(recs, c.recs...)
				}
				if groupRows == 0 {
					recs = nil
				}
				if err := fw.Write(recs...); err != nil {
					t.Fatal(err)
				}
				if err := fw.Close(); err != nil {
					t.Fatal(err)
				}
				md := &fw.enc.meta
				want, err := thrift.Marshal(&proto, md)
				if err != nil {
					t.Fatal(err)
				}
				if got := appendFooter(nil, md, fw.enc.lists); !bytes.Equal(got, want) {
					i := 0
					for i < len(got) && i < len(want) && got[i] == want[i] {
						i++
					}
					got, want = got[max(0, i-40):], want[max(0, i-40):]
					t.Fatalf("%s, row groups of %d, key/values %v, %d row groups:\n got %x\nwant %x",
						name, groupRows, withKV, len(md.RowGroups), got, want)
				}
				if groupRows == 1 && len(md.RowGroups) <= 14 {
					t.Fatalf("%s: %d row groups, want more than 14", name, len(md.RowGroups))
				}
			}
		}
	}
}
