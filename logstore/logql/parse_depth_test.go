package logql

import (
	"errors"
	"strings"
	"testing"
)

// TestParseDepthLimit feeds queries nested 500 000 deep in every way the grammar nests;
// each must fail with a positioned parse error (no stack overflow), and a query just
// inside the limit must still parse.
func TestParseDepthLimit(t *testing.T) {
	const n = 500_000
	sel := `count_over_time({a="b"}[1m])`
	cases := map[string]string{
		"parentheses":        strings.Repeat("(", n) + sel + strings.Repeat(")", n),
		"unary minus":        strings.Repeat("-", n) + sel,
		"power chain":        sel + strings.Repeat(" ^ 1", n),
		"sum chain":          sel + strings.Repeat(" + 1", n),
		"vector aggs":        strings.Repeat("sum(", n) + sel + strings.Repeat(")", n),
		"label filter and":   `{a="b"} | x="1"` + strings.Repeat(` and x="1"`, n),
		"label filter juxt":  `{a="b"} | x="1"` + strings.Repeat(` x="1"`, n),
		"label filter paren": `{a="b"} | ` + strings.Repeat("(", n) + `x="1"` + strings.Repeat(")", n),
		"unclosed":           strings.Repeat("(", n),
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseExpr(q)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.Line != 1 || pe.Col < 1 || !strings.Contains(pe.Msg, "nested too deeply") {
				t.Fatalf("got %q, want a positioned 'nested too deeply' error", pe.Error())
			}
			if !IsClientError(err) {
				t.Fatal("a depth error must be a client error (HTTP 400)")
			}
		})
	}
	ok := strings.Repeat("(", MaxDepth/4) + sel + strings.Repeat(")", MaxDepth/4)
	if _, err := ParseExpr(ok); err != nil {
		t.Fatalf("query nested %d deep: %v", MaxDepth/4, err)
	}
}
