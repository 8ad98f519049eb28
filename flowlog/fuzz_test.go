package flowlog

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func exampleLines(f *testing.F) []string {
	fh, err := os.Open("testdata/examples.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") && !strings.Contains(l, ":") {
			out = append(out, l)
		}
	}
	return out
}

// FuzzParseLine: any line either fails with an error or parses into a record that
// re-encodes and parses to the same text.
func FuzzParseLine(f *testing.F) {
	formats := []*Format{DefaultVPC, DefaultTGW, AllVPC,
		MustParseFormat("${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}")}
	for _, l := range exampleLines(f) {
		for i := range formats {
			f.Add(uint8(i), l)
		}
	}
	f.Add(uint8(0), "2 1 eni-1 ::ffff:1.2.3.4 fe80::1%eth0 1 2 3 4 5 6 7 ACCEPT OK")
	f.Fuzz(func(t *testing.T, which uint8, line string) {
		format := formats[int(which)%len(formats)]
		var r Record
		if err := format.Parse(&r, line); err != nil {
			return
		}
		text := string(format.AppendText(nil, &r))
		var back Record
		if err := format.Parse(&back, text); err != nil {
			t.Fatalf("re-encoded line does not parse: %q: %v", text, err)
		}
		if again := string(format.AppendText(nil, &back)); again != text {
			t.Fatalf("unstable encoding: %q then %q", text, again)
		}
	})
}

// FuzzParseFormat: any format string is rejected with a FormatError or yields a format
// that renders and re-parses to itself.
func FuzzParseFormat(f *testing.F) {
	f.Add(DefaultVPC.String())
	f.Add(DefaultTGW.String())
	f.Add("${version} ${acount-id}")
	f.Add("version srcaddr ${dstaddr}")
	f.Add("${}")
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := ParseFormat(s)
		if err != nil {
			return
		}
		again, err := ParseFormat(fm.String())
		if err != nil || again.String() != fm.String() || again.Version() != fm.Version() {
			t.Fatalf("format %q did not survive a round trip: %v", fm, err)
		}
	})
}

// FuzzParseJSON: any input either fails or yields a record whose JSON reads back the same.
func FuzzParseJSON(f *testing.F) {
	var r Record
	for _, l := range exampleLines(f)[:7] {
		if DefaultVPC.Parse(&r, l) == nil {
			f.Add(AppendJSON(nil, &r))
		}
	}
	f.Add([]byte(`{"srcport":"1","x":[{"}":"\u00e9"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		if err := ParseJSON(data, &r); err != nil {
			return
		}
		// One round normalises the input (invalid UTF-8 becomes U+FFFD); from there on
		// encoding and parsing must be the identity.
		var norm Record
		if err := ParseJSON(AppendJSON(nil, &r), &norm); err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		msg := AppendJSON(nil, &norm)
		var back Record
		if err := ParseJSON(msg, &back); err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", msg, err)
		}
		if again := AppendJSON(nil, &back); string(again) != string(msg) {
			t.Fatalf("unstable JSON: %s then %s", msg, again)
		}
	})
}
