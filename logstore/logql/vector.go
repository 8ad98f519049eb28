package logql

import (
	"fmt"
	"math"
	"slices"
)

// pushdownOps are range aggregations whose sum over series equals the aggregation over
// the union of the series' samples.
var pushdownOps = map[string]bool{"count_over_time": true, "rate": true, "bytes_over_time": true, "bytes_rate": true, "sum_over_time": true}

func (ev *evaluator) vectorAgg(e *VectorAggExpr) (value, error) {
	if ra, ok := e.Inner.(*RangeAggExpr); ok && e.Op == "sum" && ra.Grouping == nil && pushdownOps[ra.Op] {
		g := e.Grouping
		if g == nil {
			g = &Grouping{}
		}
		s, err := ev.rangeAgg(ra, g)
		return value{series: s}, err
	}
	in, err := ev.eval(e.Inner)
	if err != nil {
		return value{}, err
	}
	if in.isScalar {
		return value{}, &QueryError{Msg: "unexpected literal for " + e.Op + " aggregation"}
	}
	if e.Op == "sort" || e.Op == "sort_desc" {
		return in, nil // only the order of an instant result changes: see sortVector
	}
	g := e.Grouping
	if g == nil {
		g = &Grouping{}
	}
	// group the series once; aggregation then runs per group and step.
	type group struct {
		labels  Labels
		members []*series
	}
	var groups []*group
	index := map[string]*group{}
	var key []byte
	for _, s := range in.series {
		key = projectKey(key[:0], s.labels, g)
		gr, ok := index[string(key)]
		if !ok {
			gr = &group{labels: projectLabels(s.labels, g)}
			index[string(key)] = gr
			groups = append(groups, gr)
		}
		gr.members = append(gr.members, s)
	}
	var out []*series
	if e.Op == "topk" || e.Op == "bottomk" {
		res := map[*series]*series{}
		type cand struct {
			s *series
			v float64
		}
		var cands []cand
		for _, gr := range groups {
			// per step, the k best members
			cursor := make([]int, len(gr.members))
			for i := 0; i < ev.nsteps; i++ {
				t := ev.stepTime(i) / 1e6
				cands = cands[:0]
				for j, m := range gr.members {
					if c := cursor[j]; c < len(m.pts) && m.pts[c].T == t {
						cands = append(cands, cand{m, m.pts[c].V})
						cursor[j]++
					}
				}
				slices.SortStableFunc(cands, func(a, b cand) int {
					if a.v == b.v || math.IsNaN(a.v) && math.IsNaN(b.v) {
						return compareLabels(a.s.labels, b.s.labels) // ties: smaller labels first
					}
					better := a.v > b.v || math.IsNaN(b.v)
					if e.Op == "bottomk" {
						better = a.v < b.v || math.IsNaN(b.v)
					}
					if better {
						return -1
					}
					return 1
				})
				for _, c := range cands[:min(e.Param, len(cands))] {
					o, ok := res[c.s]
					if !ok {
						o = &series{labels: c.s.labels}
						res[c.s] = o
						out = append(out, o)
					}
					o.pts = append(o.pts, Point{T: t, V: c.v})
				}
			}
		}
		return value{series: out}, nil
	}
	type acc struct {
		n             int
		sum, min, max float64
		mean, m2      float64
	}
	accs := make([]acc, ev.nsteps)
	for _, gr := range groups {
		clear(accs)
		for _, m := range gr.members {
			for _, p := range m.pts {
				i := ev.stepIndex(p.T)
				if i < 0 || i >= len(accs) {
					continue
				}
				a := &accs[i]
				a.n++
				a.sum += p.V
				if a.n == 1 || p.V < a.min || math.IsNaN(a.min) {
					a.min = p.V
				}
				if a.n == 1 || p.V > a.max || math.IsNaN(a.max) {
					a.max = p.V
				}
				d := p.V - a.mean
				a.mean += d / float64(a.n)
				a.m2 += d * (p.V - a.mean)
			}
		}
		s := &series{labels: gr.labels}
		for i := range accs {
			a := &accs[i]
			if a.n == 0 {
				continue
			}
			var v float64
			switch e.Op {
			case "sum":
				v = a.sum
			case "avg":
				v = a.mean
			case "min":
				v = a.min
			case "max":
				v = a.max
			case "count":
				v = float64(a.n)
			case "stdvar":
				v = a.m2 / float64(a.n)
			case "stddev":
				v = math.Sqrt(a.m2 / float64(a.n))
			default:
				return value{}, &QueryError{Msg: "unsupported aggregation " + e.Op}
			}
			s.pts = append(s.pts, Point{T: ev.stepTime(i) / 1e6, V: v})
		}
		out = append(out, s)
	}
	return value{series: out}, nil
}

// projectKey encodes ls reduced by g (by keeps, without drops).
func projectKey(dst []byte, ls Labels, g *Grouping) []byte {
	for _, l := range ls {
		if l.Value != "" && g.has(l.Name) != g.Without {
			dst = appendKV(dst, l.Name, l.Value)
		}
	}
	return dst
}

func projectLabels(ls Labels, g *Grouping) Labels {
	out := Labels{}
	for _, l := range ls {
		if l.Value != "" && g.has(l.Name) != g.Without {
			out = append(out, l)
		}
	}
	return out
}

// ---- binary operations ----

// scalarBinop applies op to two numbers; ok is false for a false comparison (when the
// result is not asked as bool).
func scalarBinop(op string, l, r float64, returnBool bool) (float64, bool) {
	switch op {
	case "+":
		return l + r, true
	case "-":
		return l - r, true
	case "*":
		return l * r, true
	case "/":
		if r == 0 {
			return math.NaN(), true // Loki, unlike Prometheus, answers NaN, not ±Inf
		}
		return l / r, true
	case "%":
		if r == 0 {
			return math.NaN(), true
		}
		return math.Mod(l, r), true
	case "^":
		return math.Pow(l, r), true
	}
	t := compare(op, l, r)
	if returnBool {
		if t {
			return 1, true
		}
		return 0, true
	}
	return l, t
}

func (ev *evaluator) binary(e *BinaryExpr) (value, error) {
	lhs, err := ev.eval(e.LHS)
	if err != nil {
		return value{}, err
	}
	rhs, err := ev.eval(e.RHS)
	if err != nil {
		return value{}, err
	}
	switch {
	case lhs.isScalar && rhs.isScalar:
		v, _ := scalarBinop(e.Op, lhs.scalar, rhs.scalar, true)
		return value{isScalar: true, scalar: v}, nil
	case lhs.isScalar || rhs.isScalar:
		vec, sc, swap := lhs, rhs.scalar, false
		if lhs.isScalar {
			vec, sc, swap = rhs, lhs.scalar, true
		}
		out := make([]*series, 0, len(vec.series))
		for _, s := range vec.series {
			o := &series{labels: s.labels}
			for _, p := range s.pts {
				l, r := p.V, sc
				if swap {
					l, r = r, l
				}
				v, keep := scalarBinop(e.Op, l, r, e.ReturnBool)
				if !keep {
					continue
				}
				if isComparison(e.Op) && !e.ReturnBool {
					v = p.V // comparisons keep the vector's value
				}
				o.pts = append(o.pts, Point{T: p.T, V: v})
			}
			if len(o.pts) > 0 {
				out = append(out, o)
			}
		}
		return value{series: out}, nil
	}
	return ev.vectorBinop(e, lhs.series, rhs.series)
}

// dense is a series laid out on the grid.
type dense struct {
	s   *series
	v   []float64
	has []bool
}

// resultSet gathers the series of a binary operation's result in the order they first
// appear, with at most one point per series and step.
type resultSet struct {
	nsteps int
	byKey  map[string]*dense
	order  []*dense
}

func newResultSet(nsteps int) *resultSet {
	return &resultSet{nsteps: nsteps, byKey: map[string]*dense{}}
}

// add puts p at step i of the series with labels (key is their labelsKey); a second point
// at the same step means the matching was not unique, which is an error.
func (r *resultSet) add(key string, labels Labels, i int, p Point) error {
	d, ok := r.byKey[key]
	if !ok {
		d = &dense{s: &series{labels: labels}, has: make([]bool, r.nsteps)}
		r.byKey[key] = d
		r.order = append(r.order, d)
	}
	if d.has[i] {
		return &QueryError{Msg: fmt.Sprintf("multiple matches for labels: grouping labels must ensure unique matches (%s)", labels)}
	}
	d.has[i] = true
	d.s.pts = append(d.s.pts, p)
	return nil
}

func (r *resultSet) value() value {
	res := make([]*series, 0, len(r.order))
	for _, d := range r.order {
		res = append(res, d.s)
	}
	return value{series: res}
}

func (ev *evaluator) toDense(s *series) *dense {
	d := &dense{s: s, v: make([]float64, ev.nsteps), has: make([]bool, ev.nsteps)}
	for _, p := range s.pts {
		if i := ev.stepIndex(p.T); i >= 0 && i < ev.nsteps {
			d.v[i], d.has[i] = p.V, true
		}
	}
	return d
}

func (ev *evaluator) vectorBinop(e *BinaryExpr, lhs, rhs []*series) (value, error) {
	g := &Grouping{Without: true} // default: match on all labels
	if m := e.Matching; m != nil {
		g = &Grouping{Without: !m.On, Labels: m.Labels}
		if m.Card != "" && e.Op != "and" && e.Op != "or" && e.Op != "unless" {
			return ev.groupedBinop(e, g, lhs, rhs)
		}
	}
	var key []byte
	rIndex := map[string][]*dense{}
	for _, s := range rhs {
		key = projectKey(key[:0], s.labels, g)
		rIndex[string(key)] = append(rIndex[string(key)], ev.toDense(s))
	}
	setOp := e.Op == "and" || e.Op == "or" || e.Op == "unless"
	out := newResultSet(ev.nsteps)
	lSigs := map[string][]bool{} // for or: steps where the lhs has the signature
	for _, s := range lhs {
		key = projectKey(key[:0], s.labels, g)
		sig := string(key)
		rs := rIndex[sig]
		if setOp {
			d := ev.toDense(s)
			seen := lSigs[sig]
			if seen == nil {
				seen = make([]bool, ev.nsteps)
				lSigs[sig] = seen
			}
			o := &series{labels: s.labels}
			for i := 0; i < ev.nsteps; i++ {
				if !d.has[i] {
					continue
				}
				seen[i] = true
				matched := false
				for _, r := range rs {
					matched = matched || r.has[i]
				}
				if e.Op == "or" || (e.Op == "and") == matched {
					o.pts = append(o.pts, Point{T: ev.stepTime(i) / 1e6, V: d.v[i]})
				}
			}
			if len(o.pts) > 0 {
				out.order = append(out.order, &dense{s: o})
			}
			continue
		}
		if len(rs) == 0 {
			continue
		}
		labels := resultLabels(s.labels, e)
		rkey := string(labelsKey(nil, labels))
		for _, p := range s.pts {
			i := ev.stepIndex(p.T)
			if i < 0 || i >= ev.nsteps {
				continue
			}
			var rv float64
			found := 0
			for _, r := range rs {
				if r.has[i] {
					rv = r.v[i]
					found++
				}
			}
			if found == 0 {
				continue
			}
			if found > 1 {
				return value{}, &QueryError{Msg: fmt.Sprintf("found duplicate series for the match group %s on the right hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side", projectLabels(s.labels, g))}
			}
			v, keep := scalarBinop(e.Op, p.V, rv, e.ReturnBool)
			if !keep {
				continue
			}
			if err := out.add(rkey, labels, i, Point{T: p.T, V: v}); err != nil {
				return value{}, err
			}
		}
	}
	if e.Op == "or" {
		for _, s := range rhs {
			key = projectKey(key[:0], s.labels, g)
			seen := lSigs[string(key)]
			o := &series{labels: s.labels}
			for _, p := range s.pts {
				if i := ev.stepIndex(p.T); seen == nil || i >= 0 && i < ev.nsteps && !seen[i] {
					o.pts = append(o.pts, p)
				}
			}
			if len(o.pts) > 0 {
				out.order = append(out.order, &dense{s: o})
			}
		}
	}
	return out.value(), nil
}

// resultLabels are the labels of a one-to-one operation's result, as in Prometheus.
func resultLabels(ls Labels, e *BinaryExpr) Labels {
	m := e.Matching
	if m == nil {
		return ls
	}
	return projectLabels(ls, &Grouping{Without: !m.On, Labels: m.Labels})
}

// groupedBinop is a many-to-one (group_left) or one-to-many (group_right) operation:
// every series of the "many" side matches at most one series of the "one" side per
// step, keeps its own labels, and copies the included labels from its match.
func (ev *evaluator) groupedBinop(e *BinaryExpr, g *Grouping, lhs, rhs []*series) (value, error) {
	many, one := lhs, rhs
	oneSide := "right"
	swap := e.Matching.Card == "group_right"
	if swap {
		many, one = rhs, lhs
		oneSide = "left"
	}
	var key []byte
	index := map[string][]*dense{}
	for _, s := range one {
		key = projectKey(key[:0], s.labels, g)
		index[string(key)] = append(index[string(key)], ev.toDense(s))
	}
	out := newResultSet(ev.nsteps)
	for _, s := range many {
		key = projectKey(key[:0], s.labels, g)
		matches := index[string(key)]
		if len(matches) == 0 {
			continue
		}
		for _, p := range s.pts {
			i := ev.stepIndex(p.T)
			if i < 0 || i >= ev.nsteps {
				continue
			}
			var match *dense
			for _, d := range matches {
				if !d.has[i] {
					continue
				}
				if match != nil {
					return value{}, &QueryError{Msg: fmt.Sprintf("found duplicate series for the match group %s on the %s hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side", projectLabels(s.labels, g), oneSide)}
				}
				match = d
			}
			if match == nil {
				continue
			}
			l, r := p.V, match.v[i]
			if swap {
				l, r = r, l
			}
			v, keep := scalarBinop(e.Op, l, r, e.ReturnBool)
			if !keep {
				continue
			}
			labels := s.labels
			for _, name := range e.Matching.Include {
				labels = withLabel(labels, name, match.s.labels.Get(name))
			}
			rkey := string(labelsKey(nil, labels))
			if err := out.add(rkey, labels, i, Point{T: p.T, V: v}); err != nil {
				return value{}, err
			}
		}
	}
	return out.value(), nil
}
