package flowlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
// fullRecordJSON are a VPC and a TGW message with a value in every field of their kind
// and an unknown column: together they set every group of fields.
var fullRecordJSON = func() (msgs [2][]byte) {
	for i, scope := range []Scope{ScopeVPC, ScopeTGW} {
		var r Record
		if scope == ScopeTGW {
			r.Kind = KindTGW
		}
		for f := Field(0); f < Field(numFields); f++ {
			if s := fieldInfo[f].Scope; s != scope && s != ScopeBoth {
				continue
			}
			v := "1"
			switch {
			case r.str(f) != nil:
				v = "v"
			case r.addr(f) != nil:
				v = "10.0.0.1"
			case enumNames(f) != nil:
				v = enumNames(f)[1]
			}
			if err := r.SetValue(f, v); err != nil {
				panic(err)
			}
		}
		r.SetExtra("future-field", "v")
		msgs[i] = AppendJSON(nil, &r)
	}
	return msgs
}()

func FuzzParseJSON(f *testing.F) {
	var r Record
	for _, l := range exampleLines(f)[:7] {
		if DefaultVPC.Parse(&r, l) == nil {
			f.Add(AppendJSON(nil, &r))
		}
	}
	f.Add([]byte(`{"srcport":"1","x":[{"}":"\u00e9"}]}`))
	// ParseJSONCopy once took the repeated bytes of an address that was not a string.
	f.Add([]byte(`{"account-id":"1","srcaddr":"10.0.0.1","dstaddr":110.0.0.1","srcport":443,"dstport":80}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		owned := append([]byte(nil), data...)
		var inPlace Record
		errOwned := ParseJSONOwned(owned, &inPlace)
		if err := ParseJSON(data, &r); err != nil {
			if errOwned == nil {
				t.Fatalf("ParseJSONOwned took what ParseJSON refused: %v", err)
			}
			var arena Strings
			for range 2 { // the second time with what the first learnt
				var copied Record
				if ParseJSONCopy(append([]byte(nil), data...), &copied, &arena) == nil {
					t.Fatalf("ParseJSONCopy took what ParseJSON refused: %v", err)
				}
			}
			return
		}
		if errOwned != nil || inPlace != r {
			t.Fatalf("ParseJSONOwned: %v, %+v; ParseJSON: %+v", errOwned, inPlace, r)
		}
		// Copied out to an arena, the record must not depend on the message any more.
		var arena Strings
		var copied Record
		scratch := append([]byte(nil), data...)
		if err := ParseJSONCopy(scratch, &copied, &arena); err != nil {
			t.Fatalf("ParseJSONCopy: %v where ParseJSON took it", err)
		}
		clear(scratch)
		if copied != r {
			t.Fatalf("ParseJSONCopy: %+v; ParseJSON: %+v", copied, r)
		}
		// Again with the keys' order learnt from the first parse.
		var again Record
		if err := ParseJSONCopy(append([]byte(nil), data...), &again, &arena); err != nil || again != r {
			t.Fatalf("ParseJSONCopy with learnt key order: %v, %+v; ParseJSON: %+v", err, again, r)
		}
		// Into a slot that held another record (a full one, then this one): only the groups
		// those may have set are cleared, and nothing of theirs may show.
		var slot Record
		var dirty Groups
		for _, full := range fullRecordJSON {
			set, _ := ParseJSONReusing(full, &slot, &arena, dirty)
			dirty |= set
		}
		for range 2 {
			set, err := ParseJSONReusing(append([]byte(nil), data...), &slot, &arena, dirty)
			if dirty |= set; err != nil || slot != r {
				t.Fatalf("ParseJSONReusing into a used slot: %v, %+v; ParseJSON: %+v", err, slot, r)
			}
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

// FuzzReader: any input (text, export lines, subscription payloads, gzip or not) yields
// records and events or errors, never a panic or a loop; every record re-encodes in its
// format and parses back to the same text.
func FuzzReader(f *testing.F) {
	f.Add([]byte(DefaultVPC.Header() + "\n" + docVPCLine1 + "\n"))
	f.Add([]byte("version new-field srcaddr\n2 x 10.0.0.1\n"))
	f.Add([]byte("2018-09-22T20:28:14.000Z " + docVPCLine1 + "\n"))
	f.Add([]byte(docControl + `{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"` + docVPCLine2 + `"}]}`))
	f.Add([]byte(docTunnel))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data), "fuzz", nil)
		if err != nil {
			return
		}
		var r Record
		for i := 0; i < 10000; i++ {
			it, err := rd.Next(&r)
			if err == io.EOF {
				return
			}
			if err != nil || it.Event != "" {
				continue
			}
			text := string(it.Format.AppendText(nil, &r))
			var back Record
			if err := it.Format.Parse(&back, text); err != nil {
				t.Fatalf("re-encoded line does not parse: %q: %v", text, err)
			}
			if again := string(it.Format.AppendText(nil, &back)); again != text {
				t.Fatalf("unstable: %q then %q", text, again)
			}
		}
		t.Fatal("reader did not reach EOF after 10000 items")
	})
}

// FuzzDecodeSubscription: any bytes decode into checked payloads or an ErrSubscription.
func FuzzDecodeSubscription(f *testing.F) {
	f.Add([]byte(docControl))
	f.Add(gz([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[]}`)))
	f.Add([]byte(`{"messageType":"DATA_MESSAGE"}{"messageType":"CONTROL_MESSAGE"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := DecodeSubscription(data)
		if err != nil {
			if !errors.Is(err, ErrSubscription) {
				t.Fatalf("error %v does not wrap ErrSubscription", err)
			}
			return
		}
		for _, p := range ps {
			if p.MessageType != MessageData && p.MessageType != MessageControl {
				t.Fatalf("accepted messageType %q", p.MessageType)
			}
		}
	})
}

// FuzzHeaderUnknownColumns: a header naming any columns either is rejected or reads its own
// lines back byte for byte, and its per-format JSON has one distinct key per column.
func FuzzHeaderUnknownColumns(f *testing.F) {
	f.Add("version some-new-field srcaddr other", "2 x 10.0.0.1 -")
	f.Add("a b", "1 2")
	f.Fuzz(func(t *testing.T, header, line string) {
		fm, err := FormatFromHeader(header)
		if err != nil {
			return
		}
		var r Record
		if err := fm.Parse(&r, line); err != nil {
			return
		}
		text := string(fm.AppendText(nil, &r))
		var back Record
		if err := fm.Parse(&back, text); err != nil || string(fm.AppendText(nil, &back)) != text {
			t.Fatalf("unstable %q: %v", text, err)
		}
		var m map[string]json.RawMessage
		obj := fm.AppendJSON(nil, &r)
		if err := json.Unmarshal(obj, &m); err != nil || len(m) != len(fm.Fields()) {
			t.Fatalf("JSON %s: %v (%d keys for %d columns)", obj, err, len(m), len(fm.Fields()))
		}
	})
}
