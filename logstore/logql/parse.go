package logql

import (
	"math"
	"regexp"
	"strconv"
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

// ParseExpr parses a LogQL query. Errors are *ParseError with Loki's wording.
func ParseExpr(q string) (Expr, error) {
	p, err := newParser(q)
	if err != nil {
		return nil, err
	}
	e, err := p.parseExpr(0)
	if p.err != nil {
		return nil, p.err
	}
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("")
	}
	if err := validate(e); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseMatchers parses a bare stream selector such as {a="b", c=~"d.*"}.
func ParseMatchers(selector string) ([]*Matcher, error) {
	p, err := newParser(selector)
	if err != nil {
		return nil, err
	}
	ms, err := p.parseSelector()
	if p.err != nil {
		return nil, p.err
	}
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("")
	}
	return ms, nil
}

type parser struct {
	q    string
	lx   lexer
	toks []token // lexed so far; the last is tEOF once the end (or a lexing error) is reached
	err  error   // the first lexing error: it wins over any parse error
	i    int
	tok  token
	// depth counts the recursion of the parser and ops the binary operators read, both
	// bounded by MaxDepth: evaluation recurses over the tree they build.
	depth, ops int
}

// enter guards one level of recursion; callers defer p.leave().
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return posError(p.q, p.tok.pos, tooDeep)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func newParser(q string) (*parser, error) {
	p := &parser{q: q, lx: lexer{q: q}}
	p.tok = p.at(0)
	if p.err != nil {
		return nil, p.err
	}
	return p, nil
}

// at returns token i, lexing up to it.
func (p *parser) at(i int) token {
	for len(p.toks) <= i {
		if n := len(p.toks); n > 0 && p.toks[n-1].kind == tEOF {
			return p.toks[n-1]
		}
		t, err := p.lx.next()
		if err != nil {
			p.err = err
			t = token{kind: tEOF, pos: p.lx.i}
		}
		p.toks = append(p.toks, t)
	}
	return p.toks[i]
}

func (p *parser) next() {
	if p.tok.kind != tEOF {
		p.i++
	}
	p.tok = p.at(p.i)
}

func (p *parser) peek(n int) token { return p.at(p.i + n) }

func (p *parser) is(punct string) bool { return p.tok.kind == tPunct && p.tok.val == punct }
func (p *parser) isIdent(v string) bool {
	return p.tok.kind == tIdent && p.tok.val == v
}

func (p *parser) unexpected(expecting string) *ParseError {
	msg := "syntax error: unexpected " + p.tok.name()
	if expecting != "" {
		msg += ", expecting " + expecting
	}
	return posError(p.q, p.tok.pos, msg)
}

func (p *parser) errAt(t token, msg string) *ParseError { return posError(p.q, t.pos, msg) }

func (p *parser) expect(punct string) error {
	if !p.is(punct) {
		return p.unexpected(punct)
	}
	p.next()
	return nil
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
	if !ok1 || !ok2 || (isComparison(be.Op) && !be.ReturnBool) {
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

// parseSelector reads {name op "value", ...}.
func (p *parser) parseSelector() ([]*Matcher, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var ms []*Matcher
	for {
		if p.tok.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		name := p.tok.val
		p.next()
		var t MatchType
		switch {
		case p.is("="):
			t = MatchEqual
		case p.is("!="):
			t = MatchNotEqual
		case p.is("=~"):
			t = MatchRegexp
		case p.is("!~"):
			t = MatchNotRegexp
		default:
			return nil, p.unexpected("= or =~ or !~ or !=")
		}
		p.next()
		if p.tok.kind != tString {
			return nil, p.unexpected("STRING")
		}
		m, err := NewMatcher(t, name, p.tok.val)
		if err != nil {
			return nil, p.errAt(p.tok, "syntax error: invalid regexp: "+err.Error())
		}
		ms = append(ms, m)
		p.next()
		if p.is(",") {
			p.next()
			continue
		}
		if p.is("}") {
			p.next()
			return ms, nil
		}
		return nil, p.unexpected(", or }")
	}
}

// parseLogExpr reads a selector and pipeline. In a range aggregation it also accepts
// unwrap; the caller reads the range.
func (p *parser) parseLogExpr(inRange bool) (*LogExpr, error) {
	ms, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	le := &LogExpr{Matchers: ms}
	if err := p.parsePipeline(le); err != nil {
		return nil, err
	}
	return le, nil
}

// parsePipeline appends stages until something that is not a stage (unwrap included).
func (p *parser) parsePipeline(le *LogExpr) error {
	for {
		switch {
		case p.isLineFilterOp():
			st, err := p.parseLineFilter()
			if err != nil {
				return err
			}
			le.Stages = append(le.Stages, st)
		case p.is("|") && !(p.peek(1).kind == tIdent && p.peek(1).val == "unwrap"):
			p.next()
			st, err := p.parseStage()
			if err != nil {
				return err
			}
			le.Stages = append(le.Stages, st)
		default:
			return nil
		}
	}
}

func (p *parser) isLineFilterOp() bool {
	return p.is("|=") || p.is("|~") || p.is("!=") || p.is("!~") || p.is("|>") || p.is("!>")
}

func (p *parser) parseLineFilter() (Stage, error) {
	f := &LineFilterStage{}
	for {
		op := p.tok.val
		p.next()
		var alt []string
		ipArg := ""
		switch {
		case p.tok.kind == tString:
			alt = append(alt, p.tok.val)
			p.next()
			for p.isIdent("or") && p.peek(1).kind == tString {
				p.next()
				alt = append(alt, p.tok.val)
				p.next()
			}
		case p.isIdent("ip") && (op == "|=" || op == "!="):
			p.next()
			if err := p.expect("("); err != nil {
				return nil, err
			}
			if p.tok.kind != tString {
				return nil, p.unexpected("STRING")
			}
			ipArg = p.tok.val
			p.next()
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		default:
			return nil, p.unexpected("STRING")
		}
		tok := p.toks[p.i-1]
		if err := f.add(op, alt, ipArg); err != nil {
			return nil, p.errAt(tok, err.Error())
		}
		if !p.isLineFilterOp() {
			return f, nil
		}
	}
}

func (p *parser) parseStage() (Stage, error) {
	t := p.tok
	if t.kind == tIdent {
		switch t.val {
		case "json":
			p.next()
			st := &JSONStage{}
			params, err := p.parseExtractParams()
			if err != nil {
				return nil, err
			}
			if err := st.init(params); err != nil {
				return nil, p.errAt(t, err.Error())
			}
			return st, nil
		case "logfmt":
			p.next()
			st := &LogfmtStage{}
			for p.tok.kind == tIdent && strings.HasPrefix(p.tok.val, "--") {
				switch p.tok.val {
				case "--strict":
					st.Strict = true
				case "--keep-empty":
					st.KeepEmpty = true
				default:
					return nil, p.unexpected("")
				}
				p.next()
			}
			params, err := p.parseExtractParams()
			if err != nil {
				return nil, err
			}
			st.Params = params
			return st, nil
		case "pattern", "regexp", "line_format":
			p.next()
			if p.tok.kind != tString {
				return nil, p.unexpected("STRING")
			}
			arg := p.tok
			p.next()
			var st Stage
			var err error
			switch t.val {
			case "pattern":
				st, err = newPatternStage(arg.val)
			case "regexp":
				st, err = newRegexpStage(arg.val)
			default:
				st, err = newLineFormatStage(arg.val)
			}
			if err != nil {
				return nil, p.errAt(arg, err.Error())
			}
			return st, nil
		case "label_format":
			p.next()
			return p.parseLabelFormat()
		case "keep", "drop":
			p.next()
			return p.parseKeepDrop(t.val == "keep")
		case "unpack":
			p.next()
			return &UnpackStage{}, nil
		case "decolorize":
			p.next()
			return DecolorizeStage{}, nil
		}
	}
	if t.kind == tIdent || p.is("(") {
		pred, err := p.parseLabelPredicate(0)
		if err != nil {
			return nil, err
		}
		return &LabelFilterStage{Pred: pred}, nil
	}
	return nil, p.unexpected("")
}

// parseExtractParams reads the optional list after json or logfmt: name="expr" or a
// bare name (the expression is then the name itself), separated by commas.
func (p *parser) parseExtractParams() ([]ExtractParam, error) {
	var out []ExtractParam
	for p.tok.kind == tIdent && !isStageEnd(p) {
		name := p.tok.val
		p.next()
		expr := name
		if p.is("=") {
			p.next()
			switch p.tok.kind {
			case tString, tIdent:
				expr = p.tok.val
			default:
				return nil, p.unexpected("STRING")
			}
			p.next()
		}
		out = append(out, ExtractParam{Name: name, Expr: expr})
		if !p.is(",") {
			break
		}
		p.next()
	}
	return out, nil
}

func isStageEnd(p *parser) bool {
	return p.isIdent("or") || p.isIdent("and") || p.isIdent("offset") || p.isIdent("by") || p.isIdent("without")
}

func (p *parser) parseLabelFormat() (Stage, error) {
	st := &LabelFormatStage{st: templateState{data: map[string]string{}}}
	seen := map[string]bool{}
	for {
		if p.tok.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		dst := p.tok.val
		if dst == ErrorLabel {
			return nil, p.errAt(p.tok, "syntax error: "+ErrorLabel+" cannot be formatted")
		}
		if seen[dst] {
			return nil, p.errAt(p.tok, "syntax error: multiple label name '"+dst+"' not allowed in a single format operation")
		}
		seen[dst] = true
		p.next()
		if err := p.expect("="); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tIdent:
			st.Ops = append(st.Ops, LabelFormatOp{Dst: dst, Src: p.tok.val, Rename: true})
		case tString:
			op := LabelFormatOp{Dst: dst, Src: p.tok.val}
			if err := op.compile(); err != nil {
				return nil, p.errAt(p.tok, err.Error())
			}
			st.Ops = append(st.Ops, op)
		default:
			return nil, p.unexpected("IDENTIFIER or STRING")
		}
		p.next()
		if !p.is(",") {
			return st, nil
		}
		p.next()
	}
}

func (p *parser) parseKeepDrop(keep bool) (Stage, error) {
	st := &KeepDropStage{Keep: keep}
	for {
		if p.tok.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		name := p.tok.val
		p.next()
		var m *Matcher
		if p.is("=") || p.is("!=") || p.is("=~") || p.is("!~") {
			t := map[string]MatchType{"=": MatchEqual, "!=": MatchNotEqual, "=~": MatchRegexp, "!~": MatchNotRegexp}[p.tok.val]
			p.next()
			if p.tok.kind != tString {
				return nil, p.unexpected("STRING")
			}
			var err error
			if m, err = NewMatcher(t, name, p.tok.val); err != nil {
				return nil, p.errAt(p.tok, "syntax error: invalid regexp: "+err.Error())
			}
			p.next()
		}
		st.Names = append(st.Names, name)
		st.Matchers = append(st.Matchers, m)
		if !p.is(",") {
			return st, nil
		}
		p.next()
	}
}

// parseLabelPredicate reads label filters joined by or (lowest), and / , / juxtaposition.
func (p *parser) parseLabelPredicate(minPrec int) (LabelPredicate, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lhs, err := p.parseLabelPrimary()
	if err != nil {
		return nil, err
	}
	for {
		if p.ops > MaxDepth {
			return nil, p.errAt(p.tok, tooDeep)
		}
		var isOr bool
		switch {
		case p.isIdent("or"):
			isOr = true
		case p.isIdent("and") || p.is(","):
		case p.tok.kind == tIdent && !keywords[p.tok.val] && p.peek(1).kind == tPunct:
			// juxtaposition means and: | a="1" b="2"
			if minPrec > 1 {
				return lhs, nil
			}
			rhs, err := p.parseLabelPredicate(2)
			if err != nil {
				return nil, err
			}
			lhs = &AndPredicate{L: lhs, R: rhs}
			p.ops++
			continue
		default:
			return lhs, nil
		}
		prec := 2
		if isOr {
			prec = 1
		}
		if prec < minPrec {
			return lhs, nil
		}
		p.next()
		rhs, err := p.parseLabelPredicate(prec + 1)
		if err != nil {
			return nil, err
		}
		p.ops++
		if isOr {
			lhs = &OrPredicate{L: lhs, R: rhs}
		} else {
			lhs = &AndPredicate{L: lhs, R: rhs}
		}
	}
}

func (p *parser) parseLabelPrimary() (LabelPredicate, error) {
	if p.is("(") {
		p.next()
		e, err := p.parseLabelPredicate(0)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return e, nil
	}
	if p.tok.kind != tIdent {
		return nil, p.unexpected("IDENTIFIER")
	}
	name := p.tok.val
	p.next()
	if p.tok.kind != tPunct {
		return nil, p.unexpected("")
	}
	op := p.tok.val
	opTok := p.tok
	p.next()
	switch op {
	case "=", "!=", "=~", "!~", "==":
	case ">", ">=", "<", "<=":
	default:
		return nil, p.errAt(opTok, "syntax error: unexpected "+opTok.name())
	}
	neg := false
	if p.is("-") {
		neg = true
		p.next()
	}
	v := p.tok
	switch {
	case v.kind == tString && !neg && (op == "=" || op == "!=" || op == "=~" || op == "!~" || op == "=="):
		p.next()
		t := map[string]MatchType{"=": MatchEqual, "==": MatchEqual, "!=": MatchNotEqual, "=~": MatchRegexp, "!~": MatchNotRegexp}[op]
		m, err := NewMatcher(t, name, v.val)
		if err != nil {
			return nil, p.errAt(v, "syntax error: invalid regexp: "+err.Error())
		}
		return &StringFilter{M: m}, nil
	case v.kind == tIdent && v.val == "ip" && !neg && (op == "=" || op == "!="):
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		if p.tok.kind != tString {
			return nil, p.unexpected("STRING")
		}
		arg := p.tok
		p.next()
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		m, err := newIPMatcher(arg.val)
		if err != nil {
			return nil, p.errAt(arg, err.Error())
		}
		return &IPFilter{Name: name, Not: op == "!=", Text: arg.val, IP: m}, nil
	case v.kind == tNumber || v.kind == tDuration || v.kind == tBytes:
		if op == "=~" || op == "!~" {
			return nil, p.errAt(v, "syntax error: unexpected "+v.name()+", expecting STRING")
		}
		if op == "=" {
			op = "=="
		}
		p.next()
		f := &NumericFilter{Name: name, Op: op, Kind: v.kind, Text: v.val}
		switch v.kind {
		case tNumber, tBytes:
			f.Value = v.num
		case tDuration:
			f.Value = v.dur.Seconds()
		}
		if neg {
			f.Value = -f.Value
			f.Text = "-" + f.Text
		}
		return f, nil
	}
	return nil, p.unexpected("")
}

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
			return nil, p.unexpected("[")
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
			return nil, p.errAt(p.tok, "syntax error: invalid parameter "+strconv.Quote(p.tok.val)+" for "+e.Op+": must be a positive integer")
		}
		e.Param = int(k)
		p.next()
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
	inner, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if _, ok := inner.(*LogExpr); ok {
		return nil, p.unexpected("")
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

// parseLabelReplace reads label_replace(expr, "dst", "replacement", "src", "regex").
func (p *parser) parseLabelReplace() (Expr, error) {
	p.next()
	if err := p.expect("("); err != nil {
		return nil, err
	}
	inner, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if _, ok := inner.(*LogExpr); ok {
		return nil, p.unexpected(",")
	}
	var args [4]string
	var regexTok token
	for i := range args {
		if err := p.expect(","); err != nil {
			return nil, err
		}
		if p.tok.kind != tString {
			return nil, p.unexpected("STRING")
		}
		args[i] = p.tok.val
		regexTok = p.tok
		p.next()
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	e := &LabelReplaceExpr{Inner: inner, Dst: args[0], Replacement: args[1], Src: args[2], Regex: args[3]}
	re, err := regexp.Compile("^(?s:" + e.Regex + ")$")
	if err != nil {
		return nil, p.errAt(regexTok, "syntax error: invalid regular expression in label_replace(): "+e.Regex)
	}
	if !validLabelName(e.Dst) {
		return nil, p.errAt(regexTok, "syntax error: invalid destination label name in label_replace(): "+e.Dst)
	}
	e.re = re
	return e, nil
}

func validLabelName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}
