package logql

import "testing"

func TestFormatStages(t *testing.T) {
	runPipelineCases(t, []pipelineCase{
		{"line_format", `| logfmt | line_format "{{.a}}-{{.b}}"`, `a=1 b=2`, "1-2", true, `{a="1", b="2", src="t"}`},
		{"line_format missing label", `| line_format "[{{.nope}}]"`, `x`, "[]", true, `{src="t"}`},
		{"label_format rename", `| logfmt | label_format c=a`, `a=1 b=2`, `a=1 b=2`, true, `{b="2", c="1", src="t"}`},
		{"label_format template", `| logfmt | label_format c="{{.a}}{{.b}}"`, `a=1 b=2`, `a=1 b=2`, true, `{a="1", b="2", c="12", src="t"}`},
		// Loki fills a stage's template data once: d does not see c of the same stage.
		{"label_format sees labels before the stage", `| logfmt | label_format c="x", d="{{.c}}!"`, `a=1`, `a=1`, true, `{a="1", c="x", d="!", src="t"}`},
		{"label_format error keeps line", `| logfmt | label_format c="{{ div .a 0 }}"`, `a=1`, `a=1`, true,
			`{__error__="TemplateFormatErr", __error_details__="template: label:1:3: executing \"label\" at <div .a 0>: error calling div: runtime error: integer divide by zero", a="1", src="t"}`},
		{"keep", `| logfmt | keep a`, `a=1 b=2`, `a=1 b=2`, true, `{a="1"}`},
		{"drop with matcher", `| logfmt | drop a="1", b`, `a=1 b=2 c=3`, `a=1 b=2 c=3`, true, `{c="3", src="t"}`},
	})
}

func TestLabelFormatValidation(t *testing.T) {
	for _, q := range []string{`{a="b"} | label_format __error__="x"`, `{a="b"} | label_format x=y, x="z"`} {
		if _, err := ParseExpr(q); err == nil {
			t.Errorf("%s: want a parse error", q)
		}
	}
}
