package logstore

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowtap/flowtap/logstore/logql"
)

// ParseLabels parses a stream label set as Loki's push API carries it, `{a="1", b="2"}`,
// into labels sorted by name. Values are Go-style double-quoted strings (Loki also takes
// backquotes); names follow Prometheus rules. A set with no labels, a repeated name or an
// invalid name is an error, as in Loki.
func ParseLabels(s string) (logql.Labels, error) {
	p := labelParser{s: s}
	ls, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("error parsing labels %s: %w", s, err)
	}
	return ls, nil
}

type labelParser struct {
	s   string
	pos int
}

func (p *labelParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *labelParser) parse() (logql.Labels, error) {
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '{' {
		return nil, fmt.Errorf("col %d: expected '{'", p.pos+1)
	}
	p.pos++
	var ls logql.Labels
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			break
		}
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("col %d: unexpected end, expected '}'", p.pos+1)
		}
		if len(ls) > 0 {
			if p.s[p.pos] != ',' {
				return nil, fmt.Errorf("col %d: expected ',' or '}'", p.pos+1)
			}
			p.pos++
			p.skipSpace()
		}
		start := p.pos
		for p.pos < len(p.s) && isNameChar(p.s[p.pos], p.pos == start) {
			p.pos++
		}
		if p.pos == start {
			return nil, fmt.Errorf("col %d: expected a label name", p.pos+1)
		}
		name := p.s[start:p.pos]
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '=' {
			return nil, fmt.Errorf("col %d: expected '=' after label %s", p.pos+1, name)
		}
		p.pos++
		p.skipSpace()
		val, err := p.quoted()
		if err != nil {
			return nil, err
		}
		ls = append(ls, logql.Label{Name: name, Value: val})
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("col %d: unexpected end, expected '}'", p.pos+1)
		}
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("col %d: unexpected text after '}'", p.pos+1)
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("at least one label pair is required per stream")
	}
	ls.Sort()
	for i := 1; i < len(ls); i++ {
		if ls[i].Name == ls[i-1].Name {
			return nil, fmt.Errorf("duplicate label name %s", ls[i].Name)
		}
	}
	return ls, nil
}

func (p *labelParser) quoted() (string, error) {
	if p.pos >= len(p.s) {
		return "", fmt.Errorf("col %d: expected a quoted value", p.pos+1)
	}
	q := p.s[p.pos]
	if q == '`' {
		end := strings.IndexByte(p.s[p.pos+1:], '`')
		if end < 0 {
			return "", fmt.Errorf("col %d: unterminated raw string", p.pos+1)
		}
		v := p.s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, nil
	}
	if q != '"' {
		return "", fmt.Errorf("col %d: expected a quoted value", p.pos+1)
	}
	// Find the closing quote, skipping escaped characters, then let strconv decode.
	i := p.pos + 1
	escaped := false
	for ; i < len(p.s); i++ {
		c := p.s[i]
		if escaped {
			escaped = false
			continue
		}
		if c == '\\' {
			escaped = true
			continue
		}
		if c == '"' {
			break
		}
	}
	if i >= len(p.s) {
		return "", fmt.Errorf("col %d: unterminated string", p.pos+1)
	}
	raw := p.s[p.pos : i+1]
	p.pos = i + 1
	if !strings.ContainsRune(raw, '\\') {
		return raw[1 : len(raw)-1], nil
	}
	v, err := strconv.Unquote(raw)
	if err != nil {
		return "", fmt.Errorf("col %d: bad string %s: %w", p.pos-len(raw)+1, raw, err)
	}
	return v, nil
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// validLabelName reports whether s is a Prometheus label name.
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i], i == 0) {
			return false
		}
	}
	return true
}
