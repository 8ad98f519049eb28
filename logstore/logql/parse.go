package logql

// ParseExpr parses a LogQL query.
func ParseExpr(q string) (Expr, error) {
	return nil, &ParseError{Msg: "not implemented"}
}

// ParseMatchers parses a bare stream selector such as {a="b", c=~"d.*"}.
func ParseMatchers(selector string) ([]*Matcher, error) {
	return nil, &ParseError{Msg: "not implemented"}
}
