package logql

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// PatternStage is | pattern "<a> - <_> <b>".
type PatternStage struct {
	Pattern   string
	nodes     []patternNode
	lastNamed int // index of the last named capture: matching stops after it
}

// patternNode is a literal or a capture (name "_" is unnamed).
type patternNode struct {
	lit     string
	capture string
}

func newPatternStage(pat string) (*PatternStage, error) {
	s := &PatternStage{Pattern: pat}
	named, err := s.split(pat)
	if err != nil {
		return nil, err
	}
	if named == 0 {
		return nil, errors.New("at least one capture is required")
	}
	for i, n := range s.nodes {
		if n.capture != "" && n.capture != "_" {
			s.lastNamed = i
		}
	}
	return s, nil
}

// split turns pat into literal and capture nodes and counts the named captures.
func (s *PatternStage) split(pat string) (int, error) {
	seen := map[string]bool{}
	named := 0
	rest := pat
	for rest != "" {
		i := strings.IndexByte(rest, '<')
		if i > 0 || i < 0 {
			if i < 0 {
				i = len(rest)
			}
			s.appendLit(rest[:i])
			rest = rest[i:]
			continue
		}
		j := strings.IndexByte(rest, '>')
		name := ""
		if j > 1 {
			name = rest[1:j]
		}
		if j < 0 || !validCaptureName(name) {
			s.appendLit(rest[:1])
			rest = rest[1:]
			continue
		}
		if n := len(s.nodes); n > 0 && s.nodes[n-1].lit == "" {
			return 0, errors.New("found consecutive capture '<" + s.nodes[n-1].capture + ">" + rest[:j+1] + "': invalid expression")
		}
		if name != "_" {
			if seen[name] {
				return 0, errors.New("duplicate capture name (" + name + "): invalid expression")
			}
			seen[name] = true
			named++
		}
		s.nodes = append(s.nodes, patternNode{capture: name})
		rest = rest[j+1:]
	}
	return named, nil
}

func validCaptureName(n string) bool {
	if n == "" || !isIdentStart(n[0]) {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isIdentChar(n[i]) {
			return false
		}
	}
	return true
}

func (s *PatternStage) appendLit(l string) {
	if n := len(s.nodes); n > 0 && s.nodes[n-1].capture == "" {
		s.nodes[n-1].lit += l
		return
	}
	s.nodes = append(s.nodes, patternNode{lit: l})
}

// process matches left to right: each capture runs to the first occurrence of the
// literal after it; if that literal is missing, the capture takes the rest of the line
// and later captures stay unset (Loki's behaviour).
func (s *PatternStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	nodes := s.nodes
	in := line
	if nodes[0].capture == "" {
		if !strings.HasPrefix(in, nodes[0].lit) {
			return line, true
		}
		in = in[len(nodes[0].lit):]
		nodes = nodes[1:]
	}
	for len(nodes) > 0 {
		c := nodes[0].capture
		if len(nodes) == 1 {
			if c != "_" {
				b.setExtracted(c, in)
			}
			return line, true
		}
		lit := nodes[1].lit
		nodes = nodes[2:]
		var i int
		if len(lit) == 1 {
			i = strings.IndexByte(in, lit[0]) // the common case: fields split by one space
		} else {
			i = strings.Index(in, lit)
		}
		if i < 0 {
			if c != "_" {
				b.setExtracted(c, in)
			}
			return line, true
		}
		if c != "_" {
			b.setExtracted(c, in[:i])
			if len(s.nodes)-len(nodes)-2 == s.lastNamed {
				return line, true // only unnamed captures are left
			}
		}
		in = in[i+len(lit):]
	}
	return line, true
}

func (s *PatternStage) String() string { return "| pattern " + strconv.Quote(s.Pattern) }

// RegexpStage is | regexp "(?P<name>re)": named groups become labels.
type RegexpStage struct {
	Expr  string
	re    *regexp.Regexp
	names []string
}

func newRegexpStage(expr string) (*RegexpStage, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	s := &RegexpStage{Expr: expr, re: re, names: re.SubexpNames()}
	named := false
	for _, n := range s.names {
		if n != "" {
			named = true
		}
	}
	if !named {
		return nil, errors.New("at least one named capture must be supplied")
	}
	return s, nil
}

func (s *RegexpStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	m := s.re.FindStringSubmatchIndex(line)
	if m == nil {
		return line, true
	}
	for i, n := range s.names {
		if n != "" && m[2*i] >= 0 {
			b.setExtracted(n, line[m[2*i]:m[2*i+1]])
		}
	}
	return line, true
}

func (s *RegexpStage) String() string { return "| regexp " + strconv.Quote(s.Expr) }
