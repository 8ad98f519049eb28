package loki

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
)

// The renderer writes exactly what Format.AppendText writes, for the default formats, every
// field of each kind, formats of random fields and formats with unknown columns, appending
// to a buffer that already holds text.
func TestLineRendererMatchesAppendText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := flowlog.AllFields()
	formats := []*flowlog.Format{flowlog.DefaultVPC, flowlog.DefaultTGW, flowlog.AllVPC, flowlog.AllTGW, v5,
		flowlog.DefaultVPC.WithExtras("new-field"), flowlog.DefaultTGW.WithExtras("other.field", "new-field")}
	for range 20 {
		fs := make([]flowlog.Field, 1+rng.IntN(20))
		for i := range fs {
			fs[i] = all[rng.IntN(len(all))]
		}
		f, err := flowlog.NewFormat(fs...)
		if err != nil {
			continue // a field twice, or VPC and TGW fields mixed
		}
		formats = append(formats, f)
	}
	var got, want []byte
	for _, f := range formats {
		lr := newLineRenderer(f)
		for range 2000 {
			r := randomRecord(rng, 1767225600)
			got = lr.render(append(got[:0], "prefix "...), &r)
			want = f.AppendText(append(want[:0], "prefix "...), &r)
			if !bytes.Equal(got, want) {
				t.Fatalf("format %s, record %+v:\n got %s\nwant %s", f, r, got, want)
			}
		}
	}
}

func TestAppendUint(t *testing.T) {
	vs := []uint64{0, 9, 10, 99, 100, 101, 999, 1000, 65535, 1 << 32, math.MaxInt64, math.MaxUint64}
	for i := range pow10 {
		vs = append(vs, pow10[i]-1, pow10[i], pow10[i]+1)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		vs = append(vs, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range vs {
		buf := make([]byte, 2, 2+rng.IntN(22)) // room or none
		got := appendUint(buf, v)
		if want := fmt.Sprint(v); string(got[2:]) != want {
			t.Fatalf("appendUint(%d) = %q", v, got[2:])
		}
	}
}
