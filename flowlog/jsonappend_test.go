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
