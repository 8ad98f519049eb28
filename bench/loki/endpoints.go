package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The endpoints Grafana's Explore, Logs Drilldown and logcli call besides queries, sent
// with the same parameters to both servers over compatData. An answer is compared as its
// JSON shape (keys and value types, recursively) and, where Loki's answer is deterministic,
// its values (volumes, cardinalities, field types, formatted queries). Patterns come from
// a clustering heuristic on each side, so only their shape and the lines they cover
// compare; the patterns themselves are printed for reading.

// endpointCase is one request to a metadata endpoint. Times are seconds after the data
// set's base; zero Start and End send no times.
type endpointCase struct {
	Name   string            `json:"name"`
	Path   string            `json:"path"`
	Params map[string]string `json:"params,omitempty"`
	Start  int64             `json:"start,omitempty"`
	End    int64             `json:"end,omitempty"`
	// Kind selects how the answer's values compare: volume (a query result), labels,
	// fields, values, format, patterns, or shape (the shape alone).
	Kind string `json:"kind"`
}

// url is the request's path and query string for data based at base (Unix s).
func (c endpointCase) url(base int64) string {
	v := url.Values{}
	for k, x := range c.Params {
		v.Set(k, x)
	}
	if c.Start != 0 || c.End != 0 {
		v.Set("start", strconv.FormatInt((base+c.Start)*1e9, 10))
		v.Set("end", strconv.FormatInt((base+c.End)*1e9, 10))
	}
	if len(v) == 0 {
		return c.Path
	}
	return c.Path + "?" + v.Encode()
}

// endpointCases are the requests of the endpoint comparison, built from Loki's HTTP API
// documentation and what Grafana's Explore and Logs Drilldown send.
func endpointCases() []endpointCase {
	var out []endpointCase
	add := func(kind, name, path string, start, end int64, kv ...string) {
		c := endpointCase{Name: name, Path: path, Start: start, End: end, Kind: kind}
		if len(kv) > 0 {
			c.Params = map[string]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				c.Params[kv[i]] = kv[i+1]
			}
		}
		out = append(out, c)
	}
	all := func(kind, name, path string, kv ...string) { add(kind, name, path, 0, compatSpan, kv...) }

	add("shape", "buildinfo", "/loki/api/v1/status/buildinfo", 0, 0)
	add("shape", "drilldown-limits", "/loki/api/v1/drilldown-limits", 0, 0)

	// index/volume and index/volume_range, by series (the selector's labels or
	// targetLabels) and by labels
	for _, p := range []string{"/loki/api/v1/index/volume", "/loki/api/v1/index/volume_range"} {
		short := strings.TrimPrefix(p, "/loki/api/v1/index/")
		step := []string{}
		if short == "volume_range" {
			step = []string{"step", "600"}
		}
		for _, q := range []string{`{app=~".+"}`, `{app="api"}`, `{app="api", env="prod"}`, `{app=~"api|web", env=~".+"}`, `{app="missing"}`, `{env="dev"}`} {
			all("volume", short+" "+q, p, append([]string{"query", q}, step...)...)
		}
		all("volume", short+" targetLabels=env", p, append([]string{"query", `{app=~".+"}`, "targetLabels", "env"}, step...)...)
		all("volume", short+" targetLabels=app,env", p, append([]string{"query", `{app=~".+"}`, "targetLabels", "app,env"}, step...)...)
		all("volume", short+" aggregateBy=labels all", p, append([]string{"query", `{app=~".+"}`, "aggregateBy", "labels"}, step...)...)
		all("volume", short+" aggregateBy=labels api", p, append([]string{"query", `{app="api"}`, "aggregateBy", "labels"}, step...)...)
		all("volume", short+" aggregateBy=labels targetLabels=env", p, append([]string{"query", `{app=~".+"}`, "aggregateBy", "labels", "targetLabels", "env"}, step...)...)
		all("volume", short+" aggregateBy=series", p, append([]string{"query", `{app=~"api|vpc"}`, "aggregateBy", "series"}, step...)...)
		all("volume", short+" limit=2", p, append([]string{"query", `{app=~".+"}`, "limit", "2"}, step...)...)
		all("volume", short+" {}", p, append([]string{"query", `{}`}, step...)...)
		all("volume", short+" no query", p, step...)
		all("volume", short+" bad aggregateBy", p, append([]string{"query", `{app="api"}`, "aggregateBy", "streams"}, step...)...)
		all("volume", short+" pipeline", p, append([]string{"query", `{app="api"} |= "GET"`}, step...)...)
		add("volume", short+" half hour", p, 900, 2700, append([]string{"query", `{app=~"api|web"}`}, step...)...)
	}
	all("volume", "volume_range step=900 labels", "/loki/api/v1/index/volume_range", "query", `{app=~".+"}`, "step", "900", "aggregateBy", "labels")
	all("volume", "volume_range step=1h", "/loki/api/v1/index/volume_range", "query", `{app=~"api|vpc"}`, "step", "1h")
	all("volume", "volume_range step=1h targetLabels=region", "/loki/api/v1/index/volume_range", "query", `{app=~"api|vpc"}`, "step", "1h", "targetLabels", "region")

	// detected labels: cardinalities of the stream labels of the selected streams
	for _, q := range []string{`{app=~".+"}`, `{app="api"}`, `{app=~"vpc|nginx"}`, `{app="missing"}`} {
		all("labels", "detected_labels "+q, "/loki/api/v1/detected_labels", "query", q)
	}
	all("labels", "detected_labels no query", "/loki/api/v1/detected_labels")

	// detected fields and their values, parsed from the newest line_limit lines
	for _, q := range []string{`{app="api"}`, `{app="web"}`, `{app="vpc"}`, `{app="nginx"}`, `{app="packed"}`, `{app="mixed"}`, `{app="color"}`,
		`{app=~".+"}`, `{app="api"} |= "GET"`, `{app="api"} | logfmt`, `{app="web"} | json`, `{app="missing"}`} {
		all("fields", "detected_fields "+q, "/loki/api/v1/detected_fields", "query", q)
	}
	all("fields-limited", "detected_fields limit=3", "/loki/api/v1/detected_fields", "query", `{app="api"}`, "limit", "3")
	all("fields", "detected_fields line_limit=10", "/loki/api/v1/detected_fields", "query", `{app=~"api|web"}`, "line_limit", "10")
	all("fields", "detected_fields metric query", "/loki/api/v1/detected_fields", "query", `count_over_time({app="api"}[1m])`)
	all("fields", "detected_fields no query", "/loki/api/v1/detected_fields")
	for _, f := range []struct{ q, name string }{{`{app="api"}`, "level"}, {`{app="api"}`, "status"}, {`{app="api"}`, "user"},
		{`{app="web"}`, "req_method"}, {`{app="web"}`, "level"}, {`{app="web"}`, "status"}, {`{app="api"}`, "nosuch"}, {`{app="mixed"}`, "currency"}} {
		all("values", "detected_field "+f.name+" "+f.q, "/loki/api/v1/detected_field/"+f.name+"/values", "query", f.q)
	}
	all("values-limited", "detected_field limit=2", "/loki/api/v1/detected_field/user/values", "query", `{app="api"}`, "limit", "2")
	all("values", "detected_field line_limit=5", "/loki/api/v1/detected_field/status/values", "query", `{app="api"}`, "line_limit", "5")

	// patterns (Loki's pattern ingester)
	for _, q := range []string{`{app="api"}`, `{app="vpc"}`, `{app="mixed"}`, `{app="nginx"}`, `{app=~".+"}`} {
		all("patterns", "patterns "+q, "/loki/api/v1/patterns", "query", q, "step", "600")
	}
	all("patterns", "patterns default step", "/loki/api/v1/patterns", "query", `{app="color"}`)

	// format_query
	for _, q := range []string{`{app="api"}`, `{app="api",env=~"p.*"}|="GET"|logfmt|status>=500`,
		`sum by(env)(rate({app="api"}|logfmt|unwrap bytes[5m]))`, `{app="web"} | json | line_format "{{.level}}" | label_format a=b`,
		`topk(3, count_over_time({app=~".+"}[1h])) / 2`, `{app="api"} |~ "x" != "y" | pattern "<a> <b>" | keep a`,
		`vector(1)+vector(1)`, `{app="api"`, `sum(count_over_time({app="vpc"}[5m] offset 1h)) by (region) > bool 3`,
		`{app="api"} | decolorize | drop __error__, __error_details__`, `label_replace(rate({app="api"}[1m]), "x", "$1", "env", "(.*)")`} {
		add("format", "format_query "+q, "/loki/api/v1/format_query", 0, 0, "query", q)
	}
	return out
}

// endpointAnswer fetches one case's answer and renders it canonically (endpointCanonical).
func endpointAnswer(ctx context.Context, client *http.Client, baseURL string, c endpointCase, base int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+c.url(base), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	return endpointCanonical(c.Kind, resp.StatusCode, body, base), nil
}

// endpointCanonical renders an endpoint's answer as its status, the JSON shape, and the
// values of its kind that are deterministic.
func endpointCanonical(kind string, status int, body []byte, base int64) string {
	if status != http.StatusOK {
		return fmt.Sprintf("error %d: %s", status, strings.TrimSpace(string(body)))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "undecodable answer: " + err.Error()
	}
	if kind == "patterns" {
		// which patterns a clustering finds is the heuristic's business: compare the
		// answer's shape without them, and the shape of every pattern found
		var r map[string]any
		_ = json.Unmarshal(body, &r)
		data, _ := r["data"].([]any)
		r["data"] = []any{}
		out := "shape " + jsonShape(r)
		for _, p := range data {
			if s := jsonShape(p); s != `{"pattern":string,"samples":[[number]]}` {
				return out + "\npattern of another shape: " + s
			}
		}
		return out
	}
	out := "shape " + jsonShape(v)
	switch kind {
	case "volume":
		out += "\n" + canonical(status, body, base, false)
	case "labels":
		var r struct {
			DetectedLabels []struct {
				Label       string `json:"label"`
				Cardinality int    `json:"cardinality"`
			} `json:"detectedLabels"`
		}
		_ = json.Unmarshal(body, &r)
		var lines []string
		for _, l := range r.DetectedLabels {
			lines = append(lines, fmt.Sprintf("%s %d", l.Label, l.Cardinality))
		}
		sort.Strings(lines)
		out += "\n" + strings.Join(lines, "\n")
	case "fields-limited", "values-limited":
		// which fields or values make the limit depends on the order Loki meets them in
		// (a map's): compare how many
		var r struct {
			Fields []json.RawMessage `json:"fields"`
			Values []string          `json:"values"`
			Limit  int               `json:"limit"`
		}
		_ = json.Unmarshal(body, &r)
		out += fmt.Sprintf("\nlimit %d, %d fields, %d values", r.Limit, len(r.Fields), len(r.Values))
	case "fields":
		var r struct {
			Fields []struct {
				Label       string   `json:"label"`
				Type        string   `json:"type"`
				Cardinality int      `json:"cardinality"`
				Parsers     []string `json:"parsers"`
				JSONPath    []string `json:"jsonPath"`
			} `json:"fields"`
			Limit int `json:"limit"`
		}
		_ = json.Unmarshal(body, &r)
		var lines []string
		for _, f := range r.Fields {
			sort.Strings(f.Parsers)
			lines = append(lines, fmt.Sprintf("%s %s %d parsers=%s path=%s", f.Label, f.Type, f.Cardinality,
				strings.Join(f.Parsers, ","), strings.Join(f.JSONPath, ".")))
		}
		sort.Strings(lines)
		out += fmt.Sprintf("\nlimit %d\n%s", r.Limit, strings.Join(lines, "\n"))
	case "values":
		var r struct {
			Values []string `json:"values"`
			Limit  int      `json:"limit"`
		}
		_ = json.Unmarshal(body, &r)
		sort.Strings(r.Values)
		out += fmt.Sprintf("\nlimit %d\n%s", r.Limit, strings.Join(r.Values, "\n"))
	case "format":
		var r struct {
			Data string `json:"data"`
		}
		_ = json.Unmarshal(body, &r)
		out += "\n" + r.Data
	}
	return out
}

// patternTexts lists the patterns of a patterns answer, for reading beside the comparison.
func patternTexts(body []byte) []string {
	var r struct {
		Data []struct {
			Pattern string `json:"pattern"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &r)
	var out []string
	for _, p := range r.Data {
		out = append(out, p.Pattern)
	}
	sort.Strings(out)
	return out
}

// jsonShape renders the structure of a decoded JSON value: objects as their sorted keys
// with the shapes of their values, arrays as the distinct shapes of their elements, and
// scalars as their type.
func jsonShape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ":" + jsonShape(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		seen := map[string]bool{}
		var shapes []string
		for _, e := range x {
			s := jsonShape(e)
			if !seen[s] {
				seen[s] = true
				shapes = append(shapes, s)
			}
		}
		sort.Strings(shapes)
		return "[" + strings.Join(shapes, "|") + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// endpointGoldenFile holds Loki's answers to endpointCases and tailCases, recorded by
// `-compat -record`; TestEndpointGolden checks flowtap against it without Loki.
const endpointGoldenFile = "testdata/endpoints_golden.json"

type endpointGolden struct {
	Loki      string           `json:"loki"`
	Base      int64            `json:"base"`
	Endpoints []endpointRecord `json:"endpoints"`
	Tails     []tailRecord     `json:"tails"`
}

type endpointRecord struct {
	endpointCase
	Answer string `json:"answer"`
}

type tailRecord struct {
	tailCase
	Answer string `json:"answer"`
}

// endpointRun is one server's answers to the endpoint and tail cases.
type endpointRun struct {
	endpoints []string
	patterns  map[string][]string // patterns case name -> the patterns found
	tails     []tailResult
}

// runEndpoints sends every endpoint and tail case to the server at baseURL.
func runEndpoints(ctx context.Context, client *http.Client, baseURL string, base int64) (*endpointRun, error) {
	r := &endpointRun{patterns: map[string][]string{}}
	for _, c := range endpointCases() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+c.url(base), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		r.endpoints = append(r.endpoints, endpointCanonical(c.Kind, resp.StatusCode, body, base))
		if c.Kind == "patterns" {
			r.patterns[c.Name] = patternTexts(body)
		}
	}
	for _, c := range tailCases() {
		t, err := runTail(ctx, client, baseURL, c, base, time.Second, time.Second, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("tail %s: %w", c.Name, err)
		}
		r.tails = append(r.tails, t)
	}
	return r, nil
}

// compareEndpoints prints the differences between Loki's and flowtap's endpoint answers
// and returns how many of how many cases agree.
func compareEndpoints(loki, ft *endpointRun) (agree, total int) {
	for i, c := range endpointCases() {
		total++
		la, fa := loki.endpoints[i], ft.endpoints[i]
		if la == fa {
			agree++
			continue
		}
		reason := knownEndpointDifferences[c.Name]
		if reason == "" {
			reason = "NOT EXPLAINED"
		}
		fmt.Printf("--- endpoint %s (%s)\n    why: %s\n    loki:    %s\n    flowtap: %s\n", c.Name, c.url(0), reason,
			strings.ReplaceAll(short(la), "\n", "\n             "), strings.ReplaceAll(short(fa), "\n", "\n             "))
	}
	for i, c := range tailCases() {
		total++
		la, fa := loki.tails[i].canonical, ft.tails[i].canonical
		if la == fa {
			agree++
			continue
		}
		reason := knownEndpointDifferences["tail "+c.Name]
		if reason == "" {
			reason = "NOT EXPLAINED"
		}
		fmt.Printf("--- tail %s\n    why: %s\n    loki:    %s\n    flowtap: %s\n", c.Name, reason,
			strings.ReplaceAll(short(la), "\n", "\n             "), strings.ReplaceAll(short(fa), "\n", "\n             "))
	}
	for i, c := range tailCases() {
		if c.Live > 0 {
			fmt.Printf("tail %q: slowest live line after its push: loki %v, flowtap %v\n", c.Name,
				loki.tails[i].slowest.Round(time.Millisecond), ft.tails[i].slowest.Round(time.Millisecond))
		}
	}
	for _, c := range endpointCases() {
		if c.Kind != "patterns" {
			continue
		}
		lp, fp := loki.patterns[c.Name], ft.patterns[c.Name]
		same := 0
		for _, p := range fp {
			if slices.Contains(lp, p) {
				same++
			}
		}
		fmt.Printf("%s: loki %d patterns, flowtap %d, %d identical\n", c.Name, len(lp), len(fp), same)
	}
	return agree, total
}
