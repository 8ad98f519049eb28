package logql

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// LineFilterStage is a chain of line filters: |= "a" != "b" |~ "c.*".
type LineFilterStage struct {
	Filters []LineFilter
}

// LineFilter is one line filter; Values holds the alternatives of |= "a" or "b".
type LineFilter struct {
	Op     string // |=, !=, |~, !~
	Values []string
	IP     string // set for |= ip("...")
	res    []*regexp.Regexp
	ip     *ipMatcher
	pats   [][]patternNode // for |> and !>
}

// add appends one filter; isIP marks |= ip("...") so that an empty address is
// rejected rather than read as "no ip filter".
func (f *LineFilterStage) add(op string, values []string, ip string, isIP bool) error {
	lf := LineFilter{Op: op, Values: values, IP: ip}
	if isIP {
		m, err := newIPMatcher(ip)
		if err != nil {
			return err
		}
		lf.ip = m
	}
	if op == "|>" || op == "!>" {
		for _, v := range values {
			var ps PatternStage
			if _, err := ps.split(v); err != nil {
				return err
			}
			for _, n := range ps.nodes {
				if n.capture != "" && n.capture != "_" {
					return fmt.Errorf("named captures are not allowed: found '<%s>'", n.capture)
				}
			}
			lf.pats = append(lf.pats, ps.nodes)
		}
	}
	if op == "|~" || op == "!~" {
		for _, v := range values {
			re, err := regexp.Compile(v)
			if err != nil {
				return err
			}
			if regexp.QuoteMeta(v) == v {
				re = nil // a literal: strings.Contains is faster
			}
			lf.res = append(lf.res, re)
		}
	}
	f.Filters = append(f.Filters, lf)
	return nil
}

func (f *LineFilter) match(line string) bool {
	if f.ip != nil {
		return f.ip.inLine(line) == (f.Op == "|=")
	}
	positive := f.Op == "|=" || f.Op == "|~" || f.Op == "|>"
	for i, v := range f.Values {
		var hit bool
		if f.pats != nil {
			hit = patternTest(f.pats[i], line)
		} else if (f.Op == "|~" || f.Op == "!~") && f.res[i] != nil {
			hit = f.res[i].MatchString(line)
		} else {
			hit = strings.Contains(line, v)
		}
		if hit {
			return positive
		}
	}
	return !positive
}

func (f *LineFilterStage) process(_ int64, line string, _ *labelsBuilder) (string, bool) {
	for i := range f.Filters {
		if !f.Filters[i].match(line) {
			return line, false
		}
	}
	return line, true
}

func (f *LineFilterStage) String() string {
	var b strings.Builder
	for i, lf := range f.Filters {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(lf.Op + " ")
		if lf.ip != nil {
			b.WriteString("ip(" + strconv.Quote(lf.IP) + ")")
			continue
		}
		for j, v := range lf.Values {
			if j > 0 {
				b.WriteString(" or ")
			}
			b.WriteString(strconv.Quote(v))
		}
	}
	return b.String()
}

// patternTest reports whether line matches a pattern line filter: its literals occur
// in order, each after at least one byte of the capture before it; a pattern ending in
// a literal must end the line, one ending in a capture must leave text for it. As in
// Loki, the first literal need not start the line.
func patternTest(nodes []patternNode, line string) bool {
	if len(line) == 0 || len(nodes) == 0 {
		return len(line) == 0 && len(nodes) == 0
	}
	off := 0
	for i, n := range nodes {
		if n.capture != "" {
			continue
		}
		j := strings.Index(line[off:], n.lit)
		if j < 0 || i != 0 && j == 0 {
			return false
		}
		off += j + len(n.lit)
	}
	endsOnCapture := nodes[len(nodes)-1].capture != ""
	return endsOnCapture == (off != len(line))
}

type ipMatcher struct {
	prefix   netip.Prefix
	lo, hi   netip.Addr
	isPrefix bool
}

func newIPMatcher(s string) (*ipMatcher, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("syntax error: invalid ip(%q): %v", s, err)
		}
		return &ipMatcher{prefix: p.Masked(), isPrefix: true}, nil
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		b, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || a.Is4() != b.Is4() || b.Less(a) {
			return nil, fmt.Errorf("syntax error: invalid ip range %q", s)
		}
		return &ipMatcher{lo: a, hi: b}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("syntax error: invalid ip(%q): %v", s, err)
	}
	return &ipMatcher{lo: a, hi: a}, nil
}

func (m *ipMatcher) match(a netip.Addr) bool {
	a = a.Unmap()
	if m.isPrefix {
		return m.prefix.Contains(a)
	}
	return a.Is4() == m.lo.Is4() && !a.Less(m.lo) && !m.hi.Less(a)
}

func (m *ipMatcher) matchString(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && m.match(a)
}

// inLine reports whether any address-looking token of line matches.
func (m *ipMatcher) inLine(line string) bool {
	i := 0
	for i < len(line) {
		for i < len(line) && !isIPChar(line[i]) {
			i++
		}
		j := i
		for j < len(line) && isIPChar(line[j]) {
			j++
		}
		if j-i >= 2 && strings.ContainsAny(line[i:j], ".:") && m.matchString(line[i:j]) {
			return true
		}
		i = j
	}
	return false
}

func isIPChar(c byte) bool {
	return isDigit(c) || c == '.' || c == ':' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
