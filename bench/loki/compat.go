package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/query/logs"
)

// goldenFile holds Loki's answers to the corpus, recorded by `-compat -record` from a real
// Grafana Loki over compatData; compat_test.go checks flowtap against it without Loki.
const goldenFile = "testdata/compat_golden.json.gz"

// golden is the recorded corpus: each query with Loki's canonical answer (see canonical).
type golden struct {
	Loki string `json:"loki"`
	// Base is the data set's base time (Unix s) in the recording run: templates that
	// print absolute times (unixEpoch of __timestamp__) need the same one.
	Base    int64          `json:"base"`
	Queries []goldenAnswer `json:"queries"`
}

type goldenAnswer struct {
	compatQuery
	OrderMatters bool   `json:"order_matters,omitempty"`
	Answer       string `json:"answer"`
}

// queryParams are the HTTP path and parameters of q for data based at base (Unix s).
func queryParams(q compatQuery, base int64) (string, url.Values) {
	v := url.Values{"query": {q.Q}}
	if q.Instant {
		v.Set("time", strconv.FormatInt(base+q.End, 10))
		if q.Limit > 0 {
			v.Set("limit", strconv.Itoa(q.Limit))
		}
		return "/loki/api/v1/query", v
	}
	v.Set("start", strconv.FormatInt((base+q.Start)*1e9, 10))
	v.Set("end", strconv.FormatInt((base+q.End)*1e9, 10))
	if q.Step > 0 {
		v.Set("step", strconv.FormatInt(q.Step, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Direction != "" {
		v.Set("direction", q.Direction)
	}
	return "/loki/api/v1/query_range", v
}

// ask runs q against a Loki-API server at baseURL and returns the canonical answer.
func ask(ctx context.Context, client *http.Client, baseURL string, q compatQuery, base int64) (string, error) {
	status, body, err := fetch(ctx, client, baseURL, q, base)
	if err != nil {
		return "", err
	}
	return canonical(status, body, base, q.orderMatch), nil
}

// fetch runs q and returns the HTTP status and body.
func fetch(ctx context.Context, client *http.Client, baseURL string, q compatQuery, base int64) (int, []byte, error) {
	path, params := queryParams(q, base)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+path+"?"+params.Encode(), nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, body, err
}

// canonical renders an HTTP answer so that equal answers render equally: errors as
// status and message; results with times relative to base, streams and series sorted by
// labels (vectors keep their order when it is part of the answer).
func canonical(status int, body []byte, base int64, keepOrder bool) string {
	if status != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		// Loki names the first failing series it meets, in map order: not part of the answer.
		if strings.HasPrefix(msg, "pipeline error: ") {
			if i, j := strings.Index(msg, " for series: '"), strings.Index(msg, "'.\n"); i > 0 && j > i {
				msg = msg[:i] + " for series: …" + msg[j+1:]
			}
		}
		return fmt.Sprintf("error %d: %s", status, msg)
	}
	var r struct {
		Data struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "undecodable answer: " + err.Error()
	}
	lbl := func(m map[string]string) string { return logs.Labels(m).String() }
	relSec := func(raw json.RawMessage) string {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return "?" + string(raw)
		}
		return strconv.FormatFloat(f-float64(base), 'f', -1, 64)
	}
	var lines []string
	switch r.Data.ResultType {
	case "streams":
		var ss []struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		}
		if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
			return "undecodable streams: " + err.Error()
		}
		for _, s := range ss {
			var b strings.Builder
			b.WriteString(lbl(s.Stream))
			for _, v := range s.Values {
				ns, _ := strconv.ParseInt(v[0], 10, 64)
				b.WriteString("\n  " + strconv.FormatInt(ns-base*1e9, 10) + " " + strconv.Quote(v[1]))
			}
			lines = append(lines, b.String())
		}
		sort.Strings(lines)
	case "matrix":
		var ss []struct {
			Metric map[string]string    `json:"metric"`
			Values [][2]json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
			return "undecodable matrix: " + err.Error()
		}
		for _, s := range ss {
			var b strings.Builder
			b.WriteString(lbl(s.Metric))
			for _, v := range s.Values {
				var val string
				_ = json.Unmarshal(v[1], &val)
				b.WriteString(" " + relSec(v[0]) + ":" + val)
			}
			lines = append(lines, b.String())
		}
		sort.Strings(lines)
	case "vector":
		var ss []struct {
			Metric map[string]string  `json:"metric"`
			Value  [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &ss); err != nil {
			return "undecodable vector: " + err.Error()
		}
		for _, s := range ss {
			var val string
			_ = json.Unmarshal(s.Value[1], &val)
			lines = append(lines, lbl(s.Metric)+" "+relSec(s.Value[0])+":"+val)
		}
		if !keepOrder {
			sort.Strings(lines)
		}
	case "scalar":
		var v [2]json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return "undecodable scalar: " + err.Error()
		}
		var val string
		_ = json.Unmarshal(v[1], &val)
		lines = append(lines, relSec(v[0])+":"+val)
	default:
		return "unknown result type " + strconv.Quote(r.Data.ResultType)
	}
	return r.Data.ResultType + "\n" + strings.Join(lines, "\n")
}

// sameAnswer compares canonical answers; numbers may differ in the last bits (sums in
// another order), so tokens that both parse as numbers compare with a relative tolerance.
func sameAnswer(a, b string) bool {
	if a == b {
		return true
	}
	ta, tb := strings.Fields(a), strings.Fields(b)
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i] == tb[i] {
			continue
		}
		pa, pb := strings.Split(ta[i], ":"), strings.Split(tb[i], ":")
		if len(pa) != len(pb) {
			return false
		}
		for j := range pa {
			if pa[j] == pb[j] {
				continue
			}
			x, err1 := strconv.ParseFloat(pa[j], 64)
			y, err2 := strconv.ParseFloat(pb[j], 64)
			if err1 != nil || err2 != nil || math.Abs(x-y) > 1e-9*math.Max(math.Abs(x), math.Abs(y)) {
				return false
			}
		}
	}
	return true
}

// runCompat starts Loki and a flowtap logstore, pushes compatData to both, runs the corpus
// on both, prints the agreement and each difference, times the corpus on each, and with
// record writes Loki's answers to goldenFile.
func runCompat(ctx context.Context, o *options) error {
	bin, err := findLoki(o.lokiBin)
	if err != nil {
		return err
	}
	version, _ := exec.Command(bin, "-version").Output()
	lokiVersion := strings.TrimSpace(strings.SplitN(string(version), "\n", 2)[0])
	if !strings.ContainsAny(lokiVersion, "0123456789") {
		// built from the module zip as the package doc says: no version stamped
		lokiVersion += " (unstamped build of github.com/grafana/loki/v3@v3.5.0)"
	}
	fmt.Printf("LogQL compatibility: flowtap logstore vs Grafana Loki (%s)\n", lokiVersion)
	loki, ft, stop, err := startBoth(bin, "bench-loki-compat-", o)
	if err != nil {
		return err
	}
	defer stop()
	for _, s := range []*server{ft, loki} {
		if err := s.waitReady(ctx, 3*time.Minute); err != nil {
			return err
		}
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	// The data's hour starts 1h05m to 2h05m ago: Loki 3.5 (this configuration) stops
	// returning ingester lines older than about 2h40m, which an hour starting 2-3 h ago
	// crossed in part of every hour.
	base := time.Now().Add(-65 * time.Minute).Truncate(time.Hour).Unix()
	data := compatData()
	total := 0
	for _, s := range data {
		total += len(s.Lines)
	}
	body := pushJSON(data, base*1e9)
	for _, s := range []*server{ft, loki} {
		if err := pushBody(ctx, client, s.url, body); err != nil {
			return fmt.Errorf("push to %s: %w", s.name, err)
		}
	}
	if o.hold {
		fmt.Printf("holding: loki %s, flowtap %s, base %d; interrupt to stop\n", loki.url, ft.url, base)
		<-ctx.Done()
		return nil
	}
	// wait until both count every line
	count := compatQuery{Q: `sum(count_over_time({app=~".+"}[2h]))`, Instant: true, End: compatSpan + 60}
	for _, s := range []*server{ft, loki} {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			got, err := ask(ctx, client, s.url, count, base)
			if err == nil && strings.HasSuffix(got, ":"+strconv.Itoa(total)) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not count all %d lines: %v %s", s.name, total, err, got)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	qs := corpus()
	fmt.Printf("data: %d lines in %d streams over 1h; corpus: %d queries\n", total, len(data), len(qs))
	answers := map[string][]string{}
	elapsed := map[string]time.Duration{}
	for round := 0; round < o.rounds; round++ {
		for _, s := range []*server{loki, ft} {
			// only the HTTP round trips are timed; answers are compared afterwards
			type raw struct {
				status int
				body   []byte
			}
			raws := make([]raw, 0, len(qs))
			start := time.Now()
			for _, q := range qs {
				status, body, err := fetch(ctx, client, s.url, q, base)
				if err != nil {
					return fmt.Errorf("%s: %s: %w", s.name, q.Q, err)
				}
				raws = append(raws, raw{status, body})
			}
			elapsed[s.name] += time.Since(start)
			if round == 0 {
				for i, r := range raws {
					answers[s.name] = append(answers[s.name], canonical(r.status, r.body, base, qs[i].orderMatch))
				}
			}
		}
	}
	agree := 0
	var diffs []string
	for i, q := range qs {
		la, fa := answers["loki"][i], answers["flowtap"][i]
		if sameAnswer(la, fa) {
			agree++
			continue
		}
		reason := knownDifferences[q.key()]
		if reason == "" {
			reason = "NOT EXPLAINED"
		}
		diffs = append(diffs, fmt.Sprintf("--- %s\n    why: %s\n    loki:    %s\n    flowtap: %s", q.key(), reason,
			strings.ReplaceAll(short(la), "\n", "\n             "), strings.ReplaceAll(short(fa), "\n", "\n             ")))
	}
	for _, d := range diffs {
		fmt.Println(d)
	}
	fmt.Printf("corpus time over %d round(s): loki %v, flowtap %v, ratio flowtap/loki %.3f\n", o.rounds,
		elapsed["loki"].Round(time.Millisecond), elapsed["flowtap"].Round(time.Millisecond),
		elapsed["flowtap"].Seconds()/elapsed["loki"].Seconds())
	// the metadata endpoints and live tail, over the same data
	fmt.Println("endpoints: status/buildinfo, drilldown-limits, index/volume(_range), detected_labels, detected_fields, detected_field values, patterns, format_query, tail")
	epRuns := map[string]*endpointRun{}
	for _, s := range []*server{loki, ft} {
		r, err := runEndpoints(ctx, client, s.url, base)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		epRuns[s.name] = r
	}
	epAgree, epTotal := compareEndpoints(epRuns["loki"], epRuns["flowtap"])
	fmt.Printf("agreement: %d of %d queries (%.1f %%)\n", agree, len(qs), 100*float64(agree)/float64(len(qs)))
	fmt.Printf("endpoint agreement: %d of %d requests (%.1f %%)\n", epAgree, epTotal, 100*float64(epAgree)/float64(epTotal))
	if o.answers != "" {
		for _, name := range []string{"loki", "flowtap"} {
			var b strings.Builder
			for i, q := range qs {
				b.WriteString("=== " + q.key() + "\n" + answers[name][i] + "\n")
			}
			if err := os.WriteFile(filepath.Join(o.answers, name+".txt"), []byte(b.String()), 0o640); err != nil {
				return err
			}
			var e strings.Builder
			for i, c := range endpointCases() {
				e.WriteString("=== " + c.Name + " " + c.url(0) + "\n" + epRuns[name].endpoints[i] + "\n")
				if c.Kind == "patterns" {
					e.WriteString("patterns:\n  " + strings.Join(epRuns[name].patterns[c.Name], "\n  ") + "\n")
				}
			}
			for i, c := range tailCases() {
				e.WriteString("=== tail " + c.Name + "\n" + epRuns[name].tails[i].canonical + "\n")
			}
			if err := os.WriteFile(filepath.Join(o.answers, name+"-endpoints.txt"), []byte(e.String()), 0o640); err != nil {
				return err
			}
		}
	}
	if o.record || o.recordEndpoints {
		if err := recordEndpoints(o, lokiVersion, base, epRuns["loki"]); err != nil {
			return err
		}
	}
	if o.record {
		g := golden{Loki: lokiVersion, Base: base}
		for i, q := range qs {
			g.Queries = append(g.Queries, goldenAnswer{compatQuery: q, OrderMatters: q.orderMatch, Answer: answers["loki"][i]})
		}
		out, err := json.MarshalIndent(g, "", " ")
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		if _, err := zw.Write(append(out, '\n')); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		path := filepath.Join(o.goldenDir, goldenFile)
		if err := os.WriteFile(path, gz.Bytes(), 0o640); err != nil {
			return err
		}
		fmt.Println("recorded Loki's answers in", path)
	}
	return nil
}

func short(s string) string {
	if len(s) > 1500 {
		return s[:1500] + " …"
	}
	return s
}

func pushBody(ctx context.Context, client *http.Client, baseURL string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/loki/api/v1/push", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errors.New(resp.Status + ": " + string(msg))
	}
	return nil
}

// readGolden loads goldenFile.
func readGolden(path string) (*golden, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var g golden
	if err := json.NewDecoder(zr).Decode(&g); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &g, nil
}

// recordEndpoints writes Loki's endpoint and tail answers to endpointGoldenFile.
func recordEndpoints(o *options, lokiVersion string, base int64, loki *endpointRun) error {
	eg := endpointGolden{Loki: lokiVersion, Base: base}
	for i, c := range endpointCases() {
		eg.Endpoints = append(eg.Endpoints, endpointRecord{c, loki.endpoints[i]})
	}
	for i, c := range tailCases() {
		eg.Tails = append(eg.Tails, tailRecord{c, loki.tails[i].canonical})
	}
	out, err := json.MarshalIndent(eg, "", " ")
	if err != nil {
		return err
	}
	path := filepath.Join(o.goldenDir, endpointGoldenFile)
	if err := os.WriteFile(path, append(out, '\n'), 0o640); err != nil {
		return err
	}
	fmt.Println("recorded Loki's endpoint answers in", path)
	return nil
}
