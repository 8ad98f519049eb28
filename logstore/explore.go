package logstore

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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
		return err
	}
	writeJSON(w, jsonstr.Append([]byte(`{"status":"success","data":`), expr.String()))
	w.Write([]byte("}"))
	return nil
}

// handleDrilldownLimits answers Logs Drilldown's configuration probe with the tenant's
// limits in Loki's names.
func (s *Store) handleDrilldownLimits(w http.ResponseWriter, _ *http.Request, tenantID string) error {
	lim := s.limitsFor(tenantID)
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
			"max_global_streams_per_user": lim.MaxGlobalStreamsPerUser,
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
		return p, badRequest("query parameter is required")
	}
	ms, err := selectorOrAll(q)
	if err != nil {
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
		return p, badRequest("invalid aggregation option %q, must be series or labels", a)
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

// volumeKeys are the series a stream's bytes count toward: the target labels (or the
// selector's labels) it has, or with aggregateBy=labels one series per label name.
func (p *volumeParams) volumeKeys(ls logql.Labels) []logql.Labels {
	names := p.target
	if len(names) == 0 && !p.byLabels {
		names = p.matchedKeys
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
		if v := ls.Get(n); v != "" {
			key = append(key, logql.Label{Name: n, Value: v})
		}
	}
	if len(key) == 0 {
		return nil
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
	stepMs := p.step.Milliseconds()
	startMs := p.start / 1e6
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
		// A point at t holds the bytes of (t-step, t], t on the start+k*step grid.
		ms := e.Timestamp / 1e6
		k := (ms - startMs + stepMs - 1) / stepMs
		t := startMs + max(k, 0)*stepMs
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
	list := make([]*agg, 0, len(aggs))
	for _, a := range aggs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].total != list[j].total {
			return list[i].total > list[j].total
		}
		return list[i].labels.String() < list[j].labels.String()
	})
	if len(list) > p.limit {
		list = list[:p.limit]
	}
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
	typ     string
	values  map[string]bool
	parsers []string
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
	if isBytes(v) {
		return "bytes"
	}
	return "string"
}

// isBytes reports whether v is a size such as "10KB", "1.5 MiB" or "42b".
func isBytes(v string) bool {
	v = strings.TrimSpace(v)
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i == 0 {
		return false
	}
	if _, err := strconv.ParseFloat(v[:i], 64); err != nil {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(v[i:])) {
	case "b", "kb", "kib", "mb", "mib", "gb", "gib", "tb", "tib", "pb", "pib", "eb", "eib", "k", "m", "g", "t", "p", "e":
		return true
	}
	return false
}

// parseFields extracts a line's fields as Loki's detection does: JSON (flattened with
// "_"), else logfmt; it returns the parser used, or "" when neither applies.
func parseFields(line string) (map[string]string, string) {
	t := strings.TrimSpace(line)
	if strings.HasPrefix(t, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(t), &m) == nil {
			out := map[string]string{}
			flattenJSON("", m, out)
			return out, "json"
		}
	}
	out := map[string]string{}
	for _, tok := range logfmtTokens(line) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || k == "" || !validLabelName(sanitizeName(k)) {
			continue
		}
		out[sanitizeName(k)] = strings.Trim(v, `"`)
	}
	if len(out) == 0 {
		return nil, ""
	}
	return out, "logfmt"
}

func flattenJSON(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		name := sanitizeName(k)
		if prefix != "" {
			name = prefix + "_" + name
		}
		switch x := v.(type) {
		case map[string]any:
			flattenJSON(name, x, out)
		case string:
			out[name] = x
		case float64:
			out[name] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[name] = strconv.FormatBool(x)
		case nil:
		default:
			b, _ := json.Marshal(x)
			out[name] = string(b)
		}
	}
}

// sanitizeName turns a key into a label name the way Loki's parsers do.
func sanitizeName(k string) string {
	b := []byte(k)
	for i, c := range b {
		if !isNameChar(c, i == 0) && !(i == 0 && c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// logfmtTokens splits a line into space-separated tokens, keeping quoted values whole.
func logfmtTokens(line string) []string {
	var out []string
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		inQ := false
		for j < len(line) && (inQ || line[j] != ' ') {
			if line[j] == '"' && (j == 0 || line[j-1] != '\\') {
				inQ = !inQ
			}
			j++
		}
		if j > i {
			out = append(out, line[i:j])
		}
		i = j
	}
	return out
}

// detectFields runs the query's log selection (backward, lineLimit lines) and parses
// every line's fields.
func (s *Store) detectFields(r *http.Request, tenantID string) (map[string]*detectedField, int, error) {
	if err := r.ParseForm(); err != nil {
		return nil, 0, badRequest("%v", err)
	}
	start, end, err := parseSpan(r, time.Now())
	if err != nil {
		return nil, 0, err
	}
	limit, lineLimit := 1000, 1000
	if v := r.Form.Get("limit"); v != "" {
		if limit, err = parseLimit(v); err != nil {
			return nil, 0, err
		}
	}
	if v := r.Form.Get("line_limit"); v != "" {
		if lineLimit, err = parseLimit(v); err != nil {
			return nil, 0, err
		}
	}
	q := r.Form.Get("query")
	if strings.TrimSpace(q) == "" {
		return nil, 0, badRequest("query parameter is required")
	}
	expr, err := logql.ParseExpr(q)
	if err != nil {
		return nil, 0, err
	}
	if logql.IsMetric(expr) {
		return nil, 0, badRequest("only log queries are supported by detected fields")
	}
	res, err := s.engine(tenantID).Exec(r.Context(), logql.Params{Query: q, Start: time.Unix(0, start), End: time.Unix(0, end),
		Limit: min(lineLimit, max(s.cfg.MaxEntriesLimit, 1)), Direction: logql.Backward})
	if err != nil {
		return nil, 0, err
	}
	fields := map[string]*detectedField{}
	for _, st := range res.Streams {
		for _, e := range st.Entries {
			kv, parser := parseFields(e.Line)
			for k, v := range kv {
				f := fields[k]
				if f == nil {
					if len(fields) >= limit {
						continue
					}
					f = &detectedField{typ: fieldType(v), values: map[string]bool{}}
					fields[k] = f
				}
				if !slices.Contains(f.parsers, parser) {
					f.parsers = append(f.parsers, parser)
				}
				f.values[v] = true
			}
		}
	}
	return fields, limit, nil
}

func (s *Store) handleDetectedFields(w http.ResponseWriter, r *http.Request, tenantID string) error {
	fields, limit, err := s.detectFields(r, tenantID)
	if err != nil {
		return err
	}
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
		b = append(b, `,"parsers":`...)
		b = appendStringArray(b, f.parsers)
		b = append(b, '}')
	}
	b = append(b, `],"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	writeJSON(w, append(b, '}'))
	return nil
}

func (s *Store) handleDetectedFieldValues(w http.ResponseWriter, r *http.Request, tenantID string) error {
	name := r.PathValue("name")
	fields, limit, err := s.detectFields(r, tenantID)
	if err != nil {
		return err
	}
	var vals []string
	if f := fields[name]; f != nil {
		for v := range f.values {
			vals = append(vals, v)
		}
	}
	sort.Strings(vals)
	if len(vals) > limit {
		vals = vals[:limit]
	}
	b := appendStringArray([]byte(`{"values":`), vals)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	writeJSON(w, append(b, '}'))
	return nil
}

// patternOf turns a line into its pattern: tokens holding a digit (numbers, addresses,
// IDs, timestamps) become <_>, as the variable parts Loki's pattern detection finds.
func patternOf(line string) string {
	toks := strings.Fields(line)
	for i, t := range toks {
		if strings.ContainsAny(t, "0123456789") {
			toks[i] = "<_>"
		}
	}
	return strings.Join(toks, " ")
}

// maxPatterns bounds the patterns of one answer.
const maxPatterns = 300

func (s *Store) handlePatterns(w http.ResponseWriter, r *http.Request, tenantID string) error {
	start, end, ms, err := spanAndSelector(r)
	if err != nil {
		return err
	}
	step := defaultStep(time.Unix(0, start), time.Unix(0, end))
	if v := r.Form.Get("step"); v != "" {
		if step, err = ParseDuration(v); err != nil || step <= 0 {
			return badRequest("invalid step %q", v)
		}
	}
	type pat struct {
		text    string
		total   int64
		samples map[int64]int64
	}
	pats := map[string]*pat{}
	stepNs := step.Nanoseconds()
	err = s.eachEntry(r.Context(), tenantID, ms, start, end, func(_ *stream, e logql.Entry) {
		p := patternOf(e.Line)
		x := pats[p]
		if x == nil {
			if len(pats) >= 10*maxPatterns {
				return
			}
			x = &pat{text: p, samples: map[int64]int64{}}
			pats[p] = x
		}
		x.total++
		x.samples[e.Timestamp/stepNs*stepNs/1e9]++
	})
	if err != nil {
		return err
	}
	list := make([]*pat, 0, len(pats))
	for _, p := range pats {
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].total != list[j].total {
			return list[i].total > list[j].total
		}
		return list[i].text < list[j].text
	})
	if len(list) > maxPatterns {
		list = list[:maxPatterns]
	}
	b := []byte(`{"status":"success","data":[`)
	for i, p := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"pattern":`...)
		b = jsonstr.Append(b, p.text)
		b = append(b, `,"samples":[`...)
		ts := make([]int64, 0, len(p.samples))
		for t := range p.samples {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for j, t := range ts {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, t, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, p.samples[t], 10)
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	writeJSON(w, append(b, "]}"...))
	return nil
}
