package logql

import (
	"testing"
	"time"
)

func TestMetricFunctions(t *testing.T) {
	runCases(t, []engineCase{
		{name: "Grafana's data source test", query: `vector(1)+vector(1)`, end: 60, instant: true, want: "{} 2"},
		{name: "Grafana's test at a sub-millisecond now", query: `vector(1)+vector(1)`, end: 60, endNanos: 123_456_789, instant: true, want: "{} 2"},
		{name: "vector over a range", query: `vector(3)`, start: 0, end: 20, step: 10 * time.Second, want: "{} 0:3 10:3 20:3"},
		{name: "vector or", query: `sum(count_over_time({app="nope"}[1m])) or vector(0)`, end: 60, instant: true, want: "{} 0"},
		{name: "label_replace sets", query: `label_replace(sum by (region) (count_over_time({kind="vpc"}[2m])), "r", "$1", "region", "(.*)-.*-1")`, end: 120, instant: true,
			want: "{r=\"eu\", region=\"eu-west-1\"} 4\n{r=\"us\", region=\"us-east-1\"} 12"},
		{name: "label_replace no match keeps", query: `label_replace(sum by (region) (count_over_time({kind="vpc"}[2m])), "r", "x", "region", "zz")`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 4\n{region=\"us-east-1\"} 12"},
		{name: "label_replace empty deletes", query: `label_replace(sum by (region) (count_over_time({kind="vpc"}[2m])), "region", "", "region", "eu.*")`, end: 120, instant: true,
			want: "{} 4\n{region=\"us-east-1\"} 12"},
		{name: "sort", query: `sort(sum by (region) (count_over_time({kind="vpc"}[2m])))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 4\n{region=\"us-east-1\"} 12"},
		{name: "sort_desc", query: `sort_desc(sum by (region) (count_over_time({kind="vpc"}[2m])))`, end: 120, instant: true,
			want: "{region=\"us-east-1\"} 12\n{region=\"eu-west-1\"} 4"},
		{name: "absent_over_time absent", query: `absent_over_time({app="nope", env=~"p.*", x="1"}[1m])`, end: 60, instant: true, want: "{app=\"nope\", x=\"1\"} 1"},
		{name: "absent_over_time present", query: `absent_over_time({app="web"}[1m])`, end: 60, instant: true, want: ""},
		{name: "absent_over_time steps", query: `absent_over_time({app="web"}[10s])`, start: 0, end: 60, step: 10 * time.Second, want: "{app=\"web\"} 0:1 10:1 30:1 40:1 60:1"},
		{name: "group_left copies labels", query: `sum by (region, kind) (count_over_time({kind="vpc"}[2m])) * on (kind) group_left (app) sum by (kind, app) (label_replace(count_over_time({kind="vpc", region="eu-west-1"}[2m]), "app", "flow", "", ""))`, end: 120, instant: true,
			want: "{app=\"flow\", kind=\"vpc\", region=\"eu-west-1\"} 16\n{app=\"flow\", kind=\"vpc\", region=\"us-east-1\"} 48"},
		{name: "group_right", query: `sum by (kind) (count_over_time({kind="vpc", region="eu-west-1"}[2m])) / on (kind) group_right sum by (region, kind) (count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{kind=\"vpc\", region=\"eu-west-1\"} 1\n{kind=\"vpc\", region=\"us-east-1\"} 0.3333333333333333"},
		{name: "rate_counter", query: `rate_counter({app="api"} | logfmt | keep app, size | unwrap bytes(size) [2m])`, end: 120, instant: true,
			want: "{app=\"api\"} 25.00005"}, // Loki's unit mix-up: see rateCounter
	})
}
