package main

import (
	"fmt"
	"strings"
)

// compatQuery is one query of the compatibility corpus. Times are seconds after the data
// set's base; Instant queries run at End.
type compatQuery struct {
	Q          string `json:"query"`
	Instant    bool   `json:"instant,omitempty"`
	Start      int64  `json:"start"`
	End        int64  `json:"end"`
	Step       int64  `json:"step,omitempty"`
	Limit      int    `json:"limit,omitempty"`
	Direction  string `json:"direction,omitempty"`
	orderMatch bool   // the order of an instant vector is part of the answer (sort, topk)
}

func (q compatQuery) key() string {
	k := q.Q
	if q.Instant {
		k += fmt.Sprintf(" @instant %d", q.End)
	} else {
		k += fmt.Sprintf(" @range %d..%d step %d limit %d %s", q.Start, q.End, q.Step, q.Limit, q.Direction)
	}
	return k
}

// corpus is the compatibility corpus, built from the LogQL and HTTP API documentation:
// every parser, filter, template function, range and vector aggregation, binary and set
// operation, offset, step/limit/direction edge cases and errors, over compatData.
func corpus() []compatQuery {
	var out []compatQuery
	logq := func(q string) { out = append(out, compatQuery{Q: q, Start: 0, End: compatSpan, Limit: 1000}) }
	logqL := func(q string, limit int, dir string, start, end int64) {
		out = append(out, compatQuery{Q: q, Start: start, End: end, Limit: limit, Direction: dir})
	}
	rng := func(q string) { out = append(out, compatQuery{Q: q, Start: 0, End: compatSpan, Step: 300}) }
	rngS := func(q string, start, end, step int64) {
		out = append(out, compatQuery{Q: q, Start: start, End: end, Step: step})
	}
	inst := func(q string) { out = append(out, compatQuery{Q: q, Instant: true, End: compatSpan}) }
	instAt := func(q string, at int64) { out = append(out, compatQuery{Q: q, Instant: true, End: at}) }
	both := func(q string) { rng(q); inst(q) }
	ordered := func(q string) {
		out = append(out, compatQuery{Q: q, Instant: true, End: compatSpan, orderMatch: true})
	}

	// ---- stream selectors and line filters ----
	for _, sel := range []string{`{app="api"}`, `{app="api", env="prod"}`, `{app=~"api|web"}`, `{app!="vpc", env=~".+"}`,
		`{app=~"w.*", env!~"d.*"}`, `{app="nginx", host="edge-1"}`, `{app="missing"}`, `{cluster="c1", app=~".*"}`} {
		logq(sel)
	}
	for _, f := range []string{`|= "GET"`, `!= "GET"`, `|~ "status=5.."`, `!~ "status=(2|3)\\d\\d"`, `|= "POST" |= "users"`,
		`|= "get"`, `|~ "(?i)get"`, `|= "GET" or "PUT"`, `|= "GET" or "PUT" != "users"`, "|~ `level=(error|warn)`",
		`|= ""`, `!= ""`, `|~ ".*"`, `|= "alice" or "bob" or "carol"`, `|= ip("10.0.0.0/8")`, `!= ip("10.0.0.0/8")`,
		`|= ip("192.168.0.0-192.168.255.255")`, `|= ip("::1")`, `|> "<_> GET <_>"`, `!> "<_> GET <_>"`, `|> "<_>level=error<_>"`,
		`|> "ts=<_> level=info <_>"`, `|> "<_> bytes=<_>"`, `|> "ts=<_>"`, `|> "<_> status=500 <_>" or "<_> status=503 <_>"`} {
		logq(`{app=~"api|mixed|nginx"} ` + f)
	}
	logq(`{app="vpc"} |= "REJECT" |= ip("10.0.1.0/24")`)
	logq(`{app="vpc"} |> "2 <_> <_> <_> <_> <_> 22 <_>"`)
	logq(`{app="vpc"} |> "2 <_> <_> <_> <_> <_> <_> 17 <_>"`)
	logq(`{app="nginx"} |> "<_> - - <_>"`)
	logq(`{app="nginx"} |= ip("2001:db8::/32")`)

	// ---- parsers ----
	for _, p := range []string{`| logfmt`, `| logfmt --strict`, `| logfmt --keep-empty`, `| logfmt --strict --keep-empty`,
		`| logfmt status, method`, `| logfmt code="status", m="method"`, `| logfmt --strict status`, `| logfmt --keep-empty empty`,
		`| logfmt status, lat="latency"`, `| logfmt | __error__=""`, `| logfmt | __error__!=""`, `| logfmt --strict | __error__!=""`,
		`| logfmt | query!=""`, `| logfmt | trace_id!=""`, `| logfmt | _1digit="x"`, `| logfmt | dash_key="y"`, `| logfmt | standalone=""`,
		`| logfmt | line_format "{{.msg}}"`, `| logfmt | keep status, level`, `| logfmt | drop ts, path, user, size, bytes, latency`} {
		logq(`{app="api"} ` + p)
	}
	for _, p := range []string{`| json`, `| json | __error__=""`, `| json | __error__!=""`, `| json level, status`, `| json lvl="level", code="status"`,
		`| json m="req.method", ua="req.headers[\"user-agent\"]"`, `| json t="tags[0]", t2="tags[1]", t9="tags[9]"`, `| json tags`,
		`| json req`, `| json err="error"`, `| json missing="no.such.path"`, `| json user`, `| json e="env"`, `| json d="nested.deep.deeper"`,
		`| json | line_format "{{.req_method}} {{.req_path}}"`, `| json | keep level, req_method`, `| json | drop req_headers_user_agent, req_headers_x_id`,
		`| json | env_extracted!=""`, `| json | ratio > 0.5`, `| json | req_headers_user_agent=~"curl.*"`, `| json status | status >= 400`,
		`| json | line_format "{{.error_msg}}"`, "| json `dur`", `| json | __error_details__!=""`} {
		logq(`{app="web"} ` + p)
	}
	for _, p := range []string{`| pattern "<_> <_> <_> <src> <dst> <_> <dport> <proto> <packets> <bytes> <_> <_> <action> <_>"`,
		`| pattern "<_> <_> <eni> <_>"`, `| pattern "2 <account> <_>"`, `| pattern "<_> REJECT <status>"`, `| pattern "<a> <b>"`,
		`| regexp "(?P<src>\\d+\\.\\d+\\.\\d+\\.\\d+) (?P<dst>\\S+)"`, `| regexp "eni-(?P<eni>\\w+)"`, `| regexp "(?P<action>ACCEPT|REJECT) OK$"`,
		`| pattern "<_> <_> <_> <src> <_>" | src=~"10\\.0\\.1\\..*"`, `| pattern "<_> <_> <_> <src> <_>" | src=ip("10.0.2.0/24")`} {
		logq(`{app="vpc"} ` + p)
	}
	for _, p := range []string{`| pattern "<ip> - <user> [<ts>] \"<method> <path> <_>\" <status> <size> <_>"`,
		`| pattern "<ip> <_>" | ip=ip("10.1.1.0/24")`, `| regexp "\"(?P<method>\\w+) (?P<path>\\S+)"`, `| regexp "(?P<status>\\d{3}) (?P<size>\\d+)"`,
		`| pattern "<_> \"<method> <_>" | method="GET"`, `| pattern "<ip> <_>" | ip!=ip("10.1.1.1")`} {
		logq(`{app="nginx"} ` + p)
	}
	logq(`{app="packed"} | unpack`)
	logq(`{app="packed"} | unpack | logfmt`)
	logq(`{app="packed"} | unpack | pod="p-1"`)
	logq(`{app="packed"} | json`)
	logq(`{app="web"} | unpack`)
	logq(`{app="color"} | decolorize`)
	logq(`{app="color"} | decolorize | logfmt`)
	logq(`{app="color"} | decolorize |= "ERROR"`)
	logq(`{app="color"} |= "ERROR"`)
	logq(`{app="mixed"} | logfmt`)
	logq(`{app="mixed"} | json`)
	logq(`{app="mixed"} | logfmt --strict`)
	logq(`{app="mixed"} | regexp "amount=(?P<amount>[0-9.]+)"`)

	// ---- label filters ----
	for _, f := range []string{`| status=200`, `| status==200`, `| status!=200`, `| status>=400`, `| status<300`, `| status>201 and status<=500`,
		`| status=200 or status=404`, `| status=500, method="GET"`, `| status=500 method="GET"`, `| (status=404 or status=500) and method!="GET"`,
		`| latency > 500ms`, `| latency <= 100ms`, `| latency >= 1s or status >= 500`, `| size > 1KB`, `| size <= 1KiB`, `| size > 1MB`,
		`| bytes > 2500`, `| bytes < -1`, `| user="alice"`, `| user=~"a.*|b.*"`, `| user!~"a.*"`, `| missing > 1`, `| missing = ""`,
		`| missing != ""`, `| missing > 1 or status = 200`, `| level="error" | status >= 500`, `| counter > 100`, `| user=ip("10.0.0.1")`,
		`| status > 2e2`, `| latency > 0.5s`, `| ts=~"2026-12-06T10:0.*"`, `| method="GET" | path=~"/api/.*" | status=200`} {
		logq(`{app="api"} | logfmt ` + f)
	}
	logq(`{app="web"} | json | status >= 400`)
	logq(`{app="web"} | json | dur > 1s`)
	logq(`{app="web"} | json | size > 1MB`)
	logq(`{app="web"} | json | user = ""`)
	logq(`{app="web"} | json | user != ""`)

	// ---- formatting: line_format, label_format and every template function ----
	tmpls := []string{
		`{{.method}} {{.path}}`, `{{.status}}`, `{{ .nosuch }}`, `{{ __line__ }}`, `{{ __line__ | len }}`,
		`{{ ToLower .method }}`, `{{ ToUpper .user }}`, `{{ Replace .path "/" "_" -1 }}`, `{{ Replace .path "/" "_" 1 }}`,
		`{{ Trim .path "/" }}`, `{{ TrimLeft .path "/a" }}`, `{{ TrimRight .path "0123456789" }}`, `{{ TrimPrefix .path "/api" }}`,
		`{{ TrimSuffix .path "users" }}`, `{{ TrimSpace "  x  " }}`, `{{ regexReplaceAll "/api/(v[0-9])/(.*)" .path "${2}@${1}" }}`,
		`{{ regexReplaceAllLiteral "v[0-9]" .path "$1" }}`, `{{ count "/" .path }}`, `{{ urlencode .path }}`, `{{ urldecode "a%20b%2Fc" }}`,
		`{{ .size | bytes }}`, `{{ .latency | duration }}`, `{{ .latency | duration_seconds }}`, `{{ alignLeft 8 .user }}|`,
		`{{ alignRight 8 .user }}|`, `{{ alignLeft 2 .user }}`, `{{ alignRight 2 .user }}`, `{{ b64enc .user }}`, `{{ b64dec "YWxpY2U=" }}`,
		`{{ lower .method }}`, `{{ upper .user }}`, `{{ title .user }}`, `{{ trunc 4 .path }}`, `{{ trunc -3 .path }}`, `{{ trunc 100 .path }}`,
		`{{ substr 0 4 .path }}`, `{{ substr 4 7 .path }}`, `{{ substr 5 100 .path }}`, `{{ contains "api" .path }}`, `{{ hasPrefix "/api" .path }}`,
		`{{ hasSuffix "users" .path }}`, `{{ indent 4 .user }}`, `{{ nindent 2 .user }}`, `{{ replace "/" "|" .path }}`, `{{ repeat 3 .method }}`,
		`{{ trim "  x  " }}`, `{{ trimAll "/" .path }}`, `{{ trimSuffix "s" .path }}`, `{{ trimPrefix "/api/" .path }}`, `{{ int .status }}`,
		`{{ float64 .bytes }}`, `{{ add .status .bytes }}`, `{{ add .status 1 2 }}`, `{{ sub .bytes .status }}`, `{{ mul .status 2 }}`,
		`{{ div .bytes 7 }}`, `{{ div .bytes 0 }}`, `{{ mod .bytes 7 }}`, `{{ addf .bytes 0.5 }}`, `{{ subf .bytes 0.25 }}`, `{{ mulf .bytes 1.5 }}`,
		`{{ divf .bytes 3 }}`, `{{ divf .bytes 0 }}`, `{{ max .status .bytes }}`, `{{ min .status .bytes }}`, `{{ maxf .status 250.5 }}`,
		`{{ minf .status 250.5 }}`, `{{ ceil (divf .bytes 7) }}`, `{{ floor (divf .bytes 7) }}`, `{{ round (divf .bytes 7) 2 }}`,
		`{{ default "anon" .nosuch }}`, `{{ default "anon" .user }}`, `{{ if eq .status "200" }}ok{{ else }}ko{{ end }}`,
		`{{ if and (hasPrefix "/api" .path) (eq .method "GET") }}read{{ end }}`, `{{ printf "%s-%s" .method .status }}`,
		`{{ __timestamp__ | unixEpoch }}`, `{{ __timestamp__ | unixEpochMillis }}`, `{{ __timestamp__ | unixEpochNanos }}`,
		`{{ unixEpoch (toDate "2006-01-02" "2026-12-06") }}`, `{{ (toDateInZone "2006-01-02 15:04" "Europe/Paris" "2026-12-06 10:00").Unix }}`,
		`{{ unixToTime "1733479200" | unixEpoch }}`, `{{ unixToTime "1733479200123" | unixEpochMillis }}`, `{{ unixToTime "20000" | unixEpoch }}`,
		`{{ date "2006-01-02" (unixToTime "1733479200") }}`, `{{ .user | upper | trunc 2 }}`,
	}
	for _, t := range tmpls {
		logq(`{app="api", env="prod"} | logfmt | line_format ` + "`" + t + "`")
	}
	for _, t := range []string{`{{ (fromJson __line__).level }}`, `{{ (fromJson __line__).req.method }}`, `{{ (fromJson "{\"a\":[1,2]}").a }}`,
		`{{ .req_path }} {{ .status | int | add 1 }}`, `{{ .dur | duration }}`} {
		logq(`{app="web", env="prod"} | json | line_format ` + "`" + t + "`")
	}
	for _, lf := range []string{`| label_format st=status`, `| label_format st="{{.status}}-{{.method}}"`, `| label_format status="{{ div .status 100 }}xx"`,
		`| label_format a="{{.user}}", b="{{.a}}"`, `| label_format user=method`, `| label_format x="{{ div .bytes 0 }}"`, `| label_format app="{{.method}}"`,
		`| label_format lvl=level | line_format "{{.lvl}}"`, `| label_format st=status | st=500`, `| label_format up="{{ upper .user }}" | keep up`} {
		logq(`{app="api", env="dev"} | logfmt ` + lf)
	}
	logq(`{app="api"} | label_format __error__="x"`)
	logq(`{app="api"} | logfmt | label_format a=status, a=method`)

	// ---- range aggregations ----
	for _, sel := range []string{`{app="api"}`, `{app=~"api|web"}`, `{app="vpc"} |= "REJECT"`, `{app="web"} | json | __error__=""`, `{app="missing"}`} {
		for _, op := range []string{"count_over_time", "rate", "bytes_over_time", "bytes_rate"} {
			rng(fmt.Sprintf(`%s(%s [5m])`, op, sel))
		}
		inst(fmt.Sprintf(`count_over_time(%s [1h])`, sel))
	}
	unwrapSrc := `{app="api"} | logfmt | __error__=""`
	for _, op := range []string{"sum_over_time", "avg_over_time", "min_over_time", "max_over_time", "stddev_over_time", "stdvar_over_time",
		"first_over_time", "last_over_time", "rate", "rate_counter"} {
		rng(fmt.Sprintf(`%s(%s | unwrap bytes [10m])`, op, unwrapSrc))
		inst(fmt.Sprintf(`%s(%s | unwrap bytes [1h]) by (env)`, op, unwrapSrc))
	}
	for _, qv := range []string{"0", "0.5", "0.9", "0.99", "1"} {
		inst(fmt.Sprintf(`quantile_over_time(%s, %s | unwrap bytes [1h]) by (env)`, qv, unwrapSrc))
	}
	rng(`quantile_over_time(0.95, {app="api"} | logfmt | unwrap duration(latency) [10m]) by (method)`)
	both(`sum_over_time({app="api"} | logfmt | unwrap duration_seconds(latency) [30m]) by (env)`)
	both(`avg_over_time({app="api"} | logfmt | unwrap bytes(size) [30m]) by (env)`)
	both(`max_over_time({app="web"} | json | unwrap bytes [30m]) by (env)`)
	both(`sum_over_time({app="web"} | json | unwrap ratio [1h]) without (env)`)
	both(`sum_over_time({app="api"} | logfmt | unwrap latency [1h])`)
	both(`sum_over_time({app="api"} | logfmt | unwrap status | __error__="" [1h]) by (env)`)
	both(`sum_over_time({app="api"} | logfmt | unwrap counter [1h]) by (env)`)
	both(`count_over_time({app="api"} | logfmt | unwrap bytes | bytes > 2500 [1h])`)
	both(`absent_over_time({app="missing", env="x"}[5m])`)
	both(`absent_over_time({app="api", env=~"p.*"}[1m])`)
	both(`absent_over_time({app="color"}[2m])`)
	both(`absent_over_time({app="color"} |= "nope" [10m])`)
	inst(`count_over_time({app="api"} | logfmt [1h])`)
	inst(`count_over_time({app="api"} | logfmt | keep method [1h])`)
	inst(`count_over_time({app="web"} | json [1h])`)
	inst(`count_over_time({app="web"} | json | drop __error__, __error_details__ [1h])`)
	inst(`count_over_time({app="vpc"} | pattern "<_> <_> <_> <_> <_> <_> <dport> <_>" [1h])`)
	inst(`bytes_over_time({app="color"} | decolorize [1h])`)
	inst(`count_over_time({app="packed"} | unpack [1h])`)
	inst(`rate({app="nginx"} | pattern "<_> \"<method> <_>" [10m])`)

	// ---- vector aggregations ----
	for _, op := range []string{"sum", "avg", "min", "max", "count", "stddev", "stdvar"} {
		both(fmt.Sprintf(`%s by (env) (count_over_time({app=~"api|web"}[10m]))`, op))
		inst(fmt.Sprintf(`%s without (env) (count_over_time({app=~"api|web"}[1h]))`, op))
		inst(fmt.Sprintf(`%s(count_over_time({app=~"api|web"}[1h]))`, op))
	}
	ordered(`topk(2, sum by (method) (count_over_time({app="api"} | logfmt [1h])))`)
	ordered(`bottomk(2, sum by (method) (count_over_time({app="api"} | logfmt [1h])))`)
	// byte sums: Loki breaks topk/bottomk ties in Go map order, so counts (which tie) would
	// make its answer random
	rng(`topk(1, sum by (env) (bytes_over_time({app="api"}[10m])))`)
	rng(`bottomk(1, sum by (env) (bytes_over_time({app="api"}[10m])))`)
	ordered(`topk by (env) (1, sum by (env, method) (count_over_time({app="api"} | logfmt [1h])))`)
	ordered(`sort(sum by (method) (count_over_time({app="api"} | logfmt [1h])))`)
	ordered(`sort_desc(sum by (method) (count_over_time({app="api"} | logfmt [1h])))`)
	rng(`sort(sum by (env) (count_over_time({app="api"}[10m])))`)
	both(`sum by (level) (count_over_time({app="api"} | logfmt [30m]))`)
	both(`sum by (status) (rate({app="api"} | logfmt [10m]))`)
	both(`sum by (__error__) (count_over_time({app="web"} | json [30m]))`)
	both(`sum by (__error__) (count_over_time({app="api"} | logfmt --strict [30m]))`)
	both(`sum by (req_method) (count_over_time({app="web"} | json | __error__="" [30m]))`)
	both(`count(sum by (user) (count_over_time({app="api"} | logfmt [30m])))`)
	both(`avg by (env) (avg_over_time({app="api"} | logfmt | unwrap bytes | __error__="" [30m]) by (env, method))`)
	both(`sum by (action) (count_over_time({app="vpc"} | pattern "<_> <_> <_> <_> <_> <_> <_> <_> <_> <_> <_> <_> <action> <_>" [10m]))`)
	both(`sum by (src) (sum_over_time({app="vpc"} | pattern "<_> <_> <_> <src> <_> <_> <_> <_> <_> <bytes> <_>" | unwrap bytes [1h]))`)
	inst(`sum(count_over_time({app="api"} | logfmt [1h])) by (method)`)
	inst(`max by (nosuch) (count_over_time({app="api"}[1h]))`)
	inst(`sum by () (count_over_time({app="api"}[1h]))`)

	// ---- binary and set operations, vector() and label_replace ----
	for _, b := range []string{`vector(1)+vector(1)`, `vector(3)`, `vector(0) - vector(2)`, `vector(1) > bool vector(0)`} {
		both(b)
	}
	// Scalars: Loki stamps every instant scalar with the same wrong time (an overflow), so
	// two instant queries show that; the rest run as range queries.
	for _, b := range []string{`1 + 1`, `2 * 3 ^ 2`, `-1`, `10 % 3`, `1 / 0`, `0 / 0`, `2 > bool 1`, `1 == bool 2`, `(1 + 2) * 3`, `1 > 2`, `2 >= 1`} {
		rng(b)
	}
	inst(`1 + 1`)
	inst(`1 / 0`)
	for _, b := range []string{
		`sum(count_over_time({app="api"}[10m])) / sum(count_over_time({app=~"api|web"}[10m]))`,
		`sum(count_over_time({app="api"}[10m])) * 2`, `2 * sum(count_over_time({app="api"}[10m]))`,
		`sum(count_over_time({app="api"}[10m])) - sum(count_over_time({app="web"}[10m]))`,
		`sum(count_over_time({app="api"}[10m])) / 0`, `sum(count_over_time({app="api"}[10m])) % 7`, `sum(count_over_time({app="api"}[10m])) ^ 2`,
		`count_over_time({app="api"}[10m]) > 5`, `count_over_time({app="api"}[10m]) > bool 5`, `count_over_time({app="api"}[10m]) == 6`,
		`count_over_time({app="api"}[10m]) != bool 6`, `count_over_time({app="api"}[10m]) <= 4`, `5 < count_over_time({app="api"}[10m])`,
		`count_over_time({app="api"}[10m]) and count_over_time({app="api", env="prod"}[10m])`,
		`count_over_time({app="api"}[10m]) or count_over_time({app="web"}[10m])`,
		`count_over_time({app="api"}[10m]) unless count_over_time({app="api", env="prod"}[10m])`,
		`sum by (env) (count_over_time({app="api"}[10m])) / on (env) sum by (env) (count_over_time({app="web"}[10m]))`,
		`sum by (env) (count_over_time({app="api"}[10m])) + ignoring (app) sum by (env) (count_over_time({app="web"}[10m]))`,
		`sum by (env, level) (count_over_time({app="api"} | logfmt [10m])) / on (env) group_left sum by (env) (count_over_time({app="api"}[10m]))`,
		`sum by (env) (count_over_time({app="api"}[10m])) / on (env) group_right sum by (env, level) (count_over_time({app="api"} | logfmt [10m]))`,
		`sum by (env, level) (count_over_time({app="api"} | logfmt [10m])) * on (env) group_left (cluster) sum by (env, cluster) (count_over_time({app="api"}[10m]))`,
		`sum by (env) (count_over_time({app="api"}[10m])) > on (env) sum by (env) (count_over_time({app="web"}[10m]))`,
		`sum(count_over_time({app="missing"}[10m])) or vector(0)`,
		`label_replace(sum by (env) (count_over_time({app="api"}[10m])), "e", "$1", "env", "(p|d).*")`,
		`label_replace(sum by (env) (count_over_time({app="api"}[10m])), "env", "", "env", "prod")`,
		`label_replace(sum by (env) (count_over_time({app="api"}[10m])), "x", "y", "nosuch", "")`,
		`label_replace(sum by (env) (count_over_time({app="api"}[10m])), "x", "$1-$2", "env", "(.)(.*)")`,
		`sum by (env) (count_over_time({app="api"}[10m])) / sum by (env) (count_over_time({app="api", env="prod"}[10m]))`,
		`(sum(count_over_time({app="api"}[10m])) + sum(count_over_time({app="web"}[10m]))) / 2`,
		`sum(rate({app="api"}[5m])) * 60`,
		`vector(1) and sum(count_over_time({app="api"}[10m]))`,
		`sum(count_over_time({app="api"}[10m])) + vector(1)`,
	} {
		both(b)
	}

	// ---- offset, step, limit, direction ----
	both(`count_over_time({app="api"}[10m] offset 10m)`)
	both(`sum(count_over_time({app="api"}[10m] offset 1h))`)
	both(`sum by (env) (count_over_time({app="api"} | logfmt | status >= 500 [10m] offset 5m))`)
	both(`sum_over_time({app="api"} | logfmt | unwrap bytes | __error__="" [10m] offset 30m) by (env)`)
	for _, st := range []int64{1, 7, 60, 299, 900, 3600} {
		rngS(`sum(count_over_time({app="api"}[5m]))`, 0, compatSpan, st)
	}
	rngS(`sum(count_over_time({app="api"}[1m]))`, 600, 1200, 60)
	rngS(`sum(count_over_time({app="api"}[1m]))`, 601, 1199, 60)
	rngS(`sum(rate({app="api"}[30s]))`, 0, 600, 30)
	rngS(`count_over_time({app="api"}[90s])`, 1000, 2000, 45)
	rngS(`sum(count_over_time({app="api"}[10m]))`, 1800, 1800, 60)
	instAt(`count_over_time({app="api"}[10m])`, 1800)
	instAt(`sum(count_over_time({app="api"}[1h]))`, 1800)
	instAt(`sum(count_over_time({app="api"}[2h]))`, compatSpan+3600)
	for _, lim := range []int{1, 5, 50} {
		for _, dir := range []string{"backward", "forward"} {
			logqL(`{app=~"api|web"}`, lim, dir, 0, compatSpan)
			logqL(`{app="vpc"} |= "REJECT"`, lim, dir, 600, 1800)
		}
	}
	logqL(`{app="api"} | logfmt | status >= 500`, 10, "forward", 0, compatSpan)
	logqL(`{app="api"}`, 7, "backward", 1000, 1001)
	logqL(`{app="api"}`, 100, "forward", 3000, compatSpan)
	logqL(`{app="color"} | decolorize`, 3, "backward", 0, compatSpan)
	logqL(`{app="nginx"} | pattern "<ip> <_>"`, 4, "forward", 0, compatSpan)

	// ---- errors ----
	for _, bad := range []string{`{app="api"`, `{app="api"} |= `, `{app=api}`, `{}`, `{app=~".*"}`, `{app=""}`, `count_over_time({app="api"})`,
		`count_over_time({app="api"}[5x])`, `sum_over_time({app="api"}[5m])`, `rate({app="api"} | logfmt | unwrap bytes [5m]) by (env)`,
		`count_over_time({app="api"}[5m]) by (env)`, `sum by (env) ({app="api"})`, `topk(0, count_over_time({app="api"}[5m]))`,
		`topk(1.5, count_over_time({app="api"}[5m]))`, `quantile_over_time(2, {app="api"} | logfmt | unwrap bytes [5m])`,
		`{app="api"} | logfmt | status > "a"`, `{app="api"} |~ "("`, `{app="api"} | regexp "(?P<x"`, `{app="api"} | regexp "nocapture"`,
		`{app="api"} | pattern "nocapture"`, `{app="api"} | pattern "<a><b>"`, `{app="api"} | line_format "{{.a"`, `{app="api"} | label_format a="{{"`,
		`{app="api"} | json a=`, `{app="api"} |> "<named> x"`, `1 > 2`, `count_over_time({app="api"}[5m]) and 1`, `vector(x)`, `sum(1)`,
		`label_replace(vector(1), "x", "y", "z", "(")`, `label_replace(vector(1), "1x", "y", "z", ".*")`, `{app="api"} | unwrap bytes`,
		`count_over_time({app="api"} | logfmt | unwrap bytes [5m])`, `{app="api"} | logfmt --bogus`, `sum(count_over_time({app="api"}[5m]`,
		`{app="api"} # only a comment`, `{app="api"} | drop`, `{app="api"} | keep`, `foo(1)`, `sum by (env) (count_over_time({app="api"} | logfmt | unwrap latency [5m]))`} {
		logq(bad)
	}
	inst(`{app="api"}`)
	inst(`count_over_time({app="web"} | json [1h])`)
	inst(`sum by (env) (count_over_time({app="web"} | json [1h]))`)
	inst(`sum(count_over_time({app="web"} | json [1h]))`)
	inst(`sum_over_time({app="api"} | logfmt | unwrap latency [1h])`)
	rngS(`count_over_time({app="api"}[5m])`, 0, compatSpan, 0)
	rngS(`count_over_time({app="api"}[5m])`, compatSpan, 0, 60)
	rngS(`sum(count_over_time({app="api"}[5m]))`, 0, 4*compatSpan, 1) // more than 11 000 points

	// Deeply nested but valid queries.
	nested := `count_over_time({app="api"}[1h])`
	for i := 0; i < 20; i++ {
		nested = "(" + nested + ")"
	}
	inst(nested)
	inst(strings.Repeat("sum(", 10) + `count_over_time({app="api"}[1h])` + strings.Repeat(")", 10))
	return out
}
