package logql

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowtap/flowtap/internal/timegrammar"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDuration
	tBytes
	tPunct
)

type token struct {
	kind tokKind
	val  string // identifier, unquoted string, or punctuation text
	num  float64
	dur  time.Duration
	pos  int // byte offset in the query
}

// keywords are identifiers Loki's lexer turns into their own tokens; errors name them as
// written instead of IDENTIFIER.
var keywords = map[string]bool{
	"by": true, "without": true, "bool": true, "on": true, "ignoring": true, "offset": true,
	"and": true, "or": true, "unless": true, "json": true, "logfmt": true, "pattern": true,
	"regexp": true, "unpack": true, "line_format": true, "label_format": true, "keep": true,
	"drop": true, "unwrap": true, "ip": true, "duration": true, "duration_seconds": true, "bytes": true,
}

func (t token) name() string {
	switch t.kind {
	case tEOF:
		return "$end"
	case tIdent:
		if keywords[t.val] || rangeOps[t.val] || vectorOps[t.val] {
			return t.val
		}
		return "IDENTIFIER"
	case tString:
		return "STRING"
	case tNumber:
		return "NUMBER"
	case tDuration:
		return "DURATION"
	case tBytes:
		return "BYTES"
	}
	return t.val
}

// lexer splits a query into tokens on demand, so that a parse error early in a huge
// query costs nothing for the rest of it.
type lexer struct {
	q       string
	i       int
	nesting int // open brackets, bounded by MaxDepth
}

// next returns the next token; at the end it keeps returning tEOF.
func (l *lexer) next() (token, error) {
	q, i := l.q, l.i
	defer func() { l.i = i }()
	for {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
			i++
		}
		// # starts a comment to the end of the line, as in Loki.
		if i < len(q) && q[i] == '#' {
			for i < len(q) && q[i] != '\n' {
				i++
			}
			continue
		}
		if i >= len(q) {
			return token{kind: tEOF, pos: len(q)}, nil
		}
		start := i
		c := q[i]
		switch {
		case isIdentStart(c):
			for i < len(q) && isIdentChar(q[i]) {
				i++
			}
			return token{kind: tIdent, val: q[start:i], pos: start}, nil
		case c == '-' && i+2 < len(q) && q[i+1] == '-' && isIdentStart(q[i+2]):
			i += 2
			for i < len(q) && (isIdentChar(q[i]) || q[i] == '-') {
				i++
			}
			return token{kind: tIdent, val: q[start:i], pos: start}, nil
		case c == '"' || c == '`':
			s, n, err := unquote(q[i:])
			if err != nil {
				return token{}, posError(q, start, "syntax error: "+err.Error())
			}
			i += n
			return token{kind: tString, val: s, pos: start}, nil
		case isDigit(c) || (c == '.' && i+1 < len(q) && isDigit(q[i+1])):
			t, n, err := lexNumber(q[i:])
			if bd, ok := err.(badDuration); ok {
				// Loki reports it at line 0 and the 0-based column
				return token{}, &ParseError{Line: 0, Col: start, Msg: bd.Error()}
			}
			if err != nil {
				return token{}, posError(q, start, "syntax error: "+err.Error())
			}
			t.pos = start
			i += n
			return t, nil
		default:
			p := ""
			for _, op := range punctuation {
				if strings.HasPrefix(q[i:], op) {
					p = op
					break
				}
			}
			if p == "" {
				r, _ := utf8.DecodeRuneInString(q[i:])
				return token{}, posError(q, start, "syntax error: unexpected character: "+strconv.QuoteRune(r))
			}
			i += len(p)
			switch p {
			case "(", "[", "{":
				if l.nesting++; l.nesting > MaxDepth {
					return token{}, posError(q, start, tooDeep)
				}
			case ")", "]", "}":
				l.nesting--
			}
			return token{kind: tPunct, val: p, pos: start}, nil
		}
	}
}

// MaxDepth bounds how deeply a query may nest (brackets, unary signs, chained
// operators): parsing and evaluation recurse per level, and a query nested hundreds of
// thousands deep must get a parse error, not exhaust the stack.
const MaxDepth = 1000

const tooDeep = "syntax error: query nested too deeply (more than 1000 levels)"

// punctuation lists operators longest first so that prefixes lose.
var punctuation = []string{"|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "{", "}", "(", ")", "[", "]", ",", "|", "=", ">", "<", "+", "-", "*", "/", "%", "^"}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

// unquote reads a "double-quoted" (Go escapes) or `raw` string at the start of s and
// returns its value and length.
func unquote(s string) (string, int, error) {
	q := s[0]
	if q == '`' {
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", 0, errString("literal not terminated")
		}
		return s[1 : end+1], end + 2, nil
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '"':
			v, err := strconv.Unquote(s[:i+1])
			if err != nil {
				return "", 0, errString("invalid char escape")
			}
			return v, i + 1, nil
		case '\n':
			return "", 0, errString("literal not terminated")
		}
		i++
	}
	return "", 0, errString("literal not terminated")
}

type errString string

func (e errString) Error() string { return string(e) }

// lexNumber reads a number, a duration (5m, 1h30m) or a byte size (10KB) at the start of s.
func lexNumber(s string) (token, int, error) {
	i := 0
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		i = 2
		for i < len(s) && (isDigit(s[i]) || s[i] >= 'a' && s[i] <= 'f' || s[i] >= 'A' && s[i] <= 'F') {
			i++
		}
		v, err := strconv.ParseInt(s[2:i], 16, 64)
		if err != nil {
			return token{}, 0, errString("invalid number " + s[:i])
		}
		return token{kind: tNumber, num: float64(v), val: s[:i]}, i, nil
	}
	for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
		i++
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') && i+1 < len(s) && (isDigit(s[i+1]) || (s[i+1] == '-' || s[i+1] == '+') && i+2 < len(s) && isDigit(s[i+2])) {
		i += 2
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && isIdentStart(s[i]) {
		for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
			i++
		}
		text := s[:i]
		if d, err := parseDuration(text); err == nil {
			return token{kind: tDuration, dur: d, val: text}, i, nil
		}
		if b, err := parseBytes(text); err == nil {
			return token{kind: tBytes, num: float64(b), val: text}, i, nil
		}
		return token{}, 0, badDuration(text)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return token{}, 0, errString("invalid number " + s[:i])
	}
	return token{kind: tNumber, num: v, val: s[:i]}, i, nil
}

// parseDuration is LogQL's duration: Go's grammar (fractions and signs, "1.5h", "-5m"),
// else flowtap's one grammar (internal/timegrammar: d, w and y units, "1d12h"), but never
// a bare number, which LogQL reads as a number, not as seconds.
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, errString("duration " + strconv.Quote(s) + " has no unit")
	}
	return timegrammar.ParseDuration(s)
}

var byteUnits = map[string]uint64{
	"b": 1, "kb": 1000, "kib": 1 << 10, "ki": 1 << 10, "k": 1000, "mb": 1000 * 1000, "mib": 1 << 20, "mi": 1 << 20, "m": 1000 * 1000,
	"gb": 1e9, "gib": 1 << 30, "gi": 1 << 30, "g": 1e9, "tb": 1e12, "tib": 1 << 40, "ti": 1 << 40, "t": 1e12,
	"pb": 1e15, "pib": 1 << 50, "pi": 1 << 50, "p": 1e15,
}

// parseBytes reads a size such as 10KB, 1.5MiB or 42 (bytes).
func parseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	j := 0
	for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
		j++
	}
	if j == 0 {
		return 0, errString("bad size")
	}
	n, err := strconv.ParseFloat(s[:j], 64)
	if err != nil {
		return 0, err
	}
	unit := strings.ToLower(strings.TrimSpace(s[j:]))
	if unit == "" {
		return uint64(n), nil
	}
	m, ok := byteUnits[unit]
	if !ok {
		return 0, errString("bad size unit")
	}
	return uint64(n * float64(m)), nil
}

// posError builds a ParseError at byte offset off of q.
func posError(q string, off int, msg string) *ParseError {
	if off > len(q) {
		off = len(q)
	}
	line, col := 1, 1
	for _, r := range q[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &ParseError{Line: line, Col: col, Msg: msg}
}

// badDuration is Loki's lexer error for a number with an unknown unit.
type badDuration string

func (d badDuration) Error() string {
	_, err := time.ParseDuration(string(d))
	if err == nil {
		return "invalid duration " + strconv.Quote(string(d))
	}
	return strings.TrimPrefix(err.Error(), "time: ")
}
