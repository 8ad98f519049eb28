package logql

import "testing"

func TestParseMetricForms(t *testing.T) {
	for q, want := range map[string]string{
		`vector(1)+vector(1)`: `(vector(1.000000) + vector(1.000000))`,
		`vector(-2.000000)`:   `vector(-2.000000)`,
		`label_replace(sum(rate({a="b"}[1m])), "d", "$1", "s", "(.*)")`:                            `label_replace(sum(rate({a="b"}[1m])),"d","$1","s","(.*)")`,
		`sum by (x) (rate({a="b"}[1m])) / on (x) group_left (y) sum by (x, y) (rate({a="b"}[1m]))`: `(sum by (x)(rate({a="b"}[1m])) / on (x) group_left (y) sum by (x,y)(rate({a="b"}[1m])))`,
		`sort_desc(rate({a="b"}[1m]))`:         `sort_desc(rate({a="b"}[1m]))`,
		`absent_over_time({a="b"}[1m])`:        `absent_over_time({a="b"}[1m])`,
		`rate_counter({a="b"} | unwrap x[1m])`: `rate_counter({a="b"} | unwrap x[1m])`,
		`1 / 0`:                                `NaN`,
	} {
		e, err := ParseExpr(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if e.String() != want {
			t.Errorf("%s: got %s, want %s", q, e, want)
		}
	}
	for _, bad := range []string{`vector(x)`, `label_replace(vector(1), "d", "", "s", "(")`, `rate_counter({a="b"}[1m])`} {
		if _, err := ParseExpr(bad); err == nil {
			t.Errorf("%s: want a parse error", bad)
		}
	}
}
