package main

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/flowtap/flowtap/query/logs"
)

// vpcPattern is the README's pattern for the default VPC format.
const vpcPattern = `<version> <account_id> <interface_id> <srcaddr> <dstaddr> <srcport> <dstport> <protocol> <packets> <bytes> <start> <end> <action> <log_status>`

// query is one LogQL query of the comparison and how to compute its answer from the data.
type query struct {
	name    string
	logql   string
	instant bool
	logs    bool   // a log query (limit 100, newest first)
	label   string // the one grouping label of a metric result ("" for a plain sum)
	topk    int
	// key says which series an entry counts toward, or false if it counts toward none.
	key func(ds *dataset, e *entry) (string, bool)
}

func isReject(_ *dataset, e *entry) (string, bool) { return "", strings.Contains(e.line, "REJECT") }

func byLogStream(ds *dataset, e *entry) (string, bool) { return ds.logStreams[e.stream], true }

// rejectedSource mirrors the pattern query: srcaddr of lines whose action is REJECT.
func rejectedSource(_ *dataset, e *entry) (string, bool) {
	if field(e.line, 12) != "REJECT" {
		return "", false
	}
	return field(e.line, 3), true
}

func queries() []query {
	count := `sum(count_over_time({kind="vpc"} |= "REJECT" [1h]))`
	streams := `topk(10, sum by (log_stream) (count_over_time({kind="vpc"}[1h])))`
	pattern := `topk(10, sum by (srcaddr) (count_over_time({kind="vpc"} | pattern "` + vpcPattern + `" | action="REJECT" [1h])))`
	return []query{
		{name: "line filter |= REJECT, limit 100", logql: `{kind="vpc"} |= "REJECT"`, logs: true, key: isReject},
		{name: "count REJECT [1h], instant", logql: count, instant: true, key: isReject},
		{name: "count REJECT [1h], range", logql: count, key: isReject},
		{name: "topk by log_stream [1h], instant", logql: streams, instant: true, label: "log_stream", topk: 10, key: byLogStream},
		{name: "topk by log_stream [1h], range", logql: streams, label: "log_stream", topk: 10, key: byLogStream},
		{name: "pattern topk srcaddr REJECT, instant", logql: pattern, instant: true, label: "srcaddr", topk: 10, key: rejectedSource},
		{name: "pattern topk srcaddr REJECT, range", logql: pattern, label: "srcaddr", topk: 10, key: rejectedSource},
	}
}

// result is a decoded query answer: log entries (Unix ns and line) or metric samples
// (Unix seconds → series key → value).
type result struct {
	tss     []int64
	lines   []string
	samples map[int64]map[string]float64
	labels  string // first unexpected label set seen, if any
}

// decodeResult reads a /query or /query_range answer; label is the series key of q.
func decodeResult(body []byte, q *query) (*result, error) {
	ans, err := logs.Decode(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %.200s", err, body)
	}
	r := &result{samples: map[int64]map[string]float64{}}
	seriesKey := func(m map[string]string) string {
		want := 0
		if q.label != "" {
			want = 1
		}
		if _, ok := m[q.label]; len(m) != want || (want == 1 && !ok) {
			if r.labels == "" {
				r.labels = fmt.Sprint(m)
			}
		}
		return m[q.label]
	}
	switch ans.Type {
	case "streams":
		for _, s := range ans.Streams {
			for _, e := range s.Entries {
				r.tss = append(r.tss, e.Time.UnixNano())
				r.lines = append(r.lines, e.Line)
			}
		}
	case "vector", "matrix":
		for _, s := range ans.Series {
			k := seriesKey(s.Metric)
			for _, smp := range s.Samples {
				v, err := strconv.ParseFloat(smp.Value, 64)
				if err != nil {
					return nil, fmt.Errorf("sample value %q: %w", smp.Value, err)
				}
				t := int64(math.Round(float64(smp.Time.UnixMilli()) / 1000))
				if r.samples[t] == nil {
					r.samples[t] = map[string]float64{}
				}
				r.samples[t][k] += v
			}
		}
	default:
		return nil, fmt.Errorf("unexpected result type %q", ans.Type)
	}
	return r, nil
}

// truth computes the answers from the generated data. byTime indexes entries by time.
type truth struct {
	ds     *dataset
	byTime []int32
}

func newTruth(ds *dataset) *truth {
	t := &truth{ds: ds, byTime: make([]int32, len(ds.entries))}
	for i := range t.byTime {
		t.byTime[i] = int32(i)
	}
	sort.SliceStable(t.byTime, func(i, j int) bool { return ds.entries[t.byTime[i]].ts < ds.entries[t.byTime[j]].ts })
	return t
}

// window returns the entries with from < ts <= to, as a range vector selects them.
func (t *truth) window(from, to int64) []int32 {
	es := t.ds.entries
	lo := sort.Search(len(t.byTime), func(i int) bool { return es[t.byTime[i]].ts > from })
	hi := sort.Search(len(t.byTime), func(i int) bool { return es[t.byTime[i]].ts > to })
	return t.byTime[lo:hi]
}

// series counts the entries of (at-1h, at] per series of q.
func (t *truth) series(q *query, at int64) map[string]float64 {
	m := map[string]float64{}
	for _, i := range t.window(at-3600, at) {
		if k, ok := q.key(t.ds, &t.ds.entries[i]); ok {
			m[k]++
		}
	}
	return m
}

// check compares an answer with the data's and returns what differs ("" when nothing).
// Ties at the topk cut-off may pick either series: the check accepts any series whose
// count is right as long as the values are the k largest.
func (t *truth) check(q *query, r *result, start, end, step int64, limit int) string {
	if r.labels != "" {
		return "unexpected series labels " + r.labels
	}
	if q.logs {
		var want []int64
		for _, i := range t.window(start-1, end-1) { // [start, end)
			if q.key != nil {
				if _, ok := q.key(t.ds, &t.ds.entries[i]); ok {
					want = append(want, t.ds.entries[i].ts*1e9)
				}
			}
		}
		sort.Slice(want, func(i, j int) bool { return want[i] > want[j] })
		want = want[:min(limit, len(want))]
		got := append([]int64(nil), r.tss...)
		sort.Slice(got, func(i, j int) bool { return got[i] > got[j] })
		for _, l := range r.lines {
			if !strings.Contains(l, "REJECT") {
				return fmt.Sprintf("line without REJECT: %.80s", l)
			}
		}
		if len(got) != len(want) {
			return fmt.Sprintf("%d lines, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				return fmt.Sprintf("line %d at %d, want %d (newest %d REJECT lines)", i, got[i], want[i], limit)
			}
		}
		return ""
	}
	steps := []int64{end}
	if !q.instant {
		steps = steps[:0]
		for at := start; at <= end; at += step {
			steps = append(steps, at)
		}
	}
	var diffs []string
	points := 0
	for _, at := range steps {
		want := t.series(q, at)
		got := r.samples[at]
		if len(want) == 0 {
			if len(got) > 0 {
				diffs = append(diffs, fmt.Sprintf("t=%d: %d series, want none", at, len(got)))
			}
			continue
		}
		points++
		if d := compareStep(want, got, q.topk); d != "" {
			diffs = append(diffs, fmt.Sprintf("t=%d: %s", at, d))
		}
	}
	for at := range r.samples {
		if !contains(steps, at) {
			diffs = append(diffs, fmt.Sprintf("unexpected step t=%d", at))
			break
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	if len(diffs) > 2 {
		return fmt.Sprintf("%d of %d steps differ, e.g. %s; %s", len(diffs), points, diffs[0], diffs[1])
	}
	return strings.Join(diffs, "; ")
}

func contains(xs []int64, x int64) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// compareStep compares one evaluation step's series with the data's counts.
func compareStep(want, got map[string]float64, topk int) string {
	if topk == 0 {
		if len(got) != len(want) {
			return fmt.Sprintf("%d series, want %d", len(got), len(want))
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				return fmt.Sprintf("series %q = %v, want %v", k, g, v)
			}
		}
		return ""
	}
	all := make([]float64, 0, len(want))
	for _, v := range want {
		all = append(all, v)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(all)))
	all = all[:min(topk, len(all))]
	if len(got) != len(all) {
		return fmt.Sprintf("%d series, want %d", len(got), len(all))
	}
	vals := make([]float64, 0, len(got))
	for k, v := range got {
		if want[k] != v {
			return fmt.Sprintf("series %q = %v, want %v", k, v, want[k])
		}
		vals = append(vals, v)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(vals)))
	for i := range vals {
		if vals[i] != all[i] {
			return fmt.Sprintf("top values %v, want %v", vals, all)
		}
	}
	return ""
}
