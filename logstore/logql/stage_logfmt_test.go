package logql

import "testing"

func TestLogfmt(t *testing.T) {
	runPipelineCases(t, []pipelineCase{
		{"logfmt value with =", `| logfmt`, `a=1 b=x=y c=3`, `a=1 b=x=y c=3`, true, `{a="1", c="3", src="t"}`},
		{"logfmt strict value with =", `| logfmt --strict`, `a=1 b=x=y c=3`, `a=1 b=x=y c=3`, true, `{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 8 : unexpected '='", a="1", src="t"}`},
		{"logfmt keep empty", `| logfmt --keep-empty`, `a= b=2`, `a= b=2`, true, `{a="", b="2", src="t"}`}, // shown, as Loki does
		{"logfmt drops empty", `| logfmt`, `a= b=2`, `a= b=2`, true, `{b="2", src="t"}`},
		{"logfmt params", `| logfmt x="b", a`, `a=1 b=2 c=3`, `a=1 b=2 c=3`, true, `{a="1", src="t", x="2"}`},
		{"logfmt quoted escapes", `| logfmt`, `msg="a \"q\" \u00e9"`, `msg="a \"q\" \u00e9"`, true, `{msg="a \"q\" é", src="t"}`},
	})
}
