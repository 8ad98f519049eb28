package logql

import "testing"

func TestUnpackAndDecolorize(t *testing.T) {
	runPipelineCases(t, []pipelineCase{
		{"unpack", `| unpack`, `{"_entry":"hello","app":"x","n":3,"src":"y"}`, "hello", true, `{app="x", src="t", src_extracted="y"}`},
		{"unpack without _entry", `| unpack`, `{"app":"x"}`, `{"app":"x"}`, true, `{src="t"}`},
		{"unpack not json", `| unpack`, `nope`, `nope`, true, `{__error__="JSONParserErr", __error_details__="expecting json object(6), but it is not", src="t"}`},
		{"decolorize", `| decolorize`, "\x1b[31mred\x1b[0m plain", "red plain", true, `{src="t"}`},
	})
}
