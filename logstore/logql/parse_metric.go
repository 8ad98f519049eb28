package logql

import (
	"math"
	"regexp"
	"strings"
)

// rangeOps are the range aggregations; the value says whether the op needs unwrap.
var rangeOps = map[string]bool{
	"count_over_time": false, "rate": false, "bytes_over_time": false, "bytes_rate": false,
	"sum_over_time": true, "avg_over_time": true, "min_over_time": true, "max_over_time": true,
	"stddev_over_time": true, "stdvar_over_time": true, "quantile_over_time": true,
	"first_over_time": true, "last_over_time": true, "rate_counter": true,
	"absent_over_time": false,
}

// vectorOps are the vector aggregations.
var vectorOps = map[string]bool{
	"sum": true, "avg": true, "min": true, "max": true, "count": true, "topk": true,
	"bottomk": true, "stddev": true, "stdvar": true, "sort": true, "sort_desc": true,
}

// binary operator precedence, higher binds tighter.
var binPrec = map[string]int{
	"or": 1, "and": 2, "unless": 2,
	"==": 3, "!=": 3, ">": 3, ">=": 3, "<": 3, "<=": 3,
	"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6,
}

func isComparison(op string) bool {
	switch op {
	case "==", "!=", ">", ">=", "<", "<=":
		return true
	}
	return false
}

// parseExpr is precedence climbing over binary operators.
func (p *parser) parseExpr(minPrec int) (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lhs, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		op := ""
		if p.tok.kind == tPunct || p.tok.kind == tIdent {
			op = p.tok.val
		}
		prec, ok := binPrec[op]
		if !ok || prec < minPrec || (p.tok.kind == tIdent && prec > 2) {
			return lhs, nil
		}
		opTok := p.tok
		if p.ops++; p.ops > MaxDepth {
			return nil, p.errAt(opTok, tooDeep)
		}
		p.next()
		be := &BinaryExpr{Op: op}
		if p.isIdent("bool") {
			if !isComparison(op) {
				return nil, p.errAt(p.tok, "syntax error: bool modifier can only be used on comparison operators")
			}
			be.ReturnBool = true
			p.next()
		}
		if p.isIdent("on") || p.isIdent("ignoring") {
			m := &VectorMatching{On: p.tok.val == "on"}
			p.next()
			if m.Labels, err = p.parseLabelList(); err != nil {
				return nil, err
			}
			if p.isIdent("group_left") || p.isIdent("group_right") {
				m.Card = p.tok.val
				p.next()
				if p.is("(") {
					if m.Include, err = p.parseLabelList(); err != nil {
						return nil, err
					}
				}
			}
			be.Matching = m
		}
		next := prec + 1
		if op == "^" {
			next = prec // right associative
		}
		rhs, err := p.parseExpr(next)
		if err != nil {
			return nil, err
		}
		be.LHS, be.RHS = lhs, rhs
		if _, ok := lhs.(*LogExpr); ok {
			return nil, p.errAt(opTok, "syntax error: unexpected "+opTok.name())
		}
		if _, ok := rhs.(*LogExpr); ok {
			return nil, p.errAt(opTok, "syntax error: unexpected "+opTok.name())
		}
		lhs = foldLiterals(be)
	}
}

// foldLiterals evaluates an operation between two literals at parse time, as Loki does.
func foldLiterals(be *BinaryExpr) Expr {
	l, ok1 := be.LHS.(*LiteralExpr)
	r, ok2 := be.RHS.(*LiteralExpr)
	if !ok1 || !ok2 {
		return be
	}
	v, ok := scalarBinop(be.Op, l.Val, r.Val, true)
	if !ok {
		return be
	}
	return &LiteralExpr{Val: v}
}

func (p *parser) parseUnary() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.is("-") || p.is("+") {
		neg := p.is("-")
		p.next()
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if !neg {
			return e, nil
		}
		if l, ok := e.(*LiteralExpr); ok {
			return &LiteralExpr{Val: -l.Val}, nil
		}
		return &BinaryExpr{Op: "*", LHS: &LiteralExpr{Val: -1}, RHS: e}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (Expr, error) {
	switch {
	case p.tok.kind == tNumber:
		v := p.tok.num
		p.next()
		return &LiteralExpr{Val: v}, nil
	case p.tok.kind == tIdent && (strings.EqualFold(p.tok.val, "nan") || strings.EqualFold(p.tok.val, "inf")):
		v := math.NaN()
		if strings.EqualFold(p.tok.val, "inf") {
			v = math.Inf(1)
		}
		p.next()
		return &LiteralExpr{Val: v}, nil
	case p.is("("):
		p.next()
		e, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return e, nil
	case p.is("{"):
		return p.parseLogExpr(false)
	case p.tok.kind == tIdent && isRangeOp(p.tok.val):
		return p.parseRangeAgg()
	case p.tok.kind == tIdent && vectorOps[p.tok.val]:
		return p.parseVectorAgg()
	case p.isIdent("vector"):
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		neg := false
		if p.is("-") {
			neg = true
			p.next()
		}
		if p.tok.kind != tNumber {
			return nil, p.unexpected("NUMBER")
		}
		v := p.tok.num
		if neg {
			v = -v
		}
		p.next()
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return &VectorExpr{Val: v}, nil
	case p.isIdent("label_replace"):
		return p.parseLabelReplace()
	}
	return nil, p.unexpected("")
}

func isRangeOp(s string) bool { _, ok := rangeOps[s]; return ok }

func (p *parser) parseLabelList() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []string
	if p.is(")") {
		p.next()
		return out, nil
	}
	for {
		if p.tok.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		out = append(out, p.tok.val)
		p.next()
		if p.is(",") {
			p.next()
			continue
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return out, nil
	}
}

func (p *parser) parseGrouping() (*Grouping, error) {
	if !p.isIdent("by") && !p.isIdent("without") {
		return nil, nil
	}
	g := &Grouping{Without: p.tok.val == "without"}
	p.next()
	ls, err := p.parseLabelList()
	if err != nil {
		return nil, err
	}
	g.Labels = ls
	return g, nil
}

func (p *parser) parseRangeAgg() (Expr, error) {
	opTok := p.tok
	e := &RangeAggExpr{Op: opTok.val}
	p.next()
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if e.Op == "quantile_over_time" {
		if p.tok.kind != tNumber {
			return nil, p.unexpected("NUMBER")
		}
		e.Param = p.tok.num
		p.next()
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
	if !p.is("{") {
		return nil, p.unexpected("{")
	}
	ms, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	e.Log = &LogExpr{Matchers: ms}
	haveRange := false
	if p.is("[") {
		if err := p.parseRange(e); err != nil {
			return nil, err
		}
		haveRange = true
	}
	if err := p.parsePipeline(e.Log); err != nil {
		return nil, err
	}
	if p.is("|") && p.peek(1).kind == tIdent && p.peek(1).val == "unwrap" {
		p.next()
		p.next()
		u := &Unwrap{}
		if p.tok.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		switch v := p.tok.val; {
		case (v == "duration" || v == "duration_seconds" || v == "bytes") && p.peek(1).kind == tPunct && p.peek(1).val == "(":
			u.Conv = v
			p.next()
			p.next()
			if p.tok.kind != tIdent {
				return nil, p.unexpected("IDENTIFIER")
			}
			u.Label = p.tok.val
			p.next()
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		default:
			u.Label = v
			p.next()
		}
		for p.is("|") {
			p.next()
			pred, err := p.parseLabelPredicate(0)
			if err != nil {
				return nil, err
			}
			u.Post = append(u.Post, &LabelFilterStage{Pred: pred})
		}
		e.Unwrap = u
	}
	if !haveRange {
		if !p.is("[") {
			return nil, p.unexpected("")
		}
		if err := p.parseRange(e); err != nil {
			return nil, err
		}
	}
	if p.isIdent("offset") {
		p.next()
		if p.tok.kind != tDuration {
			return nil, p.unexpected("DURATION")
		}
		e.Offset = p.tok.dur
		p.next()
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	g, err := p.parseGrouping()
	if err != nil {
		return nil, err
	}
	e.Grouping = g
	return e, nil
}

func (p *parser) parseRange(e *RangeAggExpr) error {
	p.next()
	if p.tok.kind != tDuration {
		return p.unexpected("DURATION")
	}
	e.Range = p.tok.dur
	if e.Range <= 0 {
		return p.errAt(p.tok, "syntax error: range must be positive")
	}
	p.next()
	return p.expect("]")
}

func (p *parser) parseVectorAgg() (Expr, error) {
	e := &VectorAggExpr{Op: p.tok.val}
	p.next()
	g, err := p.parseGrouping()
	if err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if e.Op == "topk" || e.Op == "bottomk" {
		if p.tok.kind != tNumber {
			return nil, p.unexpected("NUMBER")
		}
		k := p.tok.num
		if k != math.Trunc(k) || k < 1 || k > math.MaxInt32 {
			if k != math.Trunc(k) {
				p.deferErr("invalid parameter " + e.Op + "(" + p.tok.val + ",")
			} else {
				p.deferErr("invalid parameter (must be greater than 0) " + e.Op + "(" + p.tok.val)
			}
			k = 1
		}
		e.Param = int(k)
		p.next()
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
	inner, err := p.parseMetricArg("")
	if err != nil {
		return nil, err
	}
	e.Inner = inner
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if g == nil {
		if g, err = p.parseGrouping(); err != nil {
			return nil, err
		}
	}
	e.Grouping = g
	return e, nil
}

// parseMetricArg reads the argument of a vector aggregation or label_replace, which must be
// a metric query; a log query there is an error expecting next (as Loki reports it).
func (p *parser) parseMetricArg(next string) (Expr, error) {
	inner, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if _, ok := inner.(*LogExpr); ok {
		return nil, p.unexpected(next)
	}
	return inner, nil
}

// parseLabelReplace reads label_replace(expr, "dst", "replacement", "src", "regex").
func (p *parser) parseLabelReplace() (Expr, error) {
	p.next()
	if err := p.expect("("); err != nil {
		return nil, err
	}
	inner, err := p.parseMetricArg(",")
	if err != nil {
		return nil, err
	}
	var args [4]string
	for i := range args {
		if err := p.expect(","); err != nil {
			return nil, err
		}
		if p.tok.kind != tString {
			return nil, p.unexpected("STRING")
		}
		args[i] = p.tok.val
		p.next()
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	e := &LabelReplaceExpr{Inner: inner, Dst: args[0], Replacement: args[1], Src: args[2], Regex: args[3]}
	re, err := regexp.Compile("^(?:" + e.Regex + ")$")
	if err != nil {
		p.deferErr("invalid regex in label_replace: " + err.Error())
		re = regexp.MustCompile("^$")
	}
	e.re = re
	return e, nil
}
