package logql

import "testing"

func TestLabelFilters(t *testing.T) {
	runPipelineCases(t, []pipelineCase{
		{"numeric filter on missing label drops", `| logfmt | n > 1`, `a=1`, `a=1`, false, `{a="1", src="t"}`},
		{"numeric filter on errored line without label drops", `| json | n > 1`, `nope`, `nope`, false, ``},
		{"numeric filter bad value keeps with error", `| logfmt | n > 1`, `n=abc`, `n=abc`, true, `{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"abc\": invalid syntax", n="abc", src="t"}`},
	})
}
