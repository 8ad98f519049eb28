package logql

import (
	"strconv"
	"time"
)

// LabelFilterStage is a label filter such as | status >= 400 and method="GET".
type LabelFilterStage struct {
	Pred LabelPredicate
}

// LabelPredicate is one node of a label filter expression.
type LabelPredicate interface {
	String() string
	test(b *labelsBuilder) bool
}

func (s *LabelFilterStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	return line, s.Pred.test(b)
}

func (s *LabelFilterStage) String() string { return "| " + s.Pred.String() }

// StringFilter is name op "value" with =, !=, =~, !~.
type StringFilter struct{ M *Matcher }

func (f *StringFilter) test(b *labelsBuilder) bool {
	if f.M.Name == ErrorDetailsLabel {
		return f.M.Matches("") // Loki's label filters do not see the error details
	}
	v, _ := b.get(f.M.Name)
	return f.M.Matches(v)
}

func (f *StringFilter) String() string { return f.M.String() }

// NumericFilter compares a label as a number, duration (seconds) or byte size.
type NumericFilter struct {
	Name  string
	Op    string // ==, !=, >, >=, <, <=
	Kind  tokKind
	Text  string
	Value float64
}

func (f *NumericFilter) test(b *labelsBuilder) bool {
	s, ok := b.lookup(f.Name)
	if !ok {
		return false // a line without the label is dropped, as in Loki
	}
	var v float64
	var err error
	switch f.Kind {
	case tDuration:
		var d time.Duration
		d, err = parseDuration(s)
		v = d.Seconds()
	case tBytes:
		var n uint64
		n, err = parseBytes(s)
		v = float64(n)
	default:
		v, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		if !b.hasErr() {
			b.setErr(errLabelFilter, err.Error())
		}
		return true
	}
	return compare(f.Op, v, f.Value)
}

func compare(op string, a, b float64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "<":
		return a < b
	default:
		return a <= b
	}
}

func (f *NumericFilter) String() string { return f.Name + f.Op + f.Text }

// IPFilter is name = ip("cidr|range|addr") or name != ip(...).
type IPFilter struct {
	Name string
	Not  bool
	Text string
	IP   *ipMatcher
}

func (f *IPFilter) test(b *labelsBuilder) bool {
	v, _ := b.get(f.Name)
	return f.IP.matchString(v) != f.Not
}

func (f *IPFilter) String() string {
	op := "="
	if f.Not {
		op = "!="
	}
	return f.Name + op + "ip(" + strconv.Quote(f.Text) + ")"
}

// AndPredicate is L and R.
type AndPredicate struct{ L, R LabelPredicate }

func (p *AndPredicate) test(b *labelsBuilder) bool { return p.L.test(b) && p.R.test(b) }

func (p *AndPredicate) String() string { return p.L.String() + " and " + p.R.String() }

// OrPredicate is L or R.
type OrPredicate struct{ L, R LabelPredicate }

func (p *OrPredicate) test(b *labelsBuilder) bool { return p.L.test(b) || p.R.test(b) }

func (p *OrPredicate) String() string { return "(" + p.L.String() + " or " + p.R.String() + ")" }
