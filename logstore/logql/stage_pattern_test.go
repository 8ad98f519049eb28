package logql

import "testing"

func TestPatternAndRegexpStages(t *testing.T) {
	runPipelineCases(t, []pipelineCase{
		{"pattern", `| pattern "<ip> - <user> [<_>] <rest>"`, `1.2.3.4 - bob [now] GET /`, `1.2.3.4 - bob [now] GET /`, true, `{ip="1.2.3.4", rest="GET /", src="t", user="bob"}`},
		{"pattern literal prefix mismatch", `| pattern "x <a>"`, `y 1`, `y 1`, true, `{src="t"}`},
		{"pattern missing literal takes the rest", `| pattern "<a> | <b>"`, `one two`, `one two`, true, `{a="one two", src="t"}`},
		{"regexp", `| regexp "(?P<k>\\w+)=(?P<v>\\d+)"`, `x=12 y=3`, `x=12 y=3`, true, `{k="x", src="t", v="12"}`},
		{"regexp no match", `| regexp "(?P<k>z+)"`, `abc`, `abc`, true, `{src="t"}`},
	})
}
