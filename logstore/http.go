package logstore

import (
	"context"
	"errors"
	"github.com/flowtap/flowtap/internal/jsonstr"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flowtap/flowtap/logstore/logql"
)

// DefaultTenant is the tenant of every request when auth is off, as in Loki.
const DefaultTenant = "fake"

// Handler is the Loki HTTP API of the store.
func (s *Store) Handler() http.Handler { return s.handler }

func (s *Store) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern, route string, fn func(http.ResponseWriter, *http.Request, string) error) {
		mux.HandleFunc(pattern, s.wrap(route, fn))
	}
	// Loki answers its read endpoints to GET and to POST (form-encoded) alike.
	getPost := func(path, route string, fn func(http.ResponseWriter, *http.Request, string) error) {
		h("GET "+path, route, fn)
		h("POST "+path, route, fn)
	}
	h("POST /loki/api/v1/push", "push", s.handlePush)
	getPost("/loki/api/v1/query_range", "query_range", s.handleQueryRange)
	getPost("/loki/api/v1/query", "query", s.handleQuery)
	getPost("/loki/api/v1/labels", "labels", s.handleLabels)
	getPost("/loki/api/v1/label", "labels", s.handleLabels)
	getPost("/loki/api/v1/label/{name}/values", "label_values", s.handleLabelValues)
	getPost("/loki/api/v1/series", "series", s.handleSeries)
	getPost("/loki/api/v1/index/stats", "index_stats", s.handleIndexStats)
	getPost("/loki/api/v1/index/volume", "volume", s.handleVolume)
	getPost("/loki/api/v1/index/volume_range", "volume_range", s.handleVolumeRange)
	getPost("/loki/api/v1/detected_labels", "detected_labels", s.handleDetectedLabels)
	getPost("/loki/api/v1/detected_fields", "detected_fields", s.handleDetectedFields)
	getPost("/loki/api/v1/detected_field/{name}/values", "detected_field_values", s.handleDetectedFieldValues)
	getPost("/loki/api/v1/patterns", "patterns", s.handlePatterns)
	getPost("/loki/api/v1/format_query", "format_query", s.handleFormatQuery)
	h("GET /loki/api/v1/status/buildinfo", "buildinfo", s.handleBuildInfo)
	h("GET /loki/api/v1/drilldown-limits", "drilldown_limits", s.handleDrilldownLimits)
	h("GET /loki/api/v1/tail", "tail", s.handleTail)
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-s.ready:
			w.Write([]byte("ready\n"))
		default:
			http.Error(w, "Ingester not ready: waiting for WAL replay", http.StatusServiceUnavailable)
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	return mux
}

// wrap resolves the tenant, times the request and renders errors as Loki does: the
// status code and a plain-text message.
func (s *Store) wrap(route string, fn func(http.ResponseWriter, *http.Request, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		err := s.serve(w, r, fn)
		s.m.querySeconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
		code := http.StatusNoContent
		if err != nil {
			code = writeError(w, err)
		}
		if route == "push" {
			s.m.pushes.WithLabelValues(strconv.Itoa(code)).Inc()
		}
	}
}

func (s *Store) serve(w http.ResponseWriter, r *http.Request, fn func(http.ResponseWriter, *http.Request, string) error) error {
	tenantID := DefaultTenant
	if s.cfg.AuthEnabled {
		tenantID = r.Header.Get("X-Scope-OrgID")
		if tenantID == "" {
			return errorf(http.StatusUnauthorized, "no org id")
		}
		if err := ValidateTenant(tenantID); err != nil {
			return err
		}
	}
	select {
	case <-s.ready:
	default:
		return errorf(http.StatusServiceUnavailable, "Ingester not ready: waiting for WAL replay")
	}
	return fn(w, r, tenantID)
}

func writeError(w http.ResponseWriter, err error) int {
	code := http.StatusInternalServerError
	msg := err.Error()
	var se *Error
	switch {
	case errors.As(err, &se):
		code = se.Code
	case logql.IsClientError(err):
		code = http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		code, msg = http.StatusGatewayTimeout, "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed"
	case errors.Is(err, context.Canceled):
		code, msg = 499, "the request was cancelled by the client"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write([]byte(msg))
	return code
}

func (s *Store) handlePush(w http.ResponseWriter, r *http.Request, tenantID string) error {
	bodyBuf, rawBuf := getPushBuffer(), getPushBuffer()
	body, err := readPushBody(r, s.cfg.MaxPushBytes, *bodyBuf)
	defer putPushBuffer(bodyBuf, body)
	if err != nil {
		s.countRejected(err)
		return err
	}
	ctype := r.Header.Get("Content-Type")
	streams, raw, err := decodePush(ctype, body, s.cfg.MaxPushBytes, *rawBuf)
	defer putPushBuffer(rawBuf, raw)
	if err != nil {
		s.countRejected(err)
		return err
	}
	var walBody []byte
	if isProtoPush(ctype) {
		walBody = body
	}
	if err := s.push(r.Context(), tenantID, streams, walBody); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Store) countRejected(err error) {
	var se *Error
	reason := "bad_body"
	if errors.As(err, &se) && se.Code == http.StatusRequestEntityTooLarge {
		reason = "too_large"
	}
	s.m.rejected.WithLabelValues(reason).Inc()
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(body)
}

func (s *Store) engine(tenantID string) *logql.Engine {
	return logql.NewEngine(s.Querier(tenantID), s.limits)
}

// formParams parses the request's form and reads the query parameters from it with parse.
func formParams(r *http.Request, parse func(*http.Request, time.Time) (logql.Params, error)) (logql.Params, error) {
	if err := r.ParseForm(); err != nil {
		return logql.Params{}, badRequest("%v", err)
	}
	return parse(r, time.Now())
}

func (s *Store) handleQueryRange(w http.ResponseWriter, r *http.Request, tenantID string) error {
	p, err := formParams(r, parseRangeParams)
	if err != nil {
		return err
	}
	return s.exec(w, r.Context(), tenantID, p)
}

func (s *Store) handleQuery(w http.ResponseWriter, r *http.Request, tenantID string) error {
	p, err := formParams(r, parseInstantParams)
	if err != nil {
		return err
	}
	expr, err := logql.ParseExpr(p.Query)
	if err != nil {
		return err
	}
	if !logql.IsMetric(expr) {
		return badRequest("log queries are not supported as an instant query type, please change your query to a range query type")
	}
	return s.exec(w, r.Context(), tenantID, p)
}

func (s *Store) exec(w http.ResponseWriter, ctx context.Context, tenantID string, p logql.Params) error {
	res, err := s.engine(tenantID).Exec(ctx, p)
	if err != nil {
		return err
	}
	writeJSON(w, renderResult(make([]byte, 0, 4096), res))
	return nil
}

// selectorParam parses an optional stream selector (the query or match[] parameter).
func selectorParam(v string) ([]*logql.Matcher, error) {
	if v == "" {
		return nil, nil
	}
	return logql.ParseMatchers(v)
}

// streamsIn returns the tenant's streams matching any of the selectors (all streams when
// none) that hold data in [start, end).
func (s *Store) streamsIn(tenantID string, selectors [][]*logql.Matcher, start, end int64) []*stream {
	t := s.tenantIfExists(tenantID)
	if t == nil {
		return nil
	}
	var cand []*stream
	if len(selectors) == 0 {
		cand = t.all()
	} else {
		seen := map[*stream]bool{}
		for _, ms := range selectors {
			for _, st := range t.match(ms) {
				if !seen[st] {
					seen[st] = true
					cand = append(cand, st)
				}
			}
		}
	}
	out := cand[:0]
	for _, st := range cand {
		if lo, hi, ok := st.dataRange(); ok && hi >= start && lo < end {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (s *Store) metadataStreams(r *http.Request, tenantID string, params ...string) ([]*stream, error) {
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("%v", err)
	}
	start, end, err := parseSpan(r, time.Now())
	if err != nil {
		return nil, err
	}
	var sels [][]*logql.Matcher
	for _, name := range params {
		for _, v := range r.Form[name] {
			ms, err := selectorParam(v)
			if err != nil {
				return nil, err
			}
			if ms != nil {
				sels = append(sels, ms)
			}
		}
	}
	return s.streamsIn(tenantID, sels, start, end), nil
}

func appendStringArray(dst []byte, vs []string) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, v)
	}
	return append(dst, ']')
}

func (s *Store) handleLabels(w http.ResponseWriter, r *http.Request, tenantID string) error {
	sts, err := s.metadataStreams(r, tenantID, "query")
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for _, st := range sts {
		for _, l := range st.labels {
			set[l.Name] = true
		}
	}
	writeJSON(w, appendStringArray([]byte(`{"status":"success","data":`), sortedKeys(set)))
	w.Write([]byte("}"))
	return nil
}

func (s *Store) handleLabelValues(w http.ResponseWriter, r *http.Request, tenantID string) error {
	name := r.PathValue("name")
	sts, err := s.metadataStreams(r, tenantID, "query")
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for _, st := range sts {
		if v := st.labels.Get(name); v != "" {
			set[v] = true
		}
	}
	writeJSON(w, appendStringArray([]byte(`{"status":"success","data":`), sortedKeys(set)))
	w.Write([]byte("}"))
	return nil
}

func (s *Store) handleSeries(w http.ResponseWriter, r *http.Request, tenantID string) error {
	sts, err := s.metadataStreams(r, tenantID, "match[]", "match")
	if err != nil && allSelectorsEmpty(r) {
		// Loki takes `{}` as every stream (logcli series '{}' --analyze-labels).
		sts, err = s.metadataStreams(r, tenantID)
	}
	if err != nil {
		return err
	}
	b := []byte(`{"status":"success","data":[`)
	for i, st := range sts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabelsObject(b, st.labels)
	}
	writeJSON(w, append(b, "]}"...))
	return nil
}

// allSelectorsEmpty reports whether every match[] of a request is `{}`.
func allSelectorsEmpty(r *http.Request) bool {
	n := 0
	for _, name := range []string{"match[]", "match"} {
		for _, v := range r.Form[name] {
			if ms, err := selectorOrAll(v); err != nil || ms != nil {
				return false
			}
			n++
		}
	}
	return n > 0
}

func (s *Store) handleIndexStats(w http.ResponseWriter, r *http.Request, tenantID string) error {
	if err := r.ParseForm(); err != nil {
		return badRequest("%v", err)
	}
	start, end, err := parseSpan(r, time.Now())
	if err != nil {
		return err
	}
	ms, err := selectorParam(r.Form.Get("query"))
	if err != nil {
		return err
	}
	if ms == nil {
		return badRequest("query parameter is required: a stream selector")
	}
	var streams, chunks, entries, bytes int64
	if t := s.tenantIfExists(tenantID); t != nil {
		for _, st := range t.match(ms) {
			c, e, b := st.indexStats(start, end)
			if e > 0 {
				streams++
				chunks += c
				entries += e
				bytes += b
			}
		}
	}
	b := []byte(`{"streams":`)
	b = strconv.AppendInt(b, streams, 10)
	b = append(b, `,"chunks":`...)
	b = strconv.AppendInt(b, chunks, 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, bytes, 10)
	b = append(b, `,"entries":`...)
	b = strconv.AppendInt(b, entries, 10)
	writeJSON(w, append(b, '}'))
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
