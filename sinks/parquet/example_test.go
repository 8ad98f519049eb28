package parquet_test

import (
	"bytes"
	"fmt"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/sinks/parquet"
)

// A FileWriter writes records as AWS's Parquet delivery does; ReadRecords reads any such
// file back, whatever its columns.
func ExampleFileWriter() {
	var r flowlog.Record
	flowlog.DefaultVPC.Parse(&r, "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA")

	var buf bytes.Buffer
	fw := parquet.NewFileWriter(&buf, flowlog.DefaultVPC, parquet.WriterOptions{})
	fw.Write(r)
	fw.Close()

	recs, format, _ := parquet.ReadRecords(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	fmt.Println(format.Header())
	fmt.Println(string(format.AppendText(nil, &recs[0])))
	// Output:
	// version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
	// 2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
}
