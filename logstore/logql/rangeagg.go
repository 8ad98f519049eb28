package logql

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// rangeAcc collects the samples of one output series of a range aggregation. It keeps
// the samples in a list; for counting ops (count, rate, bytes) on a series that grows past
// a few samples per step it switches to cumulative histograms on the grid instead, so
// memory is bounded by the steps and no sort is needed.
type rangeAcc struct {
	labels   Labels
	ts       []int64
	vs       []float64 // nil when the op only counts
	unsorted bool

	hist  *gridHist
	nSamp int
}

// gridHist counts samples by the first window end (hiN, hiS) and the first window start
// (loN, loS) at or after them: the samples in window k are then
// sum(hi[0..k]) - sum(lo[0..k]).
type gridHist struct {
	hiN, loN []int64
	hiS, loS []float64
}

func (a *rangeAcc) add(ev *evaluator, r *rangeSpec, ts int64, v float64) {
	a.nSamp++
	if a.hist != nil {
		a.hist.add(ev, r, ts, v)
		return
	}
	if n := len(a.ts); n > 0 && ts < a.ts[n-1] {
		a.unsorted = true
	}
	a.ts = append(a.ts, ts)
	if r.keepV {
		a.vs = append(a.vs, v)
	}
	if r.countable && len(a.ts) > 2*ev.nsteps+32 {
		h := &gridHist{hiN: make([]int64, ev.nsteps), loN: make([]int64, ev.nsteps)}
		if r.keepV {
			h.hiS, h.loS = make([]float64, ev.nsteps), make([]float64, ev.nsteps)
		}
		for i, t := range a.ts {
			var x float64
			if a.vs != nil {
				x = a.vs[i]
			}
			h.add(ev, r, t, x)
		}
		a.hist, a.ts, a.vs = h, nil, nil
	}
}

// firstAtOrAfter returns the smallest grid index k with origin+k*step >= ts, or n.
func firstAtOrAfter(ts, origin, step int64, n int) int {
	if ts <= origin {
		return 0
	}
	if step == 0 {
		return n
	}
	k := (ts - origin + step - 1) / step
	if k >= int64(n) {
		return n
	}
	return int(k)
}

func (h *gridHist) add(ev *evaluator, r *rangeSpec, ts int64, v float64) {
	end0 := ev.start - r.off
	if k := firstAtOrAfter(ts, end0, ev.step, ev.nsteps); k < ev.nsteps {
		h.hiN[k]++
		if h.hiS != nil {
			h.hiS[k] += v
		}
	}
	if k := firstAtOrAfter(ts, end0-r.rng, ev.step, ev.nsteps); k < ev.nsteps {
		h.loN[k]++
		if h.loS != nil {
			h.loS[k] += v
		}
	}
}

// intermediateSeriesFloor is the least number of series a range aggregation may hold
// before its result is aggregated.
const intermediateSeriesFloor = 100_000

// rangeSpec is what sample accumulation needs to know about the aggregation.
type rangeSpec struct {
	rng, off  int64
	keepV     bool // values are needed (not just counts)
	countable bool // count, rate or bytes: window results from counts and sums alone
}

// sort orders the samples by time; a series fed by several streams arrives in runs.
func (a *rangeAcc) sort() {
	if a.vs == nil {
		slices.Sort(a.ts)
		return
	}
	type pair struct {
		t int64
		v float64
	}
	ps := make([]pair, len(a.ts))
	for i := range ps {
		ps[i] = pair{a.ts[i], a.vs[i]}
	}
	// stable: first_over_time and last_over_time see equal timestamps in arrival order
	slices.SortStableFunc(ps, func(x, y pair) int { return cmp.Compare(x.t, y.t) })
	for i, p := range ps {
		a.ts[i], a.vs[i] = p.t, p.v
	}
}

// rangeAgg evaluates e on the grid. Series are keyed by the labels after the pipeline
// (minus the unwrapped label), reduced by g when g is set: g is the aggregation's own
// by/without, or a sum's grouping pushed down (sum by (x) (count_over_time(...)) equals
// count_over_time keyed by x, and costs one series per group instead of per label set).
func (ev *evaluator) rangeAgg(e *RangeAggExpr, g *Grouping) ([]*series, error) {
	rng, off := e.Range.Nanoseconds(), e.Offset.Nanoseconds()
	selStart := ev.start - off - rng + 1
	selEnd := ev.end - off + 1
	spec := &rangeSpec{rng: rng, off: off, keepV: e.Op != "count_over_time" && !(e.Op == "rate" && e.Unwrap == nil)}
	switch e.Op {
	case "count_over_time", "bytes_over_time", "bytes_rate":
		spec.countable = true
	case "rate":
		spec.countable = e.Unwrap == nil
	}
	accs := map[string]*rangeAcc{}
	var order []*rangeAcc
	var b labelsBuilder
	// Loki counts only the series of the result (see metricQuery); intermediate series
	// are bounded more loosely, for memory.
	maxSeries := ev.limits.MaxSeries
	if maxSeries > 0 {
		maxSeries = max(100*maxSeries, intermediateSeriesFloor)
	}
	lookup := func() (*rangeAcc, error) {
		ev.keyBuf = b.appendKey(ev.keyBuf[:0], g)
		if a, ok := accs[string(ev.keyBuf)]; ok {
			return a, nil
		}
		if maxSeries > 0 && len(order) >= maxSeries {
			return nil, &LimitError{Msg: fmt.Sprintf("maximum of series (%d) reached for a single query", ev.limits.MaxSeries)}
		}
		a := &rangeAcc{labels: b.project(g)}
		accs[string(ev.keyBuf)] = a
		order = append(order, a)
		return a, nil
	}
	u := e.Unwrap
	stages := e.Log.Stages
	// Loki's parser hints: summed into one series with no stage that reads labels, the
	// parsers do not run at all (so they neither fail nor rewrite the line), and a
	// sum by (__error__) keeps the error label as a group instead of failing.
	if g != nil && !g.Without && len(g.Labels) == 0 && u == nil && onlyFiltersAndParsers(stages) {
		stages = withoutParsers(stages)
	}
	preserveErr := g != nil && !g.Without && g.has(ErrorLabel)
	err := ev.q.Select(ev.ctx, e.Log.Matchers, selStart, selEnd, func(ls Labels, it EntryIterator) error {
		ev.stats.Streams++
		var streamAcc *rangeAcc
		for it.Next() {
			ent := it.At()
			if ev.countLine(len(ent.Line)) {
				if err := ev.checkCtx(); err != nil {
					return err
				}
			}
			b.reset(ls)
			line, ok := runStages(stages, ent.Timestamp, ent.Line, &b)
			if !ok {
				continue
			}
			v := 1.0
			if e.Op == "bytes_over_time" || e.Op == "bytes_rate" {
				v = float64(len(line))
			}
			if u != nil {
				s, _ := b.get(u.Label)
				if s == "" {
					continue // a line without the label gives no sample, as in Loki
				}
				var err error
				if v, err = convertUnwrap(u.Conv, s); err != nil {
					b.setErr(errSampleExtraction, err.Error())
				}
				b.remove(u.Label)
				for _, f := range u.Post {
					if _, ok = f.process(ent.Timestamp, line, &b); !ok {
						break
					}
				}
				if !ok {
					continue
				}
			}
			ev.stats.TotalPostFilterLines++
			if kind, ok := b.get(ErrorLabel); ok && !preserveErr {
				return &PipelineError{Err: kind, Series: b.labels()}
			}
			var a *rangeAcc
			if !b.changed() && streamAcc != nil {
				a = streamAcc
			} else {
				var err error
				if a, err = lookup(); err != nil {
					return err
				}
				if !b.changed() {
					streamAcc = a
				}
			}
			a.add(ev, spec, ent.Timestamp, v)
		}
		return it.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]*series, 0, len(order))
	var scratch []float64
	for _, a := range order {
		s := &series{labels: a.labels}
		if h := a.hist; h != nil {
			var n int64
			var sum float64
			for i := 0; i < ev.nsteps; i++ {
				n += h.hiN[i] - h.loN[i]
				if h.hiS != nil {
					sum += h.hiS[i] - h.loS[i]
				}
				if n <= 0 {
					continue
				}
				s.pts = append(s.pts, Point{T: ev.stepTime(i) / 1e6, V: countableValue(e, n, sum)})
			}
			if len(s.pts) > 0 {
				out = append(out, s)
			}
			continue
		}
		if a.unsorted {
			a.sort()
		}
		lo, hi := 0, 0
		for i := 0; i < ev.nsteps; i++ {
			t := ev.stepTime(i) - off
			for hi < len(a.ts) && a.ts[hi] <= t {
				hi++
			}
			for lo < hi && a.ts[lo] <= t-rng {
				lo++
			}
			if lo == hi {
				continue
			}
			var vs []float64
			if a.vs != nil {
				vs = a.vs[lo:hi]
			}
			var val float64
			if e.Op == "rate_counter" {
				val = rateCounter(e.Range.Seconds(), a.ts[lo:hi], vs)
			} else {
				val, scratch = rangeValue(e, hi-lo, vs, scratch)
			}
			s.pts = append(s.pts, Point{T: ev.stepTime(i) / 1e6, V: val})
		}
		if len(s.pts) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// countableValue is a counting op's result for a window of n samples summing to sum.
func countableValue(e *RangeAggExpr, n int64, sum float64) float64 {
	switch e.Op {
	case "count_over_time":
		return float64(n)
	case "rate":
		return float64(n) / e.Range.Seconds()
	case "bytes_rate":
		return sum / e.Range.Seconds()
	}
	return sum
}

// rangeValue aggregates one window of n samples (values vs, nil when counting).
func rangeValue(e *RangeAggExpr, n int, vs []float64, scratch []float64) (float64, []float64) {
	secs := e.Range.Seconds()
	switch e.Op {
	case "count_over_time":
		return float64(n), scratch
	case "rate":
		if vs == nil {
			return float64(n) / secs, scratch
		}
		return sum(vs) / secs, scratch
	case "bytes_over_time", "sum_over_time":
		return sum(vs), scratch
	case "bytes_rate":
		return sum(vs) / secs, scratch
	case "avg_over_time":
		var mean float64
		for i, v := range vs {
			mean += (v - mean) / float64(i+1)
		}
		return mean, scratch
	case "min_over_time":
		m := vs[0]
		for _, v := range vs[1:] {
			if v < m || math.IsNaN(m) {
				m = v
			}
		}
		return m, scratch
	case "max_over_time":
		m := vs[0]
		for _, v := range vs[1:] {
			if v > m || math.IsNaN(m) {
				m = v
			}
		}
		return m, scratch
	case "stddev_over_time", "stdvar_over_time":
		var mean, m2 float64
		for i, v := range vs {
			d := v - mean
			mean += d / float64(i+1)
			m2 += d * (v - mean)
		}
		variance := m2 / float64(len(vs))
		if e.Op == "stddev_over_time" {
			return math.Sqrt(variance), scratch
		}
		return variance, scratch
	case "quantile_over_time":
		scratch = append(scratch[:0], vs...)
		slices.Sort(scratch)
		return quantile(e.Param, scratch), scratch
	case "first_over_time":
		return vs[0], scratch
	case "last_over_time":
		return vs[len(vs)-1], scratch
	}
	return math.NaN(), scratch
}

func sum(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}

// quantile is Prometheus's: linear interpolation between the closest ranks of sorted vs.
func quantile(q float64, sorted []float64) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	n := float64(len(sorted))
	rank := q * (n - 1)
	lo := math.Max(0, math.Floor(rank))
	hi := math.Min(n-1, lo+1)
	w := rank - lo
	return sorted[int(lo)]*(1-w) + sorted[int(hi)]*w
}

// convertUnwrap turns a label value into a sample value.
func convertUnwrap(conv, s string) (float64, error) {
	switch conv {
	case "duration", "duration_seconds":
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, err
		}
		return d.Seconds(), nil
	case "bytes":
		n, err := parseBytes(s)
		return float64(n), err
	}
	return strconv.ParseFloat(s, 64)
}

// onlyFiltersAndParsers reports whether a pipeline reads no label: line filters and
// parsers only.
func onlyFiltersAndParsers(stages []Stage) bool {
	for _, st := range stages {
		switch st.(type) {
		case *LineFilterStage, *JSONStage, *LogfmtStage, *PatternStage, *RegexpStage, *UnpackStage, DecolorizeStage:
		default:
			return false
		}
	}
	return true
}

// withoutParsers drops the parsers of a pipeline whose labels nobody reads.
func withoutParsers(stages []Stage) []Stage {
	out := make([]Stage, 0, len(stages))
	for _, st := range stages {
		switch st.(type) {
		case *JSONStage, *LogfmtStage, *PatternStage, *RegexpStage, *UnpackStage:
			continue
		}
		out = append(out, st)
	}
	return out
}
