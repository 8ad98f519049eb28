package logql

import (
	"strconv"
)

// groupable are the range aggregations that take by/without (Loki's documentation:
// every unwrapped one except sum_over_time, absent_over_time, rate and rate_counter).
var groupable = map[string]bool{
	"avg_over_time": true, "stddev_over_time": true, "stdvar_over_time": true, "quantile_over_time": true,
	"max_over_time": true, "min_over_time": true, "first_over_time": true, "last_over_time": true,
}

// unwrappable are the range aggregations that accept unwrap.
var unwrappable = map[string]bool{
	"avg_over_time": true, "sum_over_time": true, "max_over_time": true, "min_over_time": true,
	"stddev_over_time": true, "stdvar_over_time": true, "quantile_over_time": true, "rate": true,
	"rate_counter": true, "absent_over_time": true, "first_over_time": true, "last_over_time": true,
}

const emptyMatcherMsg = `queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`

// validate applies the semantic checks Loki makes after parsing.
func validate(e Expr) error {
	switch e := e.(type) {
	case *LogExpr:
		return validateSelector(e.Matchers)
	case *RangeAggExpr:
		// Loki's checks, in its order: the documented grouping support, then unwrap.
		switch {
		case e.Grouping != nil && !groupable[e.Op]:
			return &ParseError{Msg: "grouping not allowed for " + e.Op + " aggregation"}
		case e.Unwrap != nil && !unwrappable[e.Op]:
			return &ParseError{Msg: "invalid aggregation " + e.Op + " with unwrap"}
		case e.Unwrap == nil && rangeOps[e.Op]:
			return &ParseError{Msg: "invalid aggregation " + e.Op + " without unwrap"}
		}
		return validateSelector(e.Log.Matchers)
	case *LabelReplaceExpr:
		return validate(e.Inner)
	case *VectorAggExpr:
		if _, ok := e.Inner.(*LiteralExpr); ok {
			// Loki looks for the literal's stream selector and finds none
			return &ParseError{Msg: emptyMatcherMsg}
		}
		return validate(e.Inner)
	case *BinaryExpr:
		if err := validate(e.LHS); err != nil {
			return err
		}
		ll, l := e.LHS.(*LiteralExpr)
		rl, r := e.RHS.(*LiteralExpr)
		if (l || r) && (e.Op == "and" || e.Op == "or" || e.Op == "unless") {
			lit := rl
			if !r {
				lit = ll
			}
			return &ParseError{Msg: "unexpected literal for right leg of logical/set binary operation (" + e.Op + "): " + strconv.FormatFloat(lit.Val, 'f', 6, 64)}
		}
		return validate(e.RHS)
	}
	return nil
}

func validateSelector(ms []*Matcher) error {
	for _, m := range ms {
		if !m.Matches("") {
			return nil
		}
	}
	return &ParseError{Msg: emptyMatcherMsg}
}
