package flowlog

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceJSON is AppendJSON written plainly from Present and AppendValue, the encoding the
// Kafka topics have always carried: the fast encoder must write the same bytes.
func referenceJSON(r *Record) []byte {
	all := AllVPC
	if r.Kind == KindTGW {
		all = AllTGW
	}
	var parts []string
	for _, f := range all.Fields() {
		if !r.Present(f) {
			continue
		}
		v := string(r.AppendValue(nil, f, 0))
		if fieldInfo[f].Type == ColumnString {
			v = string(appendJSONString(nil, v))
		}
		parts = append(parts, string(appendJSONString(nil, f.String()))+":"+v)
	}
	r.EachExtra(func(name, value string) {
		if _, known := fieldByName[name]; !known && value != "-" {
			parts = append(parts, string(appendJSONString(nil, name))+":"+string(appendJSONString(nil, value)))
		}
	})
	return []byte("{" + strings.Join(parts, ",") + "}")
}

func TestAppendJSONMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	odd := []string{`quote"d`, `back\slash`, "tab\there", "é", "\x01", "\u2028", "\xff"}
	check := func(r *Record) {
		t.Helper()
		if got, want := string(AppendJSON([]byte("prefix"), r)), "prefix"+string(referenceJSON(r)); got != want {
			t.Fatalf("AppendJSON of %+v\n got %s\nwant %s", r, got, want)
		}
	}
	check(&Record{})
	check(&Record{Kind: KindTGW, Null: nullInts})
	for range 3000 {
		f := randomFormat(rng)
		r := randomRecord(rng, f)
		switch rng.IntN(6) {
		case 0:
			r.Version = uint8(2 + rng.IntN(10))
		case 1:
			r.Action, r.Type = Action(3+rng.IntN(5)), AddrType(4+rng.IntN(5)) // out of range: "-"
		case 2:
			r.InstanceTag = odd[rng.IntN(len(odd))]
			r.AccountID = odd[rng.IntN(len(odd))]
		case 3:
			r.SetExtra("future-field", randomToken(rng))
			r.SetExtra("srcaddr", "shadowed") // a known name is never written twice
		case 4:
			r.Packets = 1<<64 - 1 // written as the int64 it wraps to, as always
			r.Null = r.Null.Without(FieldPackets)
		}
		check(&r)
	}
}

// TestNeedsEscapeString: the eight-bytes-at-a-time test agrees with jsonPlain for every byte
// value at every position of strings of every length up to 19, among plain neighbours.
func TestNeedsEscapeString(t *testing.T) {
	for n := 1; n <= 19; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				if got, want := needsEscapeString(string(b)), !jsonPlain[c]; got != want {
					t.Fatalf("%q: needsEscapeString %v, want %v", b, got, want)
				}
			}
		}
	}
	if needsEscapeString("") || needsEscapeString("eni-0123456789abcdef0 ~}") {
		t.Fatal("plain strings need no escaping")
	}
}
