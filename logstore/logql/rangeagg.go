package logql

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// rangeAcc collects the samples of one output series of a range aggregation.
type rangeAcc struct {
	labels   Labels
	ts       []int64
	vs       []float64 // nil when the op only counts
	unsorted bool
}

func (a *rangeAcc) add(ts int64, v float64, keepV bool) {
	if n := len(a.ts); n > 0 && ts < a.ts[n-1] {
		a.unsorted = true
	}
	a.ts = append(a.ts, ts)
	if keepV {
		a.vs = append(a.vs, v)
	}
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
	keepV := e.Op != "count_over_time" && !(e.Op == "rate" && e.Unwrap == nil)
	accs := map[string]*rangeAcc{}
	var order []*rangeAcc
	var b labelsBuilder
	maxSeries := ev.limits.MaxSeries
	lookup := func() (*rangeAcc, error) {
		ev.keyBuf = b.appendKey(ev.keyBuf[:0], g)
		if a, ok := accs[string(ev.keyBuf)]; ok {
			return a, nil
		}
		if maxSeries > 0 && len(order) >= maxSeries {
			return nil, &LimitError{Msg: fmt.Sprintf("maximum of series (%d) reached for a single query", maxSeries)}
		}
		a := &rangeAcc{labels: b.project(g)}
		accs[string(ev.keyBuf)] = a
		order = append(order, a)
		return a, nil
	}
	u := e.Unwrap
	err := ev.q.Select(ev.ctx, e.Log.Matchers, selStart, selEnd, func(ls Labels, it EntryIterator) error {
		ev.stats.Streams++
		var streamAcc *rangeAcc
		for it.Next() {
			ent := it.At()
			ev.stats.TotalLinesProcessed++
			ev.stats.TotalBytesProcessed += int64(len(ent.Line))
			if ev.stats.TotalLinesProcessed&4095 == 0 {
				if err := ev.checkCtx(); err != nil {
					return err
				}
			}
			b.reset(ls)
			line, ok := runStages(e.Log.Stages, ent.Timestamp, ent.Line, &b)
			if !ok {
				continue
			}
			v := 1.0
			if e.Op == "bytes_over_time" || e.Op == "bytes_rate" {
				v = float64(len(line))
			}
			if u != nil {
				s, _ := b.get(u.Label)
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
			if kind, ok := b.get(ErrorLabel); ok {
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
			a.add(ent.Timestamp, v, keepV)
		}
		return it.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]*series, 0, len(order))
	var scratch []float64
	for _, a := range order {
		if a.unsorted {
			a.sort()
		}
		s := &series{labels: a.labels}
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
			val, scratch = rangeValue(e, hi-lo, vs, scratch)
			s.pts = append(s.pts, Point{T: ev.stepTime(i) / 1e6, V: val})
		}
		if len(s.pts) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
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
