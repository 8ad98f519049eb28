package logql

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Engine evaluates LogQL queries over a Querier. It is safe for concurrent use; each
// Exec parses its own query.
type Engine struct {
	q      Querier
	limits Limits
}

// NewEngine returns an engine reading from q, bounded by limits.
func NewEngine(q Querier, limits Limits) *Engine { return &Engine{q: q, limits: limits} }

// maxPoints is Prometheus's and Loki's cap on points per series of a range query.
const maxPoints = 11000

// defaultLimit is Loki's default entry limit of a log query.
const defaultLimit = 100

// QueryError is a query that parsed but cannot be evaluated (for example ambiguous
// vector matching); the API maps it to 400.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

// DefaultStep is Loki's default step for a range query over [start, end]: the range
// divided into 250 points, at least 1s.
func DefaultStep(start, end time.Time) time.Duration {
	s := math.Floor(end.Sub(start).Seconds() / 250)
	return time.Duration(math.Max(s, 1)) * time.Second
}

// Exec runs one query. Errors for which IsClientError is true are the caller's fault;
// a timeout returns an error wrapping context.DeadlineExceeded.
func (e *Engine) Exec(ctx context.Context, p Params) (*Result, error) {
	began := time.Now()
	expr, err := ParseExpr(p.Query)
	if err != nil {
		return nil, err
	}
	if p.End.Before(p.Start) {
		return nil, &QueryError{Msg: "end timestamp must not be before start time"}
	}
	if p.Instant {
		p.Start = p.End
	}
	if l := e.limits.MaxQueryRange; l > 0 && p.End.Sub(p.Start) > l {
		return nil, &LimitError{Msg: fmt.Sprintf("the query time range exceeds the limit (query length: %s, limit: %s)", p.End.Sub(p.Start), l)}
	}
	if e.limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.limits.Timeout)
		defer cancel()
	}
	ev := &evaluator{ctx: ctx, q: e.q, limits: e.limits, p: p}
	var res *Result
	if le, ok := expr.(*LogExpr); ok {
		if p.Instant {
			return nil, &QueryError{Msg: "log queries are not supported as an instant query type, please change your query to a range query type"}
		}
		res, err = ev.logQuery(le)
	} else {
		res, err = ev.metricQuery(expr)
	}
	if err != nil {
		if ctx.Err() != nil && !IsClientError(err) {
			return nil, fmt.Errorf("logql: query %s: %w", p.Query, ctx.Err())
		}
		return nil, err
	}
	res.Stats = ev.stats
	res.Stats.ExecTime = time.Since(began)
	return res, nil
}

// evaluator is the state of one Exec.
type evaluator struct {
	ctx    context.Context
	q      Querier
	limits Limits
	p      Params
	stats  Stats

	// metric evaluation grid in Unix ns: start, start+step, ... <= end.
	start, end, step int64
	nsteps           int
	keyBuf           []byte
}

// checkCtx is called every few thousand lines.
// countLine counts a line of n bytes read from the store and says when (every 4096 lines)
// to check that the query may go on. Small enough to be inlined in the scan loops.
func (ev *evaluator) countLine(n int) (check bool) {
	ev.stats.TotalLinesProcessed++
	ev.stats.TotalBytesProcessed += int64(n)
	return ev.stats.TotalLinesProcessed&4095 == 0
}

func (ev *evaluator) checkCtx() error { return ev.ctx.Err() }

// stepIndex returns the grid index of t (ms) or -1.
func (ev *evaluator) stepIndex(tms int64) int {
	// The inverse of stepTime(i)/1e6: points carry milliseconds while the grid is in
	// nanoseconds, so a query time with a sub-millisecond part (an instant query at "now")
	// must still find its step.
	d := tms*1e6 - ev.start
	if d <= -1e6 {
		return -1
	}
	if ev.step == 0 {
		if d <= 0 {
			return 0
		}
		return -1
	}
	if d <= 0 {
		return 0
	}
	return int((d + ev.step - 1) / ev.step)
}

func (ev *evaluator) stepTime(i int) int64 { return ev.start + int64(i)*ev.step }

// ---- log queries ----

type heapEntry struct {
	ts     int64
	seq    int64
	line   string
	stream int32
}

func (ev *evaluator) logQuery(le *LogExpr) (*Result, error) {
	limit := ev.p.Limit
	if limit <= 0 {
		limit = defaultLimit
		if m := ev.limits.MaxLines; m > 0 && m < limit {
			limit = m
		}
	}
	if m := ev.limits.MaxLines; m > 0 && limit > m {
		return nil, &LimitError{Msg: fmt.Sprintf("max entries limit per query exceeded, limit > max_entries_limit (%d > %d)", limit, m)}
	}
	forward := ev.p.Direction == Forward
	// better reports whether a should be kept over b.
	better := func(a, b *heapEntry) bool {
		if a.ts != b.ts {
			return (a.ts < b.ts) == forward
		}
		return a.seq < b.seq
	}
	// h is a heap whose root is the worst kept entry.
	var h []heapEntry
	push := func(x heapEntry) {
		if len(h) < limit {
			h = append(h, x)
			i := len(h) - 1
			for i > 0 {
				parent := (i - 1) / 2
				if !better(&h[parent], &h[i]) {
					break
				}
				h[parent], h[i] = h[i], h[parent]
				i = parent
			}
			return
		}
		if !better(&x, &h[0]) {
			return
		}
		h[0] = x
		i := 0
		for {
			l, r, w := 2*i+1, 2*i+2, i
			if l < len(h) && better(&h[w], &h[l]) {
				w = l
			}
			if r < len(h) && better(&h[w], &h[r]) {
				w = r
			}
			if w == i {
				break
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}

	var outLabels []Labels
	outIndex := map[string]int32{}
	intern := func(b *labelsBuilder) int32 {
		ev.keyBuf = b.appendKey(ev.keyBuf[:0], nil)
		if i, ok := outIndex[string(ev.keyBuf)]; ok {
			return i
		}
		i := int32(len(outLabels))
		outLabels = append(outLabels, b.labels())
		outIndex[string(ev.keyBuf)] = i
		return i
	}
	var b labelsBuilder
	var seq int64
	interval := ev.p.Interval.Nanoseconds()
	// Backward without an interval, a ReverseQuerier lets each stream stop at the first
	// entry older than the worst kept one. seq then encodes the forward visiting order
	// (stream, then position in ascending time), so ties break exactly as when reading
	// forward and both ways return the same entries.
	selectFn := ev.q.Select
	rq, reverse := ev.q.(ReverseQuerier)
	if reverse = reverse && !forward && interval == 0; reverse {
		selectFn = rq.SelectReverse
	}
	var streamNo int64
	err := selectFn(ev.ctx, le.Matchers, ev.p.Start.UnixNano(), ev.p.End.UnixNano(), func(ls Labels, it EntryIterator) error {
		ev.stats.Streams++
		streamNo++
		kept := int64(0)
		baseIdx := int32(-1)
		lastKept := int64(math.MinInt64)
		for it.Next() {
			ent := it.At()
			if ev.countLine(len(ent.Line)) {
				if err := ev.checkCtx(); err != nil {
					return err
				}
			}
			if forward && len(h) == limit && ent.Timestamp > h[0].ts {
				break // ascending: nothing later in this stream can be kept
			}
			if reverse && len(h) == limit && ent.Timestamp < h[0].ts {
				break // descending: nothing earlier in this stream can be kept
			}
			if interval > 0 && lastKept != math.MinInt64 && ent.Timestamp < lastKept+interval {
				continue
			}
			b.reset(ls)
			line, ok := runStages(le.Stages, ent.Timestamp, ent.Line, &b)
			if !ok {
				continue
			}
			ev.stats.TotalPostFilterLines++
			lastKept = ent.Timestamp
			var idx int32
			if !b.changed() {
				if baseIdx < 0 {
					baseIdx = intern(&b)
				}
				idx = baseIdx
			} else {
				idx = intern(&b)
			}
			seq++
			if reverse {
				kept++
				seq = streamNo<<40 - kept // earlier in the stream: smaller, as forward
			}
			push(heapEntry{ts: ent.Timestamp, seq: seq, line: line, stream: idx})
		}
		return it.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(h, func(a, b heapEntry) int {
		if better(&a, &b) {
			return -1
		}
		if better(&b, &a) {
			return 1
		}
		return 0
	})
	byStream := map[int32]int{}
	var streams []Stream
	for _, x := range h {
		i, ok := byStream[x.stream]
		if !ok {
			i = len(streams)
			byStream[x.stream] = i
			streams = append(streams, Stream{Labels: outLabels[x.stream]})
		}
		streams[i].Entries = append(streams[i].Entries, Entry{Timestamp: x.ts, Line: x.line})
	}
	slices.SortFunc(streams, func(a, b Stream) int { return compareLabels(a.Labels, b.Labels) })
	ev.stats.TotalEntriesReturned = int64(len(h))
	return &Result{Type: ResultStreams, Streams: streams}, nil
}

// runStages applies a pipeline to one line.
func runStages(stages []Stage, ts int64, line string, b *labelsBuilder) (string, bool) {
	for _, s := range stages {
		var ok bool
		if line, ok = s.process(ts, line, b); !ok {
			return line, false
		}
	}
	return line, true
}

// compareLabels orders label sets as Prometheus does.
func compareLabels(a, b Labels) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// ---- metric queries ----

// series is one label set with points on the evaluation grid, in time order.
type series struct {
	labels Labels
	pts    []Point
}

// value is an evaluated sub-expression: a scalar or a set of series.
type value struct {
	isScalar bool
	scalar   float64
	series   []*series
}

func (ev *evaluator) metricQuery(expr Expr) (*Result, error) {
	ev.start, ev.end = ev.p.Start.UnixNano(), ev.p.End.UnixNano()
	if ev.p.Instant {
		ev.step, ev.nsteps = 0, 1
	} else {
		step := ev.p.Step
		if step <= 0 {
			step = DefaultStep(ev.p.Start, ev.p.End)
		}
		ev.step = step.Nanoseconds()
		// Loki's query frontend splits metric queries by interval and aligns them to
		// the step on the way: start rounds down and end up to a multiple of it.
		ev.start -= ev.start % ev.step
		if m := ev.end % ev.step; m != 0 {
			ev.end += ev.step - m
		}
		n := (ev.end-ev.start)/ev.step + 1
		if n > maxPoints {
			return nil, &LimitError{Msg: "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"}
		}
		ev.nsteps = int(n)
	}
	v, err := ev.eval(expr)
	if err != nil {
		return nil, err
	}
	if !v.isScalar {
		n := 0
		for _, s := range v.series {
			if len(s.pts) > 0 {
				n++
			}
		}
		if m := ev.limits.MaxSeries; m > 0 && n > m {
			return nil, &LimitError{Msg: fmt.Sprintf("maximum of series (%d) reached for a single query", m)}
		}
	}
	if ev.p.Instant {
		t := ev.end / 1e6
		if v.isScalar {
			return &Result{Type: ResultScalar, Scalar: &Point{T: t, V: v.scalar}}, nil
		}
		vec := make([]Sample, 0, len(v.series))
		for _, s := range v.series {
			if len(s.pts) > 0 {
				vec = append(vec, Sample{Labels: s.labels, T: t, V: s.pts[0].V})
			}
		}
		sortVector(expr, vec)
		ev.stats.TotalEntriesReturned = int64(len(vec))
		return &Result{Type: ResultVector, Vector: vec}, nil
	}
	var out []Series
	if v.isScalar {
		s := Series{Labels: Labels{}}
		for i := 0; i < ev.nsteps; i++ {
			s.Points = append(s.Points, Point{T: ev.stepTime(i) / 1e6, V: v.scalar})
		}
		out = append(out, s)
	} else {
		for _, s := range v.series {
			if len(s.pts) > 0 {
				out = append(out, Series{Labels: s.labels, Points: s.pts})
				ev.stats.TotalEntriesReturned += int64(len(s.pts))
			}
		}
	}
	slices.SortFunc(out, func(a, b Series) int { return compareLabels(a.Labels, b.Labels) })
	return &Result{Type: ResultMatrix, Matrix: out}, nil
}

// sortVector orders an instant result as Loki does: by value for sort (ascending) and
// sort_desc, by labels otherwise (topk and bottomk included).
func sortVector(expr Expr, vec []Sample) {
	if va, ok := expr.(*VectorAggExpr); ok && (va.Op == "sort" || va.Op == "sort_desc") {
		desc := va.Op == "sort_desc"
		slices.SortStableFunc(vec, func(a, b Sample) int {
			if a.V != b.V {
				if (a.V > b.V) == desc {
					return -1
				}
				return 1
			}
			return compareLabels(a.Labels, b.Labels)
		})
		return
	}
	slices.SortFunc(vec, func(a, b Sample) int { return compareLabels(a.Labels, b.Labels) })
}

func (ev *evaluator) eval(expr Expr) (value, error) {
	switch e := expr.(type) {
	case *LiteralExpr:
		return value{isScalar: true, scalar: e.Val}, nil
	case *RangeAggExpr:
		if e.Op == "absent_over_time" {
			return ev.absentOverTime(e)
		}
		s, err := ev.rangeAgg(e, e.Grouping)
		return value{series: s}, err
	case *VectorAggExpr:
		return ev.vectorAgg(e)
	case *BinaryExpr:
		return ev.binary(e)
	case *VectorExpr:
		s := &series{labels: Labels{}, pts: make([]Point, ev.nsteps)}
		for i := range s.pts {
			s.pts[i] = Point{T: ev.stepTime(i) / 1e6, V: e.Val}
		}
		return value{series: []*series{s}}, nil
	case *LabelReplaceExpr:
		return ev.labelReplace(e)
	}
	return value{}, &QueryError{Msg: fmt.Sprintf("unexpected expression %s", expr)}
}

func errorsIsCtx(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
