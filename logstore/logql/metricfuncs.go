package logql

import (
	"slices"
)

// labelReplace applies label_replace to every series, as Prometheus does: when the regex
// matches the whole value of src (empty if missing), dst becomes the expanded
// replacement, and an empty result removes dst.
func (ev *evaluator) labelReplace(e *LabelReplaceExpr) (value, error) {
	in, err := ev.eval(e.Inner)
	if err != nil || in.isScalar {
		return in, err
	}
	for _, s := range in.series {
		src := s.labels.Get(e.Src)
		m := e.re.FindStringSubmatchIndex(src)
		if m == nil {
			continue
		}
		res := string(e.re.ExpandString(nil, e.Replacement, src, m))
		s.labels = withLabel(s.labels, e.Dst, res)
	}
	return in, nil
}

// withLabel returns a copy of ls with name set to v (removed when v is empty), sorted.
func withLabel(ls Labels, name, v string) Labels {
	out := make(Labels, 0, len(ls)+1)
	for _, l := range ls {
		if l.Name != name {
			out = append(out, l)
		}
	}
	if v != "" {
		out = append(out, Label{Name: name, Value: v})
		out.Sort()
	}
	return out
}

// absentOverTime is 1 at every step where the range aggregation has no sample at all,
// labelled by the selector's equality matchers (a name matched twice, or matched other
// than by equality, is left out), as in Loki.
func (ev *evaluator) absentOverTime(e *RangeAggExpr) (value, error) {
	probe := *e
	probe.Op = "count_over_time"
	in, err := ev.rangeAgg(&probe, &Grouping{})
	if err != nil {
		return value{}, err
	}
	present := make([]bool, ev.nsteps)
	for _, s := range in {
		for _, p := range s.pts {
			if i := ev.stepIndex(p.T); i >= 0 && i < ev.nsteps {
				present[i] = true
			}
		}
	}
	out := &series{labels: absentLabels(e.Log.Matchers)}
	for i, ok := range present {
		if !ok {
			out.pts = append(out.pts, Point{T: ev.stepTime(i) / 1e6, V: 1})
		}
	}
	if len(out.pts) == 0 {
		return value{}, nil
	}
	return value{series: []*series{out}}, nil
}

func absentLabels(ms []*Matcher) Labels {
	out := Labels{}
	var drop []string
	for _, m := range ms {
		if m.Type == MatchEqual && out.Get(m.Name) == "" && !slices.Contains(drop, m.Name) {
			out = append(out, Label{Name: m.Name, Value: m.Value})
		} else {
			drop = append(drop, m.Name)
		}
	}
	out = slices.DeleteFunc(out, func(l Label) bool { return slices.Contains(drop, l.Name) || l.Value == "" })
	out.Sort()
	return out
}

// rateCounter is rate_counter's value over one window of samples (ts in ns), Loki's
// Prometheus-style extrapolated counter rate. Loki measures the distance to the window
// start from the first sample minus the range in milliseconds, subtracted from
// nanosecond timestamps, so that distance is always the range in seconds and the
// distance to the window end is always zero; flowtap reproduces that arithmetic so that
// both give the same numbers.
func rateCounter(rangeSecs float64, ts []int64, vs []float64) float64 {
	if len(vs) < 2 {
		return 0
	}
	n := len(vs)
	result := vs[n-1] - vs[0]
	var last float64
	for _, v := range vs {
		if v < last {
			result += last
		}
		last = v
	}
	toStart := float64(int64(rangeSecs*1000)) / 1000
	const toEnd = 0.0
	sampled := float64(ts[n-1]-ts[0]) / 1000
	avg := sampled / float64(n-1)
	if result > 0 && vs[0] >= 0 {
		if toZero := sampled * (vs[0] / result); toZero < toStart {
			toStart = toZero
		}
	}
	threshold := avg * 1.1
	interval := sampled
	if toStart < threshold {
		interval += toStart
	} else {
		interval += avg / 2
	}
	if toEnd < threshold {
		interval += toEnd
	} else {
		interval += avg / 2
	}
	result *= interval / sampled
	return result / rangeSecs
}
