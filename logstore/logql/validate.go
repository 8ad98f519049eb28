package logql

import (
	"math"
	"strconv"
)

const emptyMatcherMsg = `queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`

// validate applies the semantic checks Loki makes after parsing.
func validate(e Expr) error {
	switch e := e.(type) {
	case *LogExpr:
		return validateSelector(e.Matchers)
	case *RangeAggExpr:
		needsUnwrap := rangeOps[e.Op]
		if e.Unwrap == nil && needsUnwrap {
			return &ParseError{Msg: "invalid aggregation " + e.Op + " without unwrap"}
		}
		if e.Unwrap != nil && !needsUnwrap && e.Op != "rate" {
			return &ParseError{Msg: "invalid aggregation " + e.Op + " with unwrap"}
		}
		if e.Grouping != nil && e.Unwrap == nil {
			return &ParseError{Msg: "grouping not allowed for " + e.Op + " aggregation"}
		}
		if e.Op == "quantile_over_time" && (e.Param < 0 || e.Param > 1 || math.IsNaN(e.Param)) {
			return &ParseError{Msg: "invalid quantile parameter " + strconv.FormatFloat(e.Param, 'g', -1, 64) + ": must be between 0 and 1"}
		}
		return validateSelector(e.Log.Matchers)
	case *LabelReplaceExpr:
		return validate(e.Inner)
	case *VectorAggExpr:
		if _, ok := e.Inner.(*LiteralExpr); ok {
			return &ParseError{Msg: "unexpected literal for " + e.Op + " aggregation"}
		}
		return validate(e.Inner)
	case *BinaryExpr:
		if err := validate(e.LHS); err != nil {
			return err
		}
		_, l := e.LHS.(*LiteralExpr)
		_, r := e.RHS.(*LiteralExpr)
		if l && r && isComparison(e.Op) && !e.ReturnBool {
			return &ParseError{Msg: "comparisons between scalars must use BOOL modifier"}
		}
		if (l || r) && (e.Op == "and" || e.Op == "or" || e.Op == "unless") {
			return &ParseError{Msg: "unexpected literal for right leg of logical/set binary operation (" + e.Op + ")"}
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
