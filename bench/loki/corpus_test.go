package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestCorpusCoversTheDocs guards the corpus's breadth: every template function, parser,
// filter and aggregation Loki documents appears in at least one query.
func TestCorpusCoversTheDocs(t *testing.T) {
	var all strings.Builder
	for _, q := range corpus() {
		all.WriteString(q.Q + "\n")
	}
	text := all.String()
	for _, w := range []string{
		// template functions
		"ToLower", "ToUpper", "Replace", "Trim ", "TrimLeft", "TrimRight", "TrimPrefix", "TrimSuffix", "TrimSpace", "regexReplaceAll ",
		"regexReplaceAllLiteral", "count \"", "urlencode", "urldecode", "bytes }}", "duration }}", "duration_seconds }}", "unixEpochMillis",
		"unixEpochNanos", "toDateInZone", "unixToTime", "alignLeft", "alignRight", "b64enc", "b64dec", "lower", "upper", "title", "trunc",
		"substr", "contains", "hasPrefix", "hasSuffix", "indent", "nindent", "replace", "repeat", "trim ", "trimAll", "trimSuffix",
		"trimPrefix", "int ", "float64", "add ", "sub ", "mul ", "div ", "mod ", "addf", "subf", "mulf", "divf", "max ", "min ", "maxf",
		"minf", "ceil", "floor", "round", "fromJson", "date ", "toDate ", "unixEpoch ", "default", "__line__", "__timestamp__",
		// parsers and stages
		"| json", "| logfmt", "--strict", "--keep-empty", "| pattern", "| regexp", "| unpack", "| decolorize", "| line_format",
		"| label_format", "| keep", "| drop", "|=", "!=", "|~", "!~", "|>", "!>", "ip(", "unwrap", "duration(", "bytes(", "duration_seconds(",
		// aggregations and operators
		"count_over_time", "rate(", "rate_counter", "bytes_over_time", "bytes_rate", "sum_over_time", "avg_over_time", "min_over_time",
		"max_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time", "first_over_time", "last_over_time",
		"absent_over_time", "sum", "avg", "min", "max", "count(", "stddev", "stdvar", "topk", "bottomk", "sort(", "sort_desc",
		"vector(", "label_replace", " and ", " or ", " unless ", " on (", " ignoring (", "group_left", "group_right", " bool ", "offset",
		" + ", " - ", " * ", " / ", " % ", " ^ ", " == ", " != ", " > ", " >= ", " < ", " <= ",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("no corpus query uses %q", w)
		}
	}
	if n := len(corpus()); n < 400 {
		t.Errorf("corpus has %d queries, want at least 400", n)
	}
}

// TestCanonicalAnswers pins the canonical form the golden comparison relies on.
func TestCanonicalAnswers(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"b":"2","a":"1"},"value":[1000.5,"3"]},{"metric":{},"value":[1000.5,"1"]}]}}`
	got := canonical(http.StatusOK, []byte(body), 1000, false)
	if want := "vector\n{a=\"1\", b=\"2\"} 0.5:3\n{} 0.5:1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := canonical(400, []byte("parse error\n"), 0, false); got != "error 400: parse error" {
		t.Errorf("error answer: %q", got)
	}
	if !sameAnswer("vector\n{} 0:0.30000000000000004", "vector\n{} 0:0.3") || sameAnswer("vector\n{} 0:1", "vector\n{} 0:2") {
		t.Error("sameAnswer tolerance")
	}
}

// TestDecodeResult: the comparison reads log lines with their nanosecond times and sums
// samples per second and grouping label, noting an unexpected label set.
func TestDecodeResult(t *testing.T) {
	q := &query{label: "log_stream"}
	r, err := decodeResult([]byte(`{"status":"success","data":{"resultType":"streams","result":[
		{"stream":{"a":"1"},"values":[["1700000000000000001","x"],["1700000000000000002","y"]]}]}}`), q)
	if err != nil || len(r.tss) != 2 || r.tss[0] != 1700000000000000001 || r.lines[1] != "y" {
		t.Fatalf("streams: %v %+v", err, r)
	}
	r, err = decodeResult([]byte(`{"status":"success","data":{"resultType":"matrix","result":[
		{"metric":{"log_stream":"s1"},"values":[[1700000060,"2"],[1700000120.4,"3.5"]]},
		{"metric":{"log_stream":"s1","x":"y"},"values":[[1700000060,"1"]]}]}}`), q)
	if err != nil || r.samples[1700000060]["s1"] != 3 || r.samples[1700000120]["s1"] != 3.5 || r.labels == "" {
		t.Fatalf("matrix: %v %+v", err, r)
	}
	if _, err := decodeResult([]byte(`{"status":"error","error":"bad"}`), q); err == nil {
		t.Fatal("a failed query decoded")
	}
}
