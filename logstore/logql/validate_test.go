package logql

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for q, want := range map[string]string{
		`{a=~".*"}`:                               "at least one regexp or equality matcher",
		`sum_over_time({a="b"}[1m])`:              "invalid aggregation sum_over_time without unwrap",
		`count_over_time({a="b"} | unwrap x[1m])`: "invalid aggregation count_over_time with unwrap",
		`count_over_time({a="b"}[1m]) by (x)`:     "grouping not allowed for count_over_time aggregation",
		`sum(1)`:                                  emptyMatcherMsg,
		`rate({a="b"} | unwrap x [1m]) by (a)`:    "grouping not allowed for rate aggregation",
	} {
		_, err := ParseExpr(q)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", q, err, want)
		}
	}
}
