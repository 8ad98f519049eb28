package logql

import (
	"strconv"
	"strings"
)

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
	if p.is("|") && p.peek(1).kind == tIdent && p.peek(1).val == "unwrap" {
		p.next()
		return nil, p.unexpected("")
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
		ipArg, isIP := "", false
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
			ipArg, isIP = p.tok.val, true
			p.next()
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		case op == "|=" || op == "!=":
			return nil, p.unexpected("STRING or ip")
		default:
			return nil, p.unexpected("STRING")
		}
		if err := f.add(op, alt, ipArg, isIP); err != nil {
			text := op + " " + strconv.Quote(strings.Join(alt, ""))
			if isIP {
				text = op + " ip(" + strconv.Quote(ipArg) + ")"
			}
			p.deferErr("stage '" + text + "' : " + err.Error())
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
					// Loki reads an unknown --flag as two minus signs and a name
					return nil, posError(p.q, p.tok.pos+2, "syntax error: unexpected IDENTIFIER, expecting NUMBER")
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
				switch t.val {
				case "pattern":
					p.deferErr("invalid pattern parser: " + err.Error())
				case "regexp":
					p.deferErr("invalid regexp parser: " + err.Error())
				default:
					p.deferErr("stage '| line_format " + strconv.Quote(arg.val) + "' : " + err.Error())
				}
				return &LineFilterStage{}, nil // never run: the query fails once parsed
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
	for {
		if p.tok.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		dst := p.tok.val
		p.next()
		if err := p.expect("="); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tIdent:
			st.Ops = append(st.Ops, LabelFormatOp{Dst: dst, Src: p.tok.val, Rename: true})
		case tString:
			st.Ops = append(st.Ops, LabelFormatOp{Dst: dst, Src: p.tok.val})
		default:
			return nil, p.unexpected("IDENTIFIER or STRING")
		}
		p.next()
		if !p.is(",") {
			break
		}
		p.next()
	}
	// Loki checks the whole stage once it is read, and names it in the error.
	fail := func(msg string) (Stage, error) {
		p.deferErr("stage '| label_format " + st.ops(",") + "' : " + msg)
		return st, nil
	}
	seen := map[string]bool{}
	for _, o := range st.Ops {
		if o.Dst == ErrorLabel {
			return fail(ErrorLabel + " cannot be formatted")
		}
		if seen[o.Dst] {
			return fail("multiple label name '" + o.Dst + "' not allowed in a single format operation")
		}
		seen[o.Dst] = true
	}
	for i := range st.Ops {
		if o := &st.Ops[i]; !o.Rename {
			if err := o.compile(); err != nil {
				return fail(err.Error())
			}
		}
	}
	return st, nil
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
