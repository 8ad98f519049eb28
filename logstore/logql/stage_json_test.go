package logql

import "testing"

func TestJSONParams(t *testing.T) {
	runPipelineCases(t, []pipelineCase{
		{"json object param keeps raw", `| json o="obj", a="arr", n="none", z="nul"`, `{"obj":{"k": 1},"arr":[1, 2],"nul":null}`, `{"obj":{"k": 1},"arr":[1, 2],"nul":null}`, true, `{a="[1, 2]", n="", o="{\"k\": 1}", src="t", z=""}`},
		{"json not json", `| json a="x"`, `hello`, `hello`, true, `{__error__="JSONParserErr", src="t"}`},
	})
}
