package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReportTable(t *testing.T) {
	in := `goos: linux
pkg: github.com/flowtap/flowtap/flowlog
BenchmarkEncodeText-2   	 7395025	       163.1 ns/op	         6.133 Mrec/s	       0 B/op	       0 allocs/op
BenchmarkParseText-2    	 5346781	       341.1 ns/op	         2.931 Mline/s	       0 B/op	       0 allocs/op
PASS
`
	rows, err := parse(strings.NewReader(in))
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows=%d err=%v", len(rows), err)
	}
	if rows[0].pkg != "flowlog" || rows[0].metrics["Mrec/s"] != "6.133" || rows[1].metrics["ns/op"] != "341.1" {
		t.Fatalf("parsed %+v", rows)
	}
	var out bytes.Buffer
	render(&out, rows)
	if !strings.Contains(out.String(), "BenchmarkEncodeText-2") || !strings.Contains(out.String(), "6.133 Mrec/s") {
		t.Fatalf("table:\n%s", out.String())
	}
}
