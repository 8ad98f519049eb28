package logql

import (
	"testing"
)

// runPipeline applies the pipeline of `{src="t"} <pipeline>` to one line.
func runPipeline(t *testing.T, pipeline, line string) (string, bool, string) {
	t.Helper()
	e, err := ParseExpr(`{src="t"} ` + pipeline)
	if err != nil {
		t.Fatalf("%s: %v", pipeline, err)
	}
	var b labelsBuilder
	b.reset(Labels{{"src", "t"}})
	out, ok := runStages(e.(*LogExpr).Stages, 0, line, &b)
	return out, ok, b.labels().String()
}

func TestPipelineStages(t *testing.T) {
	cases := []struct {
		name, pipeline, line string
		wantLine             string
		wantKept             bool
		wantLabels           string
	}{
		{"pattern filter", `|> "<_> GET <_>"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", true, `{src="t"}`},
		{"pattern filter miss", `|> "<_> POST <_>"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", false, `{src="t"}`},
		{"pattern filter literal end", `|> "<_> /x"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", true, `{src="t"}`},
		{"pattern filter literal must end line", `|> "<_> GET"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", false, `{src="t"}`},
		{"pattern filter empty capture", `|> "<_> GET <_>"`, " GET /x", " GET /x", false, `{src="t"}`},
		{"negated pattern filter", `!> "<_> GET <_>"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", false, `{src="t"}`},
		{"pattern filter or", `|> "<_> PUT <_>" or "<_> GET <_>"`, "a GET b", "a GET b", true, `{src="t"}`},
		{"unpack", `| unpack`, `{"_entry":"hello","app":"x","n":3,"src":"y"}`, "hello", true, `{app="x", src="t", src_extracted="y"}`},
		{"unpack without _entry", `| unpack`, `{"app":"x"}`, `{"app":"x"}`, true, `{src="t"}`},
		{"unpack not json", `| unpack`, `nope`, `nope`, true, `{__error__="JSONParserErr", __error_details__="expecting json object(6), but it is not", src="t"}`},
		{"decolorize", `| decolorize`, "\x1b[31mred\x1b[0m plain", "red plain", true, `{src="t"}`},
		{"logfmt value with =", `| logfmt`, `a=1 b=x=y c=3`, `a=1 b=x=y c=3`, true, `{a="1", c="3", src="t"}`},
		{"logfmt strict value with =", `| logfmt --strict`, `a=1 b=x=y c=3`, `a=1 b=x=y c=3`, true, `{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 8 : unexpected '='", a="1", src="t"}`},
		{"logfmt keep empty", `| logfmt --keep-empty`, `a= b=2`, `a= b=2`, true, `{b="2", src="t"}`}, // empty labels are not shown
		{"logfmt drops empty", `| logfmt`, `a= b=2`, `a= b=2`, true, `{b="2", src="t"}`},
		{"logfmt params", `| logfmt x="b", a`, `a=1 b=2 c=3`, `a=1 b=2 c=3`, true, `{a="1", src="t", x="2"}`},
		{"logfmt quoted escapes", `| logfmt`, `msg="a \"q\" \u00e9"`, `msg="a \"q\" \u00e9"`, true, `{msg="a \"q\" é", src="t"}`},
		{"json object param keeps raw", `| json o="obj", a="arr", n="none", z="nul"`, `{"obj":{"k": 1},"arr":[1, 2],"nul":null}`, `{"obj":{"k": 1},"arr":[1, 2],"nul":null}`, true, `{a="[1, 2]", o="{\"k\": 1}", src="t"}`},
		{"json not json", `| json a="x"`, `hello`, `hello`, true, `{__error__="JSONParserErr", src="t"}`},
		{"numeric filter on missing label drops", `| logfmt | n > 1`, `a=1`, `a=1`, false, `{a="1", src="t"}`},
		{"numeric filter on errored line without label drops", `| json | n > 1`, `nope`, `nope`, false, ``},
		{"numeric filter bad value keeps with error", `| logfmt | n > 1`, `n=abc`, `n=abc`, true, `{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"abc\": invalid syntax", n="abc", src="t"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line, kept, labels := runPipeline(t, c.pipeline, c.line)
			if kept != c.wantKept {
				t.Fatalf("kept %v, want %v (labels %s)", kept, c.wantKept, labels)
			}
			if !kept {
				return
			}
			if line != c.wantLine || labels != c.wantLabels {
				t.Errorf("got %q %s\nwant %q %s", line, labels, c.wantLine, c.wantLabels)
			}
		})
	}
}

func TestPatternFilterRejectsNamedCaptures(t *testing.T) {
	if _, err := ParseExpr(`{a="b"} |> "<x> GET"`); err == nil {
		t.Fatal("a named capture in a pattern line filter must be a parse error")
	}
}
