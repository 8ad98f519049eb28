package logql

import (
	"context"
	"regexp"
	"sort"
	"strings"
)

// Label is one name=value pair of a stream.
type Label struct {
	Name, Value string
}

// Labels is a label set sorted by name.
type Labels []Label

// Get returns the value of name, or "".
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// String renders the set as Loki does: {a="1", b="2"}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Name)
		b.WriteString("=")
		b.WriteString(quoteString(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// Sort orders the labels by name.
func (ls Labels) Sort() { sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name }) }

// MatchType is the operator of a stream selector matcher.
type MatchType uint8

const (
	MatchEqual     MatchType = iota // =
	MatchNotEqual                   // !=
	MatchRegexp                     // =~
	MatchNotRegexp                  // !~
)

func (t MatchType) String() string { return [...]string{"=", "!=", "=~", "!~"}[t] }

// Matcher is one label matcher of a stream selector. Regexps are anchored at both ends, as
// in Prometheus and Loki.
type Matcher struct {
	Type  MatchType
	Name  string
	Value string
	re    *regexp.Regexp
}

// NewMatcher builds a matcher, compiling the anchored regexp for =~ and !~.
func NewMatcher(t MatchType, name, value string) (*Matcher, error) {
	m := &Matcher{Type: t, Name: name, Value: value}
	if t == MatchRegexp || t == MatchNotRegexp {
		re, err := regexp.Compile("^(?s:" + value + ")$")
		if err != nil {
			return nil, err
		}
		m.re = re
	}
	return m, nil
}

// Matches reports whether a label value (""" when the label is missing) satisfies m.
func (m *Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// String renders the matcher as written in LogQL.
func (m *Matcher) String() string { return m.Name + m.Type.String() + quoteString(m.Value) }

func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Entry is one log line with its timestamp in Unix nanoseconds.
type Entry struct {
	Timestamp int64
	Line      string
}

// EntryIterator walks a stream's entries in ascending timestamp order.
type EntryIterator interface {
	Next() bool
	At() Entry
	Err() error
}

// Querier is what the engine needs from storage, scoped to one tenant. Select calls fn once
// per stream whose labels satisfy every matcher, with an iterator over that stream's
// entries with start <= Timestamp < end (Unix ns) in ascending order (entries pushed out of
// order must come back sorted). fn's error stops the walk and is returned.
type Querier interface {
	Select(ctx context.Context, matchers []*Matcher, start, end int64, fn func(Labels, EntryIterator) error) error
}

// ReverseQuerier is a Querier that can also walk each stream newest first. The engine
// uses it for backward log queries, which then stop reading a stream once its older
// entries cannot make the limit; a plain Querier is read forward in full.
type ReverseQuerier interface {
	Querier
	// SelectReverse is Select with every iterator in descending timestamp order: the
	// exact reverse of the order Select gives, streams visited in the same order.
	SelectReverse(ctx context.Context, matchers []*Matcher, start, end int64, fn func(Labels, EntryIterator) error) error
}
