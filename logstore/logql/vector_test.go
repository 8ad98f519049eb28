package logql

import (
	"math"
	"testing"
)

func TestScalarBinopDivisionByZero(t *testing.T) {
	for _, op := range []string{"/", "%"} {
		if v, ok := scalarBinop(op, 1, 0, false); !ok || !math.IsNaN(v) {
			t.Errorf("1 %s 0 = %v, want NaN as in Loki", op, v)
		}
	}
	if v, _ := scalarBinop("/", 1, 4, false); v != 0.25 {
		t.Errorf("1/4 = %v", v)
	}
	runCases(t, []engineCase{
		{name: "vector / 0 is NaN", query: `sum(count_over_time({app="web"}[1m])) / 0`, end: 60, instant: true, want: "{} NaN"},
	})
}
