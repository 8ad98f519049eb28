package logstore

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/flowtap/flowtap/internal/jsonstr"
	"github.com/flowtap/flowtap/logstore/logql"
)

// The endpoints Grafana's Explore, Logs Drilldown and logcli call besides queries:
// build info, log volume, detected labels and fields, patterns, query formatting and the
// drilldown limits, with Loki 3.5's response shapes.

// LokiVersion is the Loki API version the store answers as: Grafana enables features
// (volume, detected fields, patterns) by the version in status/buildinfo.
const LokiVersion = "3.5.0"

func (s *Store) handleBuildInfo(w http.ResponseWriter, _ *http.Request, _ string) error {
	b, _ := json.Marshal(map[string]string{
		"version": LokiVersion, "revision": "flowtap-logstore", "branch": "", "buildUser": "", "buildDate": "",
		"goVersion": runtime.Version(),
	})
	writeJSON(w, b)
	return nil
}

func (s *Store) handleFormatQuery(w http.ResponseWriter, r *http.Request, _ string) error {
	if err := r.ParseForm(); err != nil {
		return badRequest("%v", err)
	}
	expr, err := logql.ParseExpr(r.Form.Get("query"))
	if err != nil {
		// Loki answers a query it cannot parse in JSON, not as its other endpoints do
		b := jsonstr.Append([]byte(`{"status":"invalid-query","error":`), err.Error())
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(append(b, "}\n"...))
		return nil
	}
	writeJSON(w, jsonstr.Append([]byte(`{"status":"success","data":`), expr.String()))
	w.Write([]byte("}"))
	return nil
}

// handleDrilldownLimits answers Logs Drilldown's configuration probe with the tenant's
// limits in Loki's names: the fields Loki publishes there (its default allow-list, Loki
// 3.7; 3.5 has no such endpoint), less otlp_config, as the store takes no OTLP.
func (s *Store) handleDrilldownLimits(w http.ResponseWriter, _ *http.Request, _ string) error {
	dur := func(d time.Duration) string { return modelDuration(d) }
	b, _ := json.Marshal(map[string]any{
		"limits": map[string]any{
			"discover_log_levels":         false,
			"discover_service_name":       []string{},
			"log_level_fields":            []string{"level", "LEVEL", "Level", "severity", "SEVERITY", "Severity", "lvl", "LVL", "Lvl"},
			"max_entries_limit_per_query": s.cfg.MaxEntriesLimit,
			"max_line_size_truncate":      false,
			"max_query_bytes_read":        "0B",
			"max_query_length":            dur(s.cfg.MaxQueryLength),
			"max_query_lookback":          "0s",
			"max_query_range":             "0s",
			"max_query_series":            s.cfg.MaxQuerySeries,
			"metric_aggregation_enabled":  false,
			"pattern_persistence_enabled": false,
			"query_timeout":               dur(s.cfg.QueryTimeout),
			"retention_period":            dur(s.cfg.Retention),
			"volume_enabled":              true,
			"volume_max_series":           1000,
		},
		"pattern_ingester_enabled": true,
		"version":                  LokiVersion,
	})
	writeJSON(w, b)
	return nil
}

// modelDuration prints a duration as Prometheus does in configs ("720h", "1m", "0s").
func modelDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	units := []struct {
		s string
		d time.Duration
	}{{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	var b strings.Builder
	for _, u := range units {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.s)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// selectorOrAll parses a stream selector, accepting `{}` (and empty) as every stream, as
// Loki's metadata endpoints do.
func selectorOrAll(v string) ([]*logql.Matcher, error) {
	t := strings.TrimSpace(v)
	if t == "" || strings.ReplaceAll(t, " ", "") == "{}" {
		return nil, nil
	}
	return logql.ParseMatchers(v)
}

// spanAndSelector reads the form of an Explore request: its time span and its optional
// stream selector (nil matches every stream).
func spanAndSelector(r *http.Request) (start, end int64, ms []*logql.Matcher, err error) {
	if err := r.ParseForm(); err != nil {
		return 0, 0, nil, badRequest("%v", err)
	}
	if start, end, err = parseSpan(r, time.Now()); err != nil {
		return 0, 0, nil, err
	}
	ms, err = selectorOrAll(r.Form.Get("query"))
	return start, end, ms, err
}

// eachEntry calls fn for every entry of the tenant's streams matching ms in [start, end).
func (s *Store) eachEntry(ctx context.Context, tenantID string, ms []*logql.Matcher, start, end int64, fn func(*stream, logql.Entry)) error {
	sts := s.streamsIn(tenantID, nil, start, end)
	if ms != nil {
		sts = s.streamsIn(tenantID, [][]*logql.Matcher{ms}, start, end)
	}
	for _, st := range sts {
		srcs := st.sources(start, end)
		if len(srcs) == 0 {
			continue
		}
		it := &entryIter{ctx: ctx, srcs: srcs, start: start, end: end}
		for it.Next() {
			fn(st, it.At())
		}
		err := it.Err()
		it.release()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// volumeParams are the parameters of index/volume and index/volume_range.
type volumeParams struct {
	ms          []*logql.Matcher
	start, end  int64
	step        time.Duration
	limit       int
	target      []string
	byLabels    bool
	matchedKeys []string
}

func parseVolumeParams(r *http.Request, now time.Time) (volumeParams, error) {
	var p volumeParams
	if err := r.ParseForm(); err != nil {
		return p, badRequest("%v", err)
	}
	q := r.Form.Get("query")
	if strings.TrimSpace(q) == "" {
		return p, badRequest("parse error : syntax error: unexpected $end") // Loki's wording
	}
	ms, err := selectorOrAll(q)
	if err != nil {
		// a valid query that is more than a selector gets Loki's own refusal
		if expr, perr := logql.ParseExpr(q); perr == nil && expr != nil {
			return p, badRequest("only label matchers are supported")
		}
		return p, err
	}
	p.ms = ms
	if p.start, p.end, err = parseSpan(r, now); err != nil {
		return p, err
	}
	p.limit = 100
	if v := r.Form.Get("limit"); v != "" {
		if p.limit, err = parseLimit(v); err != nil {
			return p, err
		}
	}
	for _, t := range strings.Split(r.Form.Get("targetLabels"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			p.target = append(p.target, t)
		}
	}
	switch a := r.Form.Get("aggregateBy"); a {
	case "", "series":
	case "labels":
		p.byLabels = true
	default:
		return p, badRequest("invalid aggregation option") // Loki's wording, without the value
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if !seen[m.Name] {
			seen[m.Name] = true
			p.matchedKeys = append(p.matchedKeys, m.Name)
		}
	}
	p.step = defaultStep(time.Unix(0, p.start), time.Unix(0, p.end))
	if v := r.Form.Get("step"); v != "" {
		if p.step, err = ParseDuration(v); err != nil {
			return p, badRequest("%v", err)
		}
		if p.step <= 0 {
			return p, badRequest("zero or negative query resolution step widths are not accepted. Try a positive integer")
		}
	}
	return p, nil
}

// volumeKeys are the series a stream's bytes count toward: its values of the target
// labels (else the selector's labels; else, for `{}`, its whole label set) when it has
// every one of them, or with aggregateBy=labels one series per label name.
func (p *volumeParams) volumeKeys(ls logql.Labels) []logql.Labels {
	names := p.target
	if len(names) == 0 && !p.byLabels {
		names = p.matchedKeys
		if len(names) == 0 {
			return []logql.Labels{ls}
		}
	}
	if p.byLabels {
		var out []logql.Labels
		for _, l := range ls {
			if len(names) == 0 || slices.Contains(names, l.Name) {
				out = append(out, logql.Labels{{Name: l.Name, Value: ""}})
			}
		}
		return out
	}
	var key logql.Labels
	for _, n := range names {
		v := ls.Get(n)
		if v == "" {
			return nil // as Loki: a series lacking a target label has no volume
		}
		key = append(key, logql.Label{Name: n, Value: v})
	}
	key.Sort()
	return []logql.Labels{key}
}

func (s *Store) handleVolume(w http.ResponseWriter, r *http.Request, tenantID string) error {
	return s.volume(w, r, tenantID, false)
}

func (s *Store) handleVolumeRange(w http.ResponseWriter, r *http.Request, tenantID string) error {
	return s.volume(w, r, tenantID, true)
}

func (s *Store) volume(w http.ResponseWriter, r *http.Request, tenantID string, ranged bool) error {
	p, err := parseVolumeParams(r, time.Now())
	if err != nil {
		return err
	}
	type agg struct {
		labels logql.Labels
		total  float64
		points map[int64]float64 // bucket end (ms) -> bytes
	}
	aggs := map[string]*agg{}
	keysOf := map[*stream][]*agg{}
	stepMs := max(p.step.Milliseconds(), 1)
	endMs := p.end / 1e6
	err = s.eachEntry(r.Context(), tenantID, p.ms, p.start, p.end, func(st *stream, e logql.Entry) {
		as, ok := keysOf[st]
		if !ok {
			for _, k := range p.volumeKeys(st.labels) {
				ks := k.String()
				a := aggs[ks]
				if a == nil {
					a = &agg{labels: k, points: map[int64]float64{}}
					aggs[ks] = a
				}
				as = append(as, a)
			}
			keysOf[st] = as
		}
		n := float64(len(e.Line))
		// As Loki: steps are aligned to multiples of step since the epoch, and a step's
		// point is at its last millisecond (the last step's at the end of the range).
		ms := e.Timestamp / 1e6
		t := (ms/stepMs+1)*stepMs - 1
		if t >= endMs-1 {
			t = endMs
		}
		for _, a := range as {
			a.total += n
			if ranged {
				a.points[t] += n
			}
		}
	})
	if err != nil {
		return err
	}
	list := largestFirst(aggs, func(a *agg) float64 { return a.total }, p.limit)
	res := &logql.Result{Type: logql.ResultVector, Vector: []logql.Sample{}}
	if ranged {
		res = &logql.Result{Type: logql.ResultMatrix, Matrix: []logql.Series{}}
		sort.Slice(list, func(i, j int) bool { return list[i].labels.String() < list[j].labels.String() })
	}
	for _, a := range list {
		if !ranged {
			res.Vector = append(res.Vector, logql.Sample{Labels: a.labels, T: (p.end - 1) / 1e6, V: a.total})
			continue
		}
		ser := logql.Series{Labels: a.labels}
		for t, v := range a.points {
			ser.Points = append(ser.Points, logql.Point{T: t, V: v})
		}
		sort.Slice(ser.Points, func(i, j int) bool { return ser.Points[i].T < ser.Points[j].T })
		res.Matrix = append(res.Matrix, ser)
	}
	writeJSON(w, renderResult(make([]byte, 0, 1024), res))
	return nil
}

// staticDetectedLabels are always detected, as in Loki, even when every value is an ID.
var staticDetectedLabels = map[string]bool{"cluster": true, "namespace": true, "instance": true, "pod": true}

// allIDs reports whether every value is a number or a UUID (Loki leaves such labels out
// of detected labels: they are identifiers, not dimensions).
func allIDs(vals map[string]bool) bool {
	for v := range vals {
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			continue
		}
		if isUUID(v) {
			continue
		}
		return false
	}
	return true
}

// isUUID reports whether v is a UUID in its canonical form (8-4-4-4-12 hex digits).
func isUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (s *Store) handleDetectedLabels(w http.ResponseWriter, r *http.Request, tenantID string) error {
	start, end, ms, err := spanAndSelector(r)
	if err != nil {
		return err
	}
	var sels [][]*logql.Matcher
	if ms != nil {
		sels = append(sels, ms)
	}
	values := map[string]map[string]bool{}
	for _, st := range s.streamsIn(tenantID, sels, start, end) {
		for _, l := range st.labels {
			if values[l.Name] == nil {
				values[l.Name] = map[string]bool{}
			}
			values[l.Name][l.Value] = true
		}
	}
	names := make([]string, 0, len(values))
	for n, vs := range values {
		if staticDetectedLabels[n] || !allIDs(vs) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	b := []byte(`{"detectedLabels":[`)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"label":`...)
		b = jsonstr.Append(b, n)
		b = append(b, `,"cardinality":`...)
		b = strconv.AppendInt(b, int64(len(values[n])), 10)
		b = append(b, '}')
	}
	writeJSON(w, append(b, "]}"...))
	return nil
}

// detectedField is one field parsed out of log lines for detected_fields.
type detectedField struct {
	typ      string
	values   map[string]bool
	parsers  []string
	jsonPath []string
}

// fieldType is Loki's type detection for a detected field's value.
func fieldType(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "int"
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return "float"
	}
	if _, err := strconv.ParseBool(v); err == nil {
		return "boolean"
	}
	if _, err := time.ParseDuration(v); err == nil {
		return "duration"
	}
	if _, err := humanize.ParseBytes(v); err == nil {
		return "bytes"
	}
	return "string"
}

// byteUnitSuffixes are the size units after which Loki lists a bytes value normalised
// (so that it can be pasted into a query): "1KB" as "1.0kB".
var byteUnitSuffixes = []string{"b", "kib", "kb", "mib", "mb", "gib", "gb", "tib", "tb", "pib", "pb", "eib", "eb",
	"ki", "k", "mi", "m", "gi", "g", "ti", "t", "pi", "p", "ei", "e"}

// fieldValue is a detected field's value as detected_field/NAME/values lists it.
func fieldValue(v string) string {
	n, err := humanize.ParseBytes(v)
	if err != nil {
		return v
	}
	lv := strings.ToLower(v)
	for _, u := range byteUnitSuffixes {
		if strings.HasSuffix(lv, u) {
			return strings.Replace(humanize.Bytes(n), " ", "", 1)
		}
	}
	return v
}

// detectParams are the parameters of detected_fields and detected_field/NAME/values.
type detectParams struct {
	query            string
	start, end       int64
	limit, lineLimit int
}

func parseDetectParams(r *http.Request) (detectParams, error) {
	var p detectParams
	if err := r.ParseForm(); err != nil {
		return p, badRequest("%v", err)
	}
	var err error
	if p.start, p.end, err = parseSpan(r, time.Now()); err != nil {
		return p, err
	}
	// Loki's defaults: 1000 fields (or values), from the newest 100 lines
	p.limit, p.lineLimit = 1000, 100
	if v := r.Form.Get("limit"); v != "" {
		if p.limit, err = parseLimit(v); err != nil {
			return p, err
		}
	}
	if v := r.Form.Get("line_limit"); v != "" {
		if p.lineLimit, err = parseLimit(v); err != nil {
			return p, err
		}
	}
	p.query = r.Form.Get("query")
	if strings.TrimSpace(p.query) == "" {
		return p, badRequest("parse error : syntax error: unexpected $end") // Loki's wording
	}
	expr, err := logql.ParseExpr(p.query)
	if err != nil {
		return p, err
	}
	if logql.IsMetric(expr) {
		return p, badRequest("only log selector is supported")
	}
	return p, nil
}

// detectedLine is one line of a detection: the stream it came from (its labels before
// any parser of the query), the labels the query's stages added, and the line.
type detectedLine struct {
	stream, added logql.Labels
	line          string
}

// detectionLines reads the parameters of r and runs its query backward for the newest
// lineLimit lines; it returns them stream by stream (in label order), newest first, as
// Loki's detection reads them.
func (s *Store) detectionLines(r *http.Request, tenantID string) (detectParams, []detectedLine, error) {
	p, err := parseDetectParams(r)
	if err != nil {
		return p, nil, err
	}
	res, err := s.engine(tenantID).Exec(r.Context(), logql.Params{Query: p.query, Start: time.Unix(0, p.start), End: time.Unix(0, p.end),
		Limit: min(p.lineLimit, max(s.cfg.MaxEntriesLimit, 1)), Direction: logql.Backward})
	if err != nil {
		return p, nil, err
	}
	// The result's labels include what the query's parsers extracted: split them from the
	// stream's own labels (the stored stream they are a superset of), so that parsing the
	// line again does not take every field for a clash with a stream label.
	streams := map[string]logql.Labels{}
	var all []logql.Labels
	for _, st := range s.streamsIn(tenantID, nil, p.start, p.end) {
		streams[st.labels.String()] = st.labels
		all = append(all, st.labels)
	}
	sort.Slice(res.Streams, func(i, j int) bool { return res.Streams[i].Labels.String() < res.Streams[j].Labels.String() })
	var out []detectedLine
	for _, st := range res.Streams {
		base, ok := streams[st.Labels.String()]
		if !ok {
			for _, c := range all {
				if len(c) > len(base) && isSubset(c, st.Labels) {
					base = c
				}
			}
		}
		var added logql.Labels
		for _, l := range st.Labels {
			if base.Get(l.Name) == "" && l.Name != logql.ErrorLabel && l.Name != logql.ErrorDetailsLabel {
				added = append(added, l)
			}
		}
		for _, e := range st.Entries {
			out = append(out, detectedLine{stream: base, added: added, line: e.Line})
		}
	}
	return p, out, nil
}

// isSubset reports whether every label of a is in b with the same value.
func isSubset(a, b logql.Labels) bool {
	for _, l := range a {
		if v := b.Get(l.Name); v != l.Value {
			return false
		}
	}
	return true
}

// detectFields finds at most limit fields in the query's newest lines as Loki's Logs
// Drilldown detection does: the labels the query's parsers added, and each line parsed as
// JSON, else logfmt. A field's type is that of the last value seen (Loki re-detects it per
// line).
func detectFields(lines []detectedLine, limit int) map[string]*detectedField {
	fields := map[string]*detectedField{}
	for _, dl := range lines {
		found, parser := logql.DetectFields(dl.line, dl.stream)
		for _, l := range dl.added {
			if !slices.ContainsFunc(found, func(f logql.DetectedField) bool { return f.Name == l.Name }) {
				found = append(found, logql.DetectedField{Name: l.Name, Value: l.Value})
			}
		}
		for _, fd := range found {
			f := fields[fd.Name]
			if f == nil {
				if len(fields) >= limit {
					continue
				}
				f = &detectedField{values: map[string]bool{}}
				fields[fd.Name] = f
			}
			if parser != "" && !slices.Contains(f.parsers, parser) {
				f.parsers = append(f.parsers, parser)
			}
			if fd.JSONPath != nil {
				f.jsonPath = fd.JSONPath
			}
			f.typ = fieldType(fd.Value)
			f.values[fd.Value] = true
		}
	}
	return fields
}

func (s *Store) handleDetectedFields(w http.ResponseWriter, r *http.Request, tenantID string) error {
	p, lines, err := s.detectionLines(r, tenantID)
	if err != nil {
		return err
	}
	fields := detectFields(lines, p.limit)
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	b := []byte(`{"fields":[`)
	for i, n := range names {
		f := fields[n]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"label":`...)
		b = jsonstr.Append(b, n)
		b = append(b, `,"type":`...)
		b = jsonstr.Append(b, f.typ)
		b = append(b, `,"cardinality":`...)
		b = strconv.AppendInt(b, int64(len(f.values)), 10)
		if len(f.parsers) > 0 {
			b = append(b, `,"parsers":`...)
			b = appendStringArray(b, f.parsers)
		}
		if len(f.jsonPath) > 0 {
			b = append(b, `,"jsonPath":`...)
			b = appendStringArray(b, f.jsonPath)
		}
		b = append(b, '}')
	}
	b = append(b, `],"limit":`...)
	b = strconv.AppendInt(b, int64(p.limit), 10)
	writeJSON(w, append(b, '}'))
	return nil
}

// handleDetectedFieldValues lists a field's values in the newest lines (at most limit,
// the first ones met, newest lines first), sizes normalised as Loki does.
func (s *Store) handleDetectedFieldValues(w http.ResponseWriter, r *http.Request, tenantID string) error {
	name := r.PathValue("name")
	p, lines, err := s.detectionLines(r, tenantID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var vals []string
	for _, dl := range lines {
		if len(vals) >= p.limit {
			break
		}
		found, _ := logql.DetectFields(dl.line, dl.stream)
		for _, l := range dl.added {
			found = append(found, logql.DetectedField{Name: l.Name, Value: l.Value})
		}
		for _, fd := range found {
			if fd.Name != name {
				continue
			}
			if v := fieldValue(fd.Value); !seen[v] {
				seen[v] = true
				vals = append(vals, v)
			}
		}
	}
	sort.Strings(vals)
	b := appendStringArray([]byte(`{"values":`), vals)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(p.limit), 10)
	writeJSON(w, append(b, '}'))
	return nil
}

// largestFirst returns at most limit values of m, the largest total first and equal totals
// in the order of their keys, as Loki ranks volumes and patterns.
func largestFirst[V any, N int64 | float64](m map[string]V, total func(V) N, limit int) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(total(m[b]), total(m[a])); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	list := make([]V, 0, min(limit, len(keys)))
	for _, k := range keys[:min(limit, len(keys))] {
		list = append(list, m[k])
	}
	return list
}
