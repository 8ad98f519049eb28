package logql

import "testing"

func TestLineFilters(t *testing.T) {
	runPipelineCases(t, []pipelineCase{
		{"pattern filter", `|> "<_> GET <_>"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", true, `{src="t"}`},
		{"pattern filter miss", `|> "<_> POST <_>"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", false, `{src="t"}`},
		{"pattern filter literal end", `|> "<_> /x"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", true, `{src="t"}`},
		{"pattern filter literal must end line", `|> "<_> GET"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", false, `{src="t"}`},
		{"pattern filter empty capture", `|> "<_> GET <_>"`, " GET /x", " GET /x", false, `{src="t"}`},
		{"negated pattern filter", `!> "<_> GET <_>"`, "1.2.3.4 GET /x", "1.2.3.4 GET /x", false, `{src="t"}`},
		{"pattern filter or", `|> "<_> PUT <_>" or "<_> GET <_>"`, "a GET b", "a GET b", true, `{src="t"}`},
	})
}

func TestPatternFilterRejectsNamedCaptures(t *testing.T) {
	if _, err := ParseExpr(`{a="b"} |> "<x> GET"`); err == nil {
		t.Fatal("a named capture in a pattern line filter must be a parse error")
	}
}
