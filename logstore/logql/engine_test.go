package logql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

var base = time.Unix(1620000000, 0)

// vpcPattern parses the default VPC flow-log format (version 2, 14 fields).
const vpcPattern = `<_> <_> <_> <srcaddr> <_> <_> <_> <_> <_> <_> <_> <_> <action> <_>`

// topRejected is the README's first example: top rejected sources in the last hour.
const topRejected = `topk(10, sum by (srcaddr) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" | action="REJECT" [1h])))`

var webLines = []string{
	`{"level":"error","req":{"method":"POST","path":"/login"},"status":500,"client":"10.1.2.3","dur":"250ms","tags":["a","b"]}`,
	`{"level":"info","req":{"method":"GET","path":"/"},"status":200,"client":"172.16.0.4","dur":"15ms"}`,
	`not json at all`,
}

// fixture builds the data every engine test reads (times are seconds after base):
//
//	{kind="vpc", region="us-east-1"}  12 VPC lines at 5, 15, ..., 115; srcaddr 10.0.1.(i%3+1);
//	                                  REJECT for i in {0,4,5,8}; bytes 100*(i+1); srcport 34000+i
//	{kind="vpc", region="eu-west-1"}  4 REJECT lines from 192.168.0.9 at 10, 40, 70, 100
//	{app="api", env="prod"}           4 logfmt lines at 0, 30, 60, 90
//	{app="web"}                       3 lines at 20, 50, 80 (two JSON, one not)
func fixture() *MemQuerier {
	q := NewMemQuerier()
	at := func(sec int) int64 { return base.Add(time.Duration(sec) * time.Second).UnixNano() }
	for i := 0; i < 12; i++ {
		action := "ACCEPT"
		if i%4 == 0 || i == 5 {
			action = "REJECT"
		}
		line := fmt.Sprintf("2 123456789012 eni-0a1b2c3d4e5f67890 10.0.1.%d 52.95.128.179 443 %d 6 10 %d 1620000000 1620000060 %s OK", i%3+1, 34000+i, 100*(i+1), action)
		q.Push(Labels{{"region", "us-east-1"}, {"kind", "vpc"}}, Entry{at(5 + 10*i), line})
	}
	for _, s := range []int{10, 40, 70, 100} {
		q.Push(Labels{{"kind", "vpc"}, {"region", "eu-west-1"}}, Entry{at(s), "2 123456789012 eni-0ffff 192.168.0.9 10.0.1.1 51000 22 6 1 50 1620000000 1620000060 REJECT OK"})
	}
	api := []string{
		`level=info method=GET status=200 latency=120ms size=1KB msg="hello world"`,
		`level=error method=POST status=500 latency=1.5s size=2KB msg=boom`,
		`level=info method=GET status=404 latency=30ms size=512B msg=nf`,
		`level=warn method=GET status=abc latency=2s size=3KB`,
	}
	for i, l := range api {
		q.Push(Labels{{"app", "api"}, {"env", "prod"}}, Entry{at(30 * i), l})
	}
	for i, l := range webLines {
		q.Push(Labels{{"app", "web"}}, Entry{at(20 + 30*i), l})
	}
	return q
}

// render prints a result compactly, times in seconds after base.
func render(r *Result, withLines bool) string {
	var out []string
	sec := func(ms int64) string { return strconv.FormatInt((ms-base.UnixMilli())/1000, 10) }
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch r.Type {
	case ResultStreams:
		for _, s := range r.Streams {
			parts := []string{s.Labels.String()}
			for _, e := range s.Entries {
				p := sec(e.Timestamp / 1e6)
				if withLines {
					p += "=" + strconv.Quote(e.Line)
				}
				parts = append(parts, p)
			}
			out = append(out, strings.Join(parts, " "))
		}
	case ResultMatrix:
		for _, s := range r.Matrix {
			parts := []string{s.Labels.String()}
			for _, p := range s.Points {
				parts = append(parts, sec(p.T)+":"+num(p.V))
			}
			out = append(out, strings.Join(parts, " "))
		}
	case ResultVector:
		for _, s := range r.Vector {
			out = append(out, s.Labels.String()+" "+num(s.V))
		}
	case ResultScalar:
		out = append(out, "scalar "+num(r.Scalar.V))
	}
	return strings.Join(out, "\n")
}

type engineCase struct {
	name      string
	query     string
	start     int // seconds after base
	end       int
	endNanos  int // added to end: a query time that is not a whole millisecond
	step      time.Duration
	instant   bool
	limit     int
	forward   bool
	interval  time.Duration
	withLines bool
	want      string
}

func runCases(t *testing.T, cases []engineCase) {
	t.Helper()
	eng := NewEngine(fixture(), Limits{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Params{Query: c.query, Start: base.Add(time.Duration(c.start) * time.Second), End: base.Add(time.Duration(c.end)*time.Second + time.Duration(c.endNanos)),
				Step: c.step, Instant: c.instant, Limit: c.limit, Interval: c.interval}
			if c.forward {
				p.Direction = Forward
			}
			r, err := eng.Exec(context.Background(), p)
			if err != nil {
				t.Fatalf("%s: %v", c.query, err)
			}
			if got := render(r, c.withLines); got != c.want {
				t.Errorf("%s\ngot:\n%s\nwant:\n%s", c.query, got, c.want)
			}
		})
	}
}

func TestLogQueries(t *testing.T) {
	runCases(t, []engineCase{
		{name: "filter backward", query: `{kind="vpc"} |= "REJECT"`, end: 120,
			want: "{kind=\"vpc\", region=\"eu-west-1\"} 100 70 40 10\n{kind=\"vpc\", region=\"us-east-1\"} 85 55 45 5"},
		{name: "limit backward", query: `{kind="vpc"} |= "REJECT"`, end: 120, limit: 4,
			want: "{kind=\"vpc\", region=\"eu-west-1\"} 100 70\n{kind=\"vpc\", region=\"us-east-1\"} 85 55"},
		{name: "limit forward", query: `{kind="vpc"} |= "REJECT"`, end: 120, limit: 4, forward: true,
			want: "{kind=\"vpc\", region=\"eu-west-1\"} 10 40\n{kind=\"vpc\", region=\"us-east-1\"} 5 45"},
		{name: "end is exclusive", query: `{kind="vpc", region="eu-west-1"}`, start: 10, end: 100, forward: true,
			want: "{kind=\"vpc\", region=\"eu-west-1\"} 10 40 70"},
		{name: "chained filters", query: `{kind="vpc", region="us-east-1"} != "REJECT" |~ "10\\.0\\.1\\.[12] " !~ "34001"`, end: 120,
			want: "{kind=\"vpc\", region=\"us-east-1\"} 105 95 75 65 35"},
		{name: "or alternatives", query: `{app="api"} |= "boom" or "msg=nf"`, end: 120,
			want: "{app=\"api\", env=\"prod\"} 60 30"},
		{name: "ip line filter", query: `{app="web"} |= ip("10.0.0.0/8")`, end: 120,
			want: "{app=\"web\"} 20"},
		{name: "regexp selector", query: `{app=~"a.i|web", app!="web"} |= "boom"`, end: 120,
			want: "{app=\"api\", env=\"prod\"} 30"},
		{name: "interval", query: `{kind="vpc", region="us-east-1"}`, end: 120, forward: true, interval: 30 * time.Second,
			want: "{kind=\"vpc\", region=\"us-east-1\"} 5 35 65 95"},
		{name: "json flattens and groups streams", query: `{app="web"} | json | drop __error_details__`, end: 120, forward: true,
			want: "{__error__=\"JSONParserErr\", app=\"web\"} 80\n" +
				"{app=\"web\", client=\"10.1.2.3\", dur=\"250ms\", level=\"error\", req_method=\"POST\", req_path=\"/login\", status=\"500\"} 20\n" +
				"{app=\"web\", client=\"172.16.0.4\", dur=\"15ms\", level=\"info\", req_method=\"GET\", req_path=\"/\", status=\"200\"} 50"},
		{name: "json params", query: `{app="web"} | json m="req.method", first_tag="tags[0]" | __error__=""`, end: 120, forward: true,
			want: "{app=\"web\", first_tag=\"\", m=\"GET\"} 50\n{app=\"web\", first_tag=\"a\", m=\"POST\"} 20"},
		{name: "logfmt numeric and duration filters", query: `{app="api"} | logfmt | status >= 400 and latency > 100ms | drop __error_details__, msg, size, env, latency`, end: 120, forward: true,
			want: "{__error__=\"LabelFilterErr\", app=\"api\", level=\"warn\", method=\"GET\", status=\"abc\"} 90\n" +
				"{app=\"api\", level=\"error\", method=\"POST\", status=\"500\"} 30"},
		{name: "error filter", query: `{app="api"} | logfmt | status >= 400 | __error__="" | keep status`, end: 120, forward: true,
			want: "{status=\"404\"} 60\n{status=\"500\"} 30"},
		{name: "bytes, comma and or", query: `{app="api"} | logfmt | size > 1KB, latency <= 1.5s or level="warn" | keep level`, end: 120, forward: true,
			want: "{level=\"error\"} 30\n{level=\"warn\"} 90"},
		{name: "space means and", query: `{app="api"} | logfmt | method="GET" level="info" | keep status`, end: 120, forward: true,
			want: "{status=\"200\"} 0\n{status=\"404\"} 60"},
		{name: "pattern and line_format", query: `{kind="vpc", region="us-east-1"} | pattern "<_> <_> <_> <srcaddr> <_> <_> <_> <_> <_> <bytes> <_> <_> <action> <_>" | action="REJECT" | bytes > 400 | line_format "{{.srcaddr}} {{.bytes}}" | drop bytes`, end: 120, withLines: true,
			want: "{action=\"REJECT\", kind=\"vpc\", region=\"us-east-1\", srcaddr=\"10.0.1.2\"} 45=\"10.0.1.2 500\"\n" +
				"{action=\"REJECT\", kind=\"vpc\", region=\"us-east-1\", srcaddr=\"10.0.1.3\"} 85=\"10.0.1.3 900\" 55=\"10.0.1.3 600\""},
		{name: "regexp parser", query: `{app="api"} | regexp "method=(?P<m>\\w+) status=(?P<s>\\d+)" | keep m, s`, end: 120, forward: true,
			want: "{} 90\n{m=\"GET\", s=\"200\"} 0\n{m=\"GET\", s=\"404\"} 60\n{m=\"POST\", s=\"500\"} 30"},
		{name: "extracted suffix", query: `{kind="vpc", region="us-east-1"} | regexp "^(?P<kind>\\d+) " | keep kind_extracted`, end: 120, forward: true, limit: 1,
			want: "{kind_extracted=\"2\"} 5"},
		{name: "label_format", query: `{app="api"} | logfmt | label_format verb=method, code="{{.status}}-{{.level}}" | keep verb, code, method`, end: 120, forward: true, limit: 2,
			want: "{code=\"200-info\", verb=\"GET\"} 0\n{code=\"500-error\", verb=\"POST\"} 30"},
		{name: "ip label filter", query: `{app="web"} | json | client = ip("172.16.0.0/12") | keep client`, end: 120,
			want: "{client=\"172.16.0.4\"} 50"},
		{name: "not ip label filter", query: `{app="web"} | json | __error__="" | client != ip("172.16.0.0/12") | keep client`, end: 120,
			want: "{client=\"10.1.2.3\"} 20"},
		{name: "line_format template funcs", query: `{app="web"} | json | __error__="" | line_format "{{.level | ToUpper}} {{.req_path}}" | keep app`, end: 120, withLines: true,
			want: "{app=\"web\"} 50=\"INFO /\" 20=\"ERROR /login\""},
		{name: "drop with matcher", query: `{app="api"} | logfmt | drop level="info", msg, size, latency, status, method`, end: 120, forward: true,
			want: "{app=\"api\", env=\"prod\"} 0 60\n{app=\"api\", env=\"prod\", level=\"error\"} 30\n{app=\"api\", env=\"prod\", level=\"warn\"} 90"},
	})
}

func TestMetricQueries(t *testing.T) {
	bytesWeb := float64(len(webLines[0]) + len(webLines[1]))
	runCases(t, []engineCase{
		{name: "step alignment", query: `count_over_time({kind="vpc", region="us-east-1"}[30s])`, start: 7, end: 67, step: 20 * time.Second,
			want: "{kind=\"vpc\", region=\"us-east-1\"} 20:2 40:3 60:3 80:3"}, // start and end move to the step grid, as in Loki
		{name: "window is left-open right-closed", query: `count_over_time({kind="vpc", region="us-east-1"}[30s])`, end: 35, instant: true,
			want: "{kind=\"vpc\", region=\"us-east-1\"} 3"},
		{name: "empty windows have no point", query: `count_over_time({app="web"}[10s])`, end: 60, step: 10 * time.Second,
			want: "{app=\"web\"} 20:1 50:1"},
		{name: "rate", query: `rate({kind="vpc"}[1m])`, start: 60, end: 120, step: time.Minute,
			want: "{kind=\"vpc\", region=\"eu-west-1\"} 60:0.03333333333333333 120:0.03333333333333333\n{kind=\"vpc\", region=\"us-east-1\"} 60:0.1 120:0.1"},
		{name: "bytes_over_time", query: `bytes_over_time({app="web"}[1m])`, end: 60, instant: true,
			want: "{app=\"web\"} " + strconv.FormatFloat(bytesWeb, 'g', -1, 64)},
		{name: "bytes_rate", query: `bytes_rate({app="web"}[1m])`, end: 60, instant: true,
			want: "{app=\"web\"} " + strconv.FormatFloat(bytesWeb/60, 'g', -1, 64)},
		{name: "offset", query: `count_over_time({kind="vpc", region="us-east-1"}[1m] offset 1m)`, end: 65, instant: true,
			want: "{kind=\"vpc\", region=\"us-east-1\"} 1"},
		{name: "no offset", query: `count_over_time({kind="vpc", region="us-east-1"}[1m])`, end: 65, instant: true,
			want: "{kind=\"vpc\", region=\"us-east-1\"} 6"},
		{name: "sum_over_time unwrap bytes()", query: `sum by (app) (sum_over_time({app="api"} | logfmt | unwrap bytes(size) [2m]))`, end: 120, instant: true,
			want: "{app=\"api\"} 5512"},
		{name: "avg_over_time", query: `avg_over_time({app="api"} | logfmt | unwrap bytes(size) [70s]) by (app)`, end: 70, instant: true,
			want: "{app=\"api\"} 1256"},
		{name: "min_over_time", query: `min_over_time({app="api"} | logfmt | unwrap bytes(size) [2m]) by (app)`, end: 120, instant: true,
			want: "{app=\"api\"} 512"},
		{name: "max_over_time drops the unwrapped label", query: `max_over_time({app="api"} | logfmt | keep level, size | unwrap bytes(size) [2m])`, end: 120, instant: true,
			want: "{level=\"error\"} 2000\n{level=\"info\"} 512\n{level=\"warn\"} 3000"},
		{name: "quantile_over_time duration()", query: `quantile_over_time(0.75, {app="api"} | logfmt | unwrap duration(latency) | __error__="" [2m]) by (app)`, end: 120, instant: true,
			want: "{app=\"api\"} 1.75"},
		{name: "quantile median", query: `quantile_over_time(0.5, {app="api"} | logfmt | unwrap duration(latency) [2m]) without (env, level, method, msg, size, status)`, end: 120, instant: true,
			want: "{app=\"api\"} 1.5"},
		{name: "unwrap number with post filter", query: `sum by (method) (sum_over_time({app="api"} | logfmt | unwrap status | __error__="" [2m]))`, end: 120, instant: true,
			want: "{method=\"GET\"} 404\n{method=\"POST\"} 500"},
		{name: "sum by", query: `sum by (action) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" [2m]))`, end: 120, instant: true,
			want: "{action=\"ACCEPT\"} 8\n{action=\"REJECT\"} 8"},
		{name: "sum without, grouping after", query: `sum(count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" [2m])) without (srcaddr, kind, region)`, end: 120, instant: true,
			want: "{action=\"ACCEPT\"} 8\n{action=\"REJECT\"} 8"},
		{name: "sum all", query: `sum(count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{} 16"},
		{name: "count by", query: `count by (region) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" [2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 1\n{region=\"us-east-1\"} 6"},
		{name: "max by", query: `max by (region) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" [2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 4\n{region=\"us-east-1\"} 3"},
		{name: "min by", query: `min(count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" [2m])) by (region)`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 4\n{region=\"us-east-1\"} 1"},
		{name: "avg by", query: `avg by (region) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" | action="REJECT" [2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 4\n{region=\"us-east-1\"} 1.3333333333333333"},
		{name: "top rejected sources", query: topRejected, end: 120, instant: true, // by labels, as Loki orders them
			want: "{srcaddr=\"10.0.1.1\"} 1\n{srcaddr=\"10.0.1.2\"} 1\n{srcaddr=\"10.0.1.3\"} 2\n{srcaddr=\"192.168.0.9\"} 4"},
		{name: "topk 2", query: `topk(2, sum by (srcaddr) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" | action="REJECT" [2m])))`, end: 120, instant: true,
			want: "{srcaddr=\"10.0.1.3\"} 2\n{srcaddr=\"192.168.0.9\"} 4"},
		{name: "bottomk keeps labels", query: `bottomk(3, count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" | action="REJECT" [2m]))`, end: 120, instant: true,
			want: "{action=\"REJECT\", kind=\"vpc\", region=\"us-east-1\", srcaddr=\"10.0.1.1\"} 1\n{action=\"REJECT\", kind=\"vpc\", region=\"us-east-1\", srcaddr=\"10.0.1.2\"} 1\n{action=\"REJECT\", kind=\"vpc\", region=\"us-east-1\", srcaddr=\"10.0.1.3\"} 2"},
		{name: "bottomk by group", query: `bottomk by (region) (1, count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" | action="ACCEPT" or region="eu-west-1" [2m]))`, end: 120, instant: true,
			want: "{action=\"ACCEPT\", kind=\"vpc\", region=\"us-east-1\", srcaddr=\"10.0.1.3\"} 2\n{action=\"REJECT\", kind=\"vpc\", region=\"eu-west-1\", srcaddr=\"192.168.0.9\"} 4"},
		{name: "range sum by with steps", query: `sum by (region) (count_over_time({kind="vpc"}[1m]))`, start: 30, end: 120, step: 30 * time.Second,
			want: "{region=\"eu-west-1\"} 30:1 60:2 90:2 120:2\n{region=\"us-east-1\"} 30:3 60:6 90:6 120:6"},
		{name: "range topk", query: `topk(1, sum by (region) (count_over_time({kind="vpc"}[1m])))`, start: 30, end: 120, step: 30 * time.Second,
			want: "{region=\"us-east-1\"} 30:3 60:6 90:6 120:6"},
		{name: "range max by without pushdown", query: `max by (region) (count_over_time({kind="vpc"}[1m]))`, start: 30, end: 120, step: 30 * time.Second,
			want: "{region=\"eu-west-1\"} 30:1 60:2 90:2 120:2\n{region=\"us-east-1\"} 30:3 60:6 90:6 120:6"},
		{name: "vector times scalar", query: `sum by (region) (count_over_time({kind="vpc"}[2m])) * 2`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 8\n{region=\"us-east-1\"} 24"},
		{name: "scalar minus vector", query: `10 - sum by (region) (count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 6\n{region=\"us-east-1\"} -2"},
		{name: "comparison filters", query: `sum by (region) (count_over_time({kind="vpc"}[2m])) > 5`, end: 120, instant: true,
			want: "{region=\"us-east-1\"} 12"},
		{name: "comparison bool", query: `sum by (region) (count_over_time({kind="vpc"}[2m])) > bool 5`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 0\n{region=\"us-east-1\"} 1"},
		{name: "scalar on the left keeps vector value", query: `5 < sum by (region) (count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{region=\"us-east-1\"} 12"},
		{name: "vector div vector", query: `sum by (region) (count_over_time({kind="vpc"} |= "REJECT" [2m])) / sum by (region) (count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 1\n{region=\"us-east-1\"} 0.3333333333333333"},
		{name: "on", query: `sum by (region, action) (count_over_time({kind="vpc"} |= "REJECT" | pattern "` + vpcPattern + `" [2m])) / on (region) sum by (region) (count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 1\n{region=\"us-east-1\"} 0.3333333333333333"},
		{name: "ignoring", query: `sum by (region, action) (count_over_time({kind="vpc"} |= "REJECT" | pattern "` + vpcPattern + `" [2m])) - ignoring (action) sum by (region) (count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 0\n{region=\"us-east-1\"} -8"},
		{name: "vector comparison bool", query: `sum by (region) (count_over_time({kind="vpc"}[2m])) == bool sum by (region) (count_over_time({kind="vpc"} |= "REJECT" [2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 1\n{region=\"us-east-1\"} 0"},
		{name: "and", query: `sum by (region) (count_over_time({kind="vpc"}[2m])) and sum by (region) (count_over_time({kind="vpc"} |= "34000" [2m]))`, end: 120, instant: true,
			want: "{region=\"us-east-1\"} 12"},
		{name: "unless", query: `sum by (region) (count_over_time({kind="vpc"}[2m])) unless sum by (region) (count_over_time({kind="vpc"} |= "34000" [2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 4"},
		{name: "or", query: `sum by (region) (count_over_time({kind="vpc"} |= "34000" [2m])) or sum by (region) (count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{region=\"eu-west-1\"} 4\n{region=\"us-east-1\"} 1"},
		{name: "unary minus", query: `-sum(count_over_time({kind="vpc"}[2m]))`, end: 120, instant: true,
			want: "{} -16"},
		{name: "scalar instant", query: `1 + 2 * 3`, end: 120, instant: true, want: "scalar 7"},
		{name: "power is right associative", query: `2 ^ 3 ^ 2`, end: 120, instant: true, want: "scalar 512"},
		{name: "scalar range", query: `(1 + 1) * 3`, start: 0, end: 120, step: time.Minute, want: "{} 0:6 60:6 120:6"},
		{name: "default step", query: `sum(count_over_time({app="web"}[1m]))`, start: 0, end: 60, want: "{} 20:1 21:1 22:1 23:1 24:1 25:1 26:1 27:1 28:1 29:1 30:1 31:1 32:1 33:1 34:1 35:1 36:1 37:1 38:1 39:1 40:1 41:1 42:1 43:1 44:1 45:1 46:1 47:1 48:1 49:1 50:2 51:2 52:2 53:2 54:2 55:2 56:2 57:2 58:2 59:2 60:2"},
	})
}

func TestPipelineErrorInMetricQuery(t *testing.T) {
	eng := NewEngine(fixture(), Limits{})
	for _, q := range []string{
		`count_over_time({app="web"} | json [2m])`,
		`sum by (app) (count_over_time({app="web"} | json [2m]))`,
		`sum_over_time({app="api"} | logfmt | unwrap latency [2m])`,
	} {
		_, err := eng.Exec(context.Background(), Params{Query: q, Start: base, End: base.Add(2 * time.Minute), Instant: true})
		var pe *PipelineError
		if !errors.As(err, &pe) || !IsClientError(err) {
			t.Fatalf("%s: want PipelineError, got %v", q, err)
		}
		if !strings.HasPrefix(err.Error(), "pipeline error: '") {
			t.Errorf("%s: message %q", q, err)
		}
	}
}

func TestLimits(t *testing.T) {
	q := fixture()
	ctx := context.Background()
	p := func(query string) Params {
		return Params{Query: query, Start: base, End: base.Add(2 * time.Minute), Step: time.Minute}
	}
	_, err := NewEngine(q, Limits{MaxSeries: 2}).Exec(ctx, p(`count_over_time({kind="vpc"} | pattern "`+vpcPattern+`" [2m])`))
	if !errors.Is(err, ErrLimit) || err.Error() != "maximum of series (2) reached for a single query" {
		t.Errorf("max series: %v", err)
	}
	// Pushed-down sums count groups, not inner series.
	if _, err = NewEngine(q, Limits{MaxSeries: 2}).Exec(ctx, p(`sum by (action) (count_over_time({kind="vpc"} | pattern "`+vpcPattern+`" [2m]))`)); err != nil {
		t.Errorf("max series with 2 groups: %v", err)
	}
	// As in Loki, only the result's series count: max over 4 series is one series.
	if _, err = NewEngine(q, Limits{MaxSeries: 1}).Exec(ctx, p(`max(count_over_time({kind="vpc"} | pattern "`+vpcPattern+`" [2m]))`)); err != nil {
		t.Errorf("max series counts the result: %v", err)
	}
	lp := p(`{kind="vpc"}`)
	lp.Limit = 20
	_, err = NewEngine(q, Limits{MaxLines: 10}).Exec(ctx, lp)
	if !errors.Is(err, ErrLimit) || err.Error() != "max entries limit per query exceeded, limit > max_entries_limit (20 > 10)" {
		t.Errorf("max lines: %v", err)
	}
	// without a limit, the default of 100 is capped by MaxLines
	r, err := NewEngine(q, Limits{MaxLines: 3}).Exec(ctx, p(`{kind="vpc"}`))
	if err != nil || r.Stats.TotalEntriesReturned != 3 {
		t.Errorf("default limit under MaxLines: %v %v", r, err)
	}
	_, err = NewEngine(q, Limits{MaxQueryRange: time.Minute}).Exec(ctx, p(`{kind="vpc"}`))
	if !errors.Is(err, ErrLimit) || !strings.HasPrefix(err.Error(), "the query time range exceeds the limit") {
		t.Errorf("max range: %v", err)
	}
	_, err = NewEngine(q, Limits{Timeout: time.Nanosecond}).Exec(ctx, p(`{kind="vpc"}`))
	if !errors.Is(err, context.DeadlineExceeded) || IsClientError(err) {
		t.Errorf("timeout: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = NewEngine(q, Limits{}).Exec(cctx, p(`count_over_time({kind="vpc"}[1m])`)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	sp := p(`count_over_time({kind="vpc"}[1m])`)
	sp.Step = time.Millisecond
	if _, err = NewEngine(q, Limits{}).Exec(ctx, sp); !errors.Is(err, ErrLimit) {
		t.Errorf("too many points: %v", err)
	}
	_, err = NewEngine(q, Limits{}).Exec(ctx, Params{Query: `{kind="vpc"} |= `, Start: base, End: base.Add(time.Minute)})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Col != 17 || !IsClientError(err) {
		t.Errorf("parse error: %v", err)
	}
}

func TestQueryErrors(t *testing.T) {
	eng := NewEngine(fixture(), Limits{})
	for _, c := range []struct{ query, want string }{
		{`sum by (region, action) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" [2m])) / on (region) sum by (region) (count_over_time({kind="vpc"}[2m]))`, "multiple matches for labels"},
		{`count_over_time({kind="vpc"}[2m]) / on (kind) count_over_time({kind="vpc"}[2m])`, "found duplicate series for the match group"},
	} {
		_, err := eng.Exec(context.Background(), Params{Query: c.query, Start: base, End: base.Add(2 * time.Minute), Instant: true})
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.Contains(err.Error(), c.want) || !IsClientError(err) {
			t.Errorf("%s: got %v, want %q", c.query, err, c.want)
		}
	}
}

func TestStatsAndOrdering(t *testing.T) {
	q := fixture()
	// out-of-order pushes come back in time order
	q.Push(Labels{{"app", "late"}}, Entry{base.Add(50 * time.Second).UnixNano(), "b"}, Entry{base.Add(10 * time.Second).UnixNano(), "a"})
	r, err := NewEngine(q, Limits{}).Exec(context.Background(), Params{Query: `{app=~"late|web"}`, Start: base, End: base.Add(2 * time.Minute), Direction: Forward})
	if err != nil {
		t.Fatal(err)
	}
	if got := render(r, true); got != "{app=\"late\"} 10=\"a\" 50=\"b\"\n{app=\"web\"} 20="+strconv.Quote(webLines[0])+" 50="+strconv.Quote(webLines[1])+" 80="+strconv.Quote(webLines[2]) {
		t.Errorf("got %s", got)
	}
	wantBytes := int64(2 + len(webLines[0]) + len(webLines[1]) + len(webLines[2]))
	if s := r.Stats; s.TotalLinesProcessed != 5 || s.TotalBytesProcessed != wantBytes || s.TotalEntriesReturned != 5 || s.TotalPostFilterLines != 5 || s.Streams != 2 {
		t.Errorf("stats %+v", s)
	}
	if r.Stats.ExecTime <= 0 {
		t.Errorf("exec time %v", r.Stats.ExecTime)
	}
	r, err = NewEngine(q, Limits{}).Exec(context.Background(), Params{Query: `sum(count_over_time({app="late"}[1m]))`, Start: base, End: base.Add(time.Minute), Instant: true})
	if err != nil || len(r.Vector) != 1 || r.Vector[0].T != base.Add(time.Minute).UnixMilli() || r.Vector[0].V != 2 || math.IsNaN(r.Vector[0].V) {
		t.Errorf("instant vector %+v %v", r, err)
	}
}

func TestPatternMatching(t *testing.T) {
	for _, c := range []struct{ pattern, line, want string }{
		{`<a> <b>`, "x y z", `{a="x", b="y z"}`},
		{`<_> <b> <_>`, "x y z w", `{b="y"}`},
		{`[<ts>] <level>:`, "[12:00] warn: disk", `{level="warn", ts="12:00"}`},
		{`[<ts>] <level>:`, "12:00 warn: disk", `{}`},      // leading literal missing
		{`<a>-<b>-<c>`, "1-2", `{a="1", b="2"}`},           // literal missing: capture takes the rest
		{`<a> <_> <b> <_> <_>`, "1 2 3", `{a="1", b="3"}`}, // stops after the last named capture
		{`<a>=<_> <b>`, "k=v rest of line", `{a="k", b="rest of line"}`},
	} {
		st, err := newPatternStage(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		var b labelsBuilder
		b.reset(nil)
		st.process(0, c.line, &b)
		if got := b.labels().String(); got != c.want {
			t.Errorf("pattern %q on %q: got %s want %s", c.pattern, c.line, got, c.want)
		}
	}
}
