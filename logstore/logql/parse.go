package logql

// ParseExpr parses a LogQL query. Errors are *ParseError with Loki's wording.
func ParseExpr(q string) (Expr, error) {
	var deferred error
	e, err := parseAll(q, func(p *parser) (Expr, error) {
		e, err := p.parseExpr(0)
		deferred = p.deferred
		return e, err
	})
	if err != nil {
		return nil, err
	}
	if deferred != nil {
		return nil, deferred
	}
	if err := validate(e); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseMatchers parses a bare stream selector such as {a="b", c=~"d.*"}.
func ParseMatchers(selector string) ([]*Matcher, error) {
	return parseAll(selector, (*parser).parseSelector)
}

// parseAll parses q with parse, which must read all of it.
func parseAll[T any](q string, parse func(*parser) (T, error)) (T, error) {
	var zero T
	p, err := newParser(q)
	if err != nil {
		return zero, err
	}
	v, err := parse(p)
	if p.err != nil {
		return zero, p.err
	}
	if err != nil {
		return zero, err
	}
	if p.tok.kind != tEOF {
		return zero, p.unexpected("")
	}
	return v, nil
}

type parser struct {
	q    string
	lx   lexer
	toks []token // lexed so far; the last is tEOF once the end (or a lexing error) is reached
	err  error   // the first lexing error: it wins over any parse error
	i    int
	tok  token
	// deferred is the first error Loki reports only once the whole query parsed (its
	// AST and stage constructors fail without a position).
	deferred error
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

// deferErr records a positionless error to report if the query parses.
func (p *parser) deferErr(msg string) {
	if p.deferred == nil {
		p.deferred = &ParseError{Msg: msg}
	}
}

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

// parseSelector reads {name op "value", ...}.
func (p *parser) parseSelector() ([]*Matcher, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var ms []*Matcher
	if p.is("}") { // {} parses; validation then asks for a matcher, as in Loki
		p.next()
		return ms, nil
	}
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
		return nil, p.unexpected("} or ,")
	}
}
