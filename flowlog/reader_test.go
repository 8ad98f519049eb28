package flowlog

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderGzipHeadersAndErrors(t *testing.T) {
	file1 := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n"
	file2 := "flow-direction srcaddr\r\ningress 10.0.0.1\r\n\r\negress 10.0.0.2" // CRLF, blank line, no final newline
	var gz bytes.Buffer
	for _, body := range []string{file1, file2} { // two gzip members, as concatenated S3 objects
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(body))
		zw.Close()
	}
	rd, err := NewReader(&gz, "two.gz", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var r Record
	for {
		err := rd.Read(&r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(rd.Format().AppendText(nil, &r)))
	}
	want := []string{strings.Split(file1, "\n")[1], "ingress 10.0.0.1", "egress 10.0.0.2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}

	rd, _ = NewReader(strings.NewReader("2 1 eni-1 - - - - - - - 1 2 - NODATA\n2 1 eni-1 x\n"), "in", DefaultVPC)
	if err := rd.Read(&r); err != nil {
		t.Fatal(err)
	}
	err = rd.Read(&r)
	if !errors.Is(err, ErrFieldCount) || !strings.HasPrefix(err.Error(), "in:2: ") {
		t.Fatalf("want a line-numbered field-count error, got %v", err)
	}
	rd, _ = NewReader(strings.NewReader("2 1 eni-1\n"), "stdin", nil)
	if err := rd.Read(&r); err == nil || !strings.Contains(err.Error(), "no header line") {
		t.Fatalf("want missing-format error, got %v", err)
	}
}
