package logql

import "testing"

// TestParsePipelineForms checks that each pipeline form parses and prints back in a
// form that parses to the same string.
func TestParsePipelineForms(t *testing.T) {
	for _, q := range []string{
		`{a="b"} | logfmt --strict --keep-empty x="y", z`,
		`{a="b"} | json a, b="c.d", e="f[0]"`,
		`{a="b"} |> "<_> x <_>" or "y <_>" !> "<_>z"`,
		`{a="b"} | unpack | decolorize`,
		`{a="b"} | label_format a=b, c="{{.d}}" | line_format "{{.a}}"`,
		`{a="b"} | keep a, b="c" | drop d`,
		`{a="b"} | x > 1 and y="2" or z=ip("10.0.0.0/8")`,
	} {
		e, err := ParseExpr(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		again, err := ParseExpr(e.String())
		if err != nil {
			t.Fatalf("%s printed as %s: %v", q, e, err)
		}
		if again.String() != e.String() {
			t.Errorf("%s: round trip %s != %s", q, again, e)
		}
	}
}
