package flowlog

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// randomRecord fills every field of f with a random valid value, or leaves it absent.
func randomRecord(rng *rand.Rand, f *Format) Record {
	var r Record
	r.Kind = f.Kind()
	r.Null = nullInts // as a decoder leaves fields the format lacks
	for _, fd := range f.Fields() {
		if fd == FieldVersion || fd == FieldIgnored {
			continue
		}
		if rng.IntN(8) == 0 { // absent
			r.clear(fd)
			continue
		}
		switch fd {
		case FieldSrcAddr, FieldDstAddr, FieldPktSrcAddr, FieldPktDstAddr:
			var a netip.Addr
			if rng.IntN(3) == 0 {
				var b [16]byte
				for i := range b {
					if rng.IntN(3) > 0 { // zero runs exercise IPv6 compression
						b[i] = byte(rng.Uint32())
					}
				}
				a = netip.AddrFrom16(b)
				if a.Is4In6() {
					a = a.Unmap()
				}
			} else {
				a = netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
			}
			_ = r.SetValue(fd, a.String())
		case FieldAction:
			r.Action = Action(1 + rng.IntN(2))
		case FieldLogStatus:
			r.LogStatus = LogStatus(1 + rng.IntN(3))
		case FieldFlowDirection:
			r.FlowDirection = Direction(1 + rng.IntN(2))
		case FieldType:
			r.Type = AddrType(1 + rng.IntN(3))
		default:
			if fieldInfo[fd].Type != ColumnString {
				v := rng.Int64N(int64(min(intMax(fd), 1<<40)) + 1)
				if fd == FieldStart || fd == FieldEnd {
					v = rng.Int64N(2147483647)
				}
				if err := r.SetInt(fd, v); err != nil {
					panic(err)
				}
			} else {
				*r.str(fd) = randomToken(rng)
			}
		}
	}
	return r
}

func randomToken(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_:/.%"
	n := 1 + rng.IntN(24)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	s := string(b)
	if s == "-" {
		s = "x"
	}
	return s
}

// randomFormat picks a random subset of one kind's fields in random order.
func randomFormat(rng *rand.Rand) *Format {
	all := AllVPC.Fields()
	if rng.IntN(3) == 0 {
		all = AllTGW.Fields()
	}
	perm := rng.Perm(len(all))
	n := 1 + rng.IntN(len(all))
	fs := make([]Field, n)
	for i := range fs {
		fs[i] = all[perm[i]]
	}
	f, err := NewFormat(fs...)
	if err != nil {
		panic(err)
	}
	return f
}

// TestTextRoundTripProperty: for random formats and records, encode → parse → encode is the
// identity on the text, and parse recovers the same record.
func TestTextRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		f := randomFormat(rng)
		r := randomRecord(rng, f)
		line := string(f.AppendText(nil, &r))
		var back Record
		if err := f.Parse(&back, line); err != nil {
			t.Fatalf("format %s\nline %s\n%v", f, line, err)
		}
		if again := string(f.AppendText(nil, &back)); again != line {
			t.Fatalf("format %s\n got %s\nwant %s", f, again, line)
		}
		back.Version = 0
		back.Null = back.Null.Without(FieldVersion)
		if back != r {
			t.Fatalf("record changed in round trip:\n got %+v\nwant %+v", back, r)
		}
	}
}

// TestJSONRoundTripProperty covers both JSON shapes: the lossless one and the format one.
func TestJSONRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		f := randomFormat(rng)
		r := randomRecord(rng, f)
		msg := AppendJSON(nil, &r)
		var back Record
		if err := ParseJSON(msg, &back); err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		if f.Kind() == KindVPC && back.Kind == KindVPC || f.Kind() == KindTGW {
			back.Kind = r.Kind // a TGW record holding only shared fields reads back as VPC
		}
		if back != r {
			t.Fatalf("lossless JSON changed the record:\n%s\n got %+v\nwant %+v", msg, back, r)
		}
		obj := f.AppendJSON(nil, &r)
		if err := ParseJSON(obj, &back); err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		if got, want := string(f.AppendText(nil, &back)), string(f.AppendText(nil, &r)); got != want {
			t.Fatalf("format JSON round trip:\n%s\n got %s\nwant %s", obj, got, want)
		}
	}
}

func TestJSONEscapesAndTolerance(t *testing.T) {
	r := Record{InterfaceID: "eni-1", InstanceTag: "name=\"web\"\n\\é\x01", Null: FieldSet{}.With(FieldSrcPort)}
	msg := AppendJSON(nil, &r)
	var back Record
	if err := ParseJSON(msg, &back); err != nil {
		t.Fatal(err)
	}
	if back.InstanceTag != r.InstanceTag {
		t.Fatalf("tag %q, want %q", back.InstanceTag, r.InstanceTag)
	}
	// Values as strings, "-", null, unknown keys and nested values are all accepted.
	in := `{"srcport":"443","dstport":null,"protocol":"-","future-field":{"a":[1,"}"]},"tgw-id":"tgw-1","packets":7}`
	if err := ParseJSON([]byte(in), &back); err != nil {
		t.Fatal(err)
	}
	if back.SrcPort != 443 || !back.Null.Has(FieldDstPort) || !back.Null.Has(FieldProtocol) || back.Packets != 7 || back.Kind != KindTGW {
		t.Fatalf("tolerant parse gave %+v", back)
	}
	for _, bad := range []string{``, `[]`, `{"srcport":70000}`, `{"srcport":1.5}`, `{"action":"MAYBE"}`, `{"a":1} x`, `{"srcaddr":"nope"}`, `{"a"}`, `{"a":"\u12"}`} {
		if err := ParseJSON([]byte(bad), &back); !errors.Is(err, ErrJSON) {
			t.Errorf("ParseJSON(%q) = %v, want ErrJSON", bad, err)
		}
	}
}

func TestFormatErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"${version} ${acount-id}", `token 2 "${acount-id}": unknown field (did you mean ${account-id}?)`},
		{"${version} ${srcadr} ${dstaddr}", `did you mean ${srcaddr}?`},
		{"${version ${srcaddr}", `token 1 "${version": expected ${field-name}`},
		{"", "format has no fields"},
		{"${srcaddr} ${srcaddr}", `field appears twice`},
		{"${interface-id} ${tgw-id}", "cannot be combined with VPC-only field ${interface-id}"},
	}
	for _, c := range cases {
		_, err := ParseFormat(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFormat(%q) = %v, want it to contain %q", c.in, err, c.want)
		}
	}
	f, err := FormatFromNames([]string{"version", "srcaddr"})
	if err != nil || f.String() != "${version} ${srcaddr}" {
		t.Fatalf("FormatFromNames: %v %v", f, err)
	}
	h, err := FormatFromHeader("version some-future-field srcaddr")
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := h.Parse(&r, "2 whatever 10.0.0.1"); err != nil || r.SrcAddr.String() != "10.0.0.1" {
		t.Fatalf("header with unknown field: %v %+v", err, r)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ line, want string }{
		{"2 123 eni-1 10.0.0.1 10.0.0.2 80 443 6 1 40 1 2 ACCEPT", "line has 13 fields, format has 14"},
		{"2 123 eni-1 10.0.0.1 10.0.0.2 80 443 6 1 40 1 2 ACCEPT OK extra", "line has 15 fields, format has 14"},
		{"2 123 eni-1 10.0.0.1 10.0.0.2 80x 443 6 1 40 1 2 ACCEPT OK", `column 6 (srcport): invalid value "80x"`},
		{"2 123 eni-1 10.0.0.1 10.0.0.2 80 70000 6 1 40 1 2 ACCEPT OK", `column 7 (dstport): invalid value "70000"`},
		{"2 123 eni-1 10.0.0.300 10.0.0.2 80 443 6 1 40 1 2 ACCEPT OK", `column 4 (srcaddr): invalid value "10.0.0.300": not an IP address`},
		{"2 123 eni-1 10.0.0.1 10.0.0.2 80 443 6 1 40 1 2 DROP OK", `column 13 (action): invalid value "DROP": want ACCEPT or REJECT`},
		{"2 123 eni-1 10.0.0.1  80 443 6 1 40 1 2 ACCEPT OK", `column 5 (dstaddr): invalid value: empty`},
	}
	for _, c := range cases {
		var r Record
		err := DefaultVPC.Parse(&r, c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want it to contain %q", c.line, err, c.want)
		}
	}
	var r Record
	err := DefaultVPC.Parse(&r, "2 1 2")
	if !errors.Is(err, ErrFieldCount) {
		t.Fatalf("want ErrFieldCount, got %v", err)
	}
}

func TestToleratedInput(t *testing.T) {
	var r Record
	// Millisecond start/end, CRLF endings and "-" in numeric fields are accepted.
	line := "2 123456789010 eni-1 10.0.0.1 10.0.0.2 80 443 6 - 40 1418530010123 1418530070456 ACCEPT OK\r\n"
	if err := DefaultVPC.Parse(&r, line); err != nil {
		t.Fatal(err)
	}
	if r.Start != 1418530010 || r.End != 1418530070 || !r.Null.Has(FieldPackets) {
		t.Fatalf("got start=%d end=%d null-packets=%v", r.Start, r.End, r.Null.Has(FieldPackets))
	}
	// Non-TCP tcp-flags may be "-" or 0.
	f := MustParseFormat("${protocol} ${tcp-flags}")
	for _, l := range []string{"17 -", "17 0"} {
		if err := f.Parse(&r, l); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
	}
}

func TestNoDataShape(t *testing.T) {
	r := Record{AccountID: "123456789010", InterfaceID: "eni-1235b8ca123456789", Action: ActionAccept}
	r.SetNoData(StatusNoData, 1431280876, 1431280934)
	got := string(DefaultVPC.AppendText(nil, &r))
	want := "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestCloudWatchEvent(t *testing.T) {
	var r Record
	line := "2 647604195155 eni-0c19436730cc350ae 10.5.81.140 10.90.0.45 53598 443 6 2 120 1702918083 1702918083 ACCEPT OK"
	if err := DefaultVPC.Parse(&r, line); err != nil {
		t.Fatal(err)
	}
	ev := NewCloudWatchEvent(DefaultVPC, &r)
	if ev.LogStream != "eni-0c19436730cc350ae-all" || ev.Timestamp != 1702918083000 || ev.Message != line {
		t.Fatalf("event %+v", ev)
	}
	want := `{"logStream":"eni-0c19436730cc350ae-all","timestamp":1702918083000,"message":"` + line + `"}`
	if got := string(ev.AppendJSON(nil)); got != want {
		t.Fatalf("got %s", got)
	}
}
