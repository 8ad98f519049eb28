package flowlog

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestReferenceExamples parses every example line of the AWS reference and re-encodes it
// byte for byte.
func TestReferenceExamples(t *testing.T) {
	fh, err := os.Open("testdata/examples.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	var format *Format
	wantHeader := false
	lines := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case line == "format: default":
			format = DefaultVPC
			continue
		case strings.HasPrefix(line, "format: "):
			if format, err = ParseFormat(strings.TrimPrefix(line, "format: ")); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			continue
		case line == "header":
			wantHeader = true
			continue
		case wantHeader:
			if !IsHeader(line) {
				t.Fatalf("line %d: %q not recognised as a header", n, line)
			}
			if format, err = FormatFromHeader(line); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			if format.Header() != line {
				t.Fatalf("header round trip: got %q want %q", format.Header(), line)
			}
			wantHeader = false
			continue
		}
		if IsHeader(line) {
			t.Fatalf("line %d: record %q mistaken for a header", n, line)
		}
		var r Record
		if err := format.Parse(&r, line); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		got := string(format.AppendText(nil, &r))
		if got != line {
			t.Errorf("line %d round trip:\n got %s\nwant %s", n, got, line)
		}
		lines++
	}
	if lines != 12 {
		t.Fatalf("checked %d example lines, want 12", lines)
	}
}

func TestVersionComputed(t *testing.T) {
	cases := map[string]uint8{
		"${version} ${srcaddr}":                      2,
		"${version} ${vpc-id}":                       3,
		"${version} ${region} ${tcp-flags}":          4,
		"${version} ${flow-direction}":               5,
		"${version} ${ecs-task-id}":                  7,
		"${version} ${reject-reason}":                8,
		"${version} ${interface-type}":               11,
		DefaultTGW.String():                          6,
		"${version} ${tgw-id} ${srcaddr} ${srcport}": 6,
	}
	for s, want := range cases {
		f, err := ParseFormat(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if f.Version() != want {
			t.Errorf("%s: version %d, want %d", s, f.Version(), want)
		}
	}
	if DefaultTGW.Kind() != KindTGW || DefaultVPC.Kind() != KindVPC {
		t.Fatal("default formats have the wrong kind")
	}
	if n := len(DefaultTGW.Fields()); n != 36 {
		t.Fatalf("TGW default has %d fields, want 36", n)
	}
}
