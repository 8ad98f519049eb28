package logql

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed LogQL query: a *LogExpr (log query), *RangeAggExpr, *VectorAggExpr,
// *BinaryExpr or *LiteralExpr (metric queries).
type Expr interface {
	String() string
	expr()
}

// LogExpr is a stream selector with its pipeline.
type LogExpr struct {
	Matchers []*Matcher
	Stages   []Stage
}

// Unwrap names the label a range aggregation takes its values from.
type Unwrap struct {
	Label string
	// Conv is "", "duration", "duration_seconds" or "bytes".
	Conv string
	// Post are the label filters written after unwrap.
	Post []*LabelFilterStage
}

// RangeAggExpr is a range aggregation such as count_over_time({...}[5m]).
type RangeAggExpr struct {
	Op     string
	Param  float64 // quantile_over_time's φ
	Log    *LogExpr
	Unwrap *Unwrap
	Range  time.Duration
	Offset time.Duration
	// Grouping is allowed on unwrapped aggregations only, as in Loki.
	Grouping *Grouping
}

// Grouping is a by (...) or without (...) clause.
type Grouping struct {
	Without bool
	Labels  []string

	sortedNames []string
}

// VectorAggExpr is sum, avg, min, max, count, topk, bottomk, stddev, stdvar over a vector.
type VectorAggExpr struct {
	Op       string
	Param    int // k of topk/bottomk
	Inner    Expr
	Grouping *Grouping
}

// VectorMatching is the on/ignoring clause of a binary operation between vectors, with
// its optional group_left/group_right modifier.
type VectorMatching struct {
	On     bool
	Labels []string
	// Card is "", "group_left" (many-to-one) or "group_right" (one-to-many); Include
	// names the labels copied from the "one" side.
	Card    string
	Include []string
}

// VectorExpr is vector(N): one series without labels whose value is N at every step.
type VectorExpr struct {
	Val float64
}

// LabelReplaceExpr is label_replace(inner, "dst", "replacement", "src", "regex").
type LabelReplaceExpr struct {
	Inner                        Expr
	Dst, Replacement, Src, Regex string
	re                           *regexp.Regexp
}

// BinaryExpr is an arithmetic or comparison operation.
type BinaryExpr struct {
	Op         string
	LHS, RHS   Expr
	ReturnBool bool
	Matching   *VectorMatching
}

// LiteralExpr is a number.
type LiteralExpr struct {
	Val float64
}

func (*LogExpr) expr()          {}
func (*RangeAggExpr) expr()     {}
func (*VectorAggExpr) expr()    {}
func (*BinaryExpr) expr()       {}
func (*LiteralExpr) expr()      {}
func (*VectorExpr) expr()       {}
func (*LabelReplaceExpr) expr() {}

func (e *VectorExpr) String() string {
	return "vector(" + strconv.FormatFloat(e.Val, 'f', 6, 64) + ")" // as Loki prints it
}

func (e *LabelReplaceExpr) String() string {
	return "label_replace(" + e.Inner.String() + "," + strconv.Quote(e.Dst) + "," + strconv.Quote(e.Replacement) + "," + strconv.Quote(e.Src) + "," + strconv.Quote(e.Regex) + ")"
}

// IsMetric reports whether e is a metric query (as opposed to a log query).
func IsMetric(e Expr) bool {
	_, ok := e.(*LogExpr)
	return !ok
}

func (e *LogExpr) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range e.Matchers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	for _, s := range e.Stages {
		b.WriteByte(' ')
		b.WriteString(s.String())
	}
	return b.String()
}

func (e *RangeAggExpr) String() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteByte('(')
	if e.Op == "quantile_over_time" {
		b.WriteString(strconv.FormatFloat(e.Param, 'g', -1, 64))
		b.WriteString(",")
	}
	b.WriteString(e.Log.String())
	if u := e.Unwrap; u != nil {
		b.WriteString(" | unwrap ")
		if u.Conv != "" {
			b.WriteString(u.Conv + "(" + u.Label + ")")
		} else {
			b.WriteString(u.Label)
		}
		for _, p := range u.Post {
			b.WriteString(" " + p.String())
		}
	}
	b.WriteString("[" + formatDuration(e.Range) + "]")
	if e.Offset != 0 {
		b.WriteString(" offset " + e.Offset.String()) // Loki prints Go's form: 1h0m0s
	}
	b.WriteByte(')')
	if e.Grouping != nil {
		b.WriteString(e.Grouping.String())
	}
	return b.String()
}

func (g *Grouping) String() string {
	w := " by ("
	if g.Without {
		w = " without ("
	}
	return w + strings.Join(g.Labels, ",") + ")"
}

func (e *VectorAggExpr) String() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Grouping != nil {
		b.WriteString(e.Grouping.String())
	}
	b.WriteByte('(')
	if e.Op == "topk" || e.Op == "bottomk" {
		b.WriteString(strconv.Itoa(e.Param) + ",")
	}
	b.WriteString(e.Inner.String())
	b.WriteByte(')')
	return b.String()
}

func (e *BinaryExpr) String() string {
	op := e.Op
	if e.ReturnBool {
		op += " bool"
	}
	if m := e.Matching; m != nil {
		if m.On {
			op += " on (" + strings.Join(m.Labels, ",") + ")"
		} else {
			op += " ignoring (" + strings.Join(m.Labels, ",") + ")"
		}
		if m.Card != "" {
			op += " " + m.Card + " (" + strings.Join(m.Include, ",") + ")"
		}
	}
	return "(" + e.LHS.String() + " " + op + " " + e.RHS.String() + ")"
}

func (e *LiteralExpr) String() string { return strconv.FormatFloat(e.Val, 'g', -1, 64) }

// formatDuration renders d the way Prometheus does (1h5m, 30s, 250ms).
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	units := []struct {
		s string
		d time.Duration
	}{{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", 1}}
	for _, u := range units {
		if d >= u.d {
			b.WriteString(strconv.FormatInt(int64(d/u.d), 10))
			b.WriteString(u.s)
			d %= u.d
		}
	}
	return b.String()
}
