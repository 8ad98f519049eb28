package logql

import "testing"

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

// pipelineCase is one line through one pipeline and what must come out.
type pipelineCase struct {
	name, pipeline, line string
	wantLine             string
	wantKept             bool
	wantLabels           string
}

func runPipelineCases(t *testing.T, cases []pipelineCase) {
	t.Helper()
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
