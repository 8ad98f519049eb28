package logql

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// Stage is one step of a log pipeline: a line filter, parser, label filter or formatter.
// Stages keep per-query scratch state: an Expr is evaluated by one query at a time.
type Stage interface {
	String() string
	// process returns the (possibly rewritten) line and whether it is kept.
	process(ts int64, line string, b *labelsBuilder) (string, bool)
}

// ---- line filters ----

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

func (f *LineFilterStage) add(op string, values []string, ip string) error {
	lf := LineFilter{Op: op, Values: values, IP: ip}
	if ip != "" {
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
					return fmt.Errorf("syntax error: invalid pattern: named captures are not allowed: found '<%s>'", n.capture)
				}
			}
			lf.pats = append(lf.pats, ps.nodes)
		}
	}
	if op == "|~" || op == "!~" {
		for _, v := range values {
			re, err := regexp.Compile(v)
			if err != nil {
				return fmt.Errorf("syntax error: invalid regexp: %v", err)
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

// ---- ip matching ----

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

// ---- parsers ----

// ExtractParam is a name="expression" argument of json or logfmt.
type ExtractParam struct {
	Name, Expr string
	path       []any // string keys and int indexes, for json
}

// JSONStage is | json [params]: extracts every scalar of a JSON object (nested keys joined
// with _) or only the given paths.
type JSONStage struct {
	Params []ExtractParam
	prefix []byte
}

func (s *JSONStage) init(params []ExtractParam) error {
	for i := range params {
		path, err := parseJSONPath(params[i].Expr)
		if err != nil {
			return fmt.Errorf("syntax error: invalid json path %q: %v", params[i].Expr, err)
		}
		params[i].path = path
	}
	s.Params = params
	return nil
}

// parseJSONPath reads a.b[0]["c d"].
func parseJSONPath(s string) ([]any, error) {
	var out []any
	i := 0
	for i < len(s) {
		switch {
		case s[i] == '.':
			i++
		case s[i] == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, errors.New("unclosed [")
			}
			in := strings.TrimSpace(s[i+1 : i+end])
			i += end + 1
			if strings.HasPrefix(in, `"`) {
				k, err := strconv.Unquote(in)
				if err != nil {
					return nil, err
				}
				out = append(out, k)
				continue
			}
			n, err := strconv.Atoi(in)
			if err != nil {
				return nil, fmt.Errorf("bad index %q", in)
			}
			out = append(out, n)
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty path")
	}
	return out, nil
}

func (s *JSONStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	if len(s.Params) > 0 {
		return s.extractPaths(line, b)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		b.setErr(errJSON, err.Error())
		return line, true
	}
	obj, ok := v.(map[string]any)
	if !ok {
		b.setErr(errJSON, "Value looks like object, but can't find closing '}' symbol")
		return line, true
	}
	s.prefix = s.prefix[:0]
	s.flatten(obj, b)
	return line, true
}

func (s *JSONStage) flatten(obj map[string]any, b *labelsBuilder) {
	for k, v := range obj {
		n := len(s.prefix)
		if n > 0 {
			s.prefix = append(s.prefix, '_')
		}
		s.prefix = appendSanitized(s.prefix, k)
		switch v := v.(type) {
		case map[string]any:
			s.flatten(v, b)
		case []any:
			// arrays are not extracted, as in Loki
		default:
			if str, ok := jsonScalar(v); ok {
				b.setExtracted(string(s.prefix), str)
			}
		}
		s.prefix = s.prefix[:n]
	}
}

func jsonScalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "", false
	}
	out, err := json.Marshal(v)
	return string(out), err == nil
}

// extractPaths is json with parameters: each path's value becomes its label, as the raw
// JSON text for objects and arrays, empty for null or a missing path (as in Loki).
func (s *JSONStage) extractPaths(line string, b *labelsBuilder) (string, bool) {
	if line == "" {
		return line, true
	}
	if c := line[0]; c != '{' && c != '[' && c != '"' {
		b.setErr(errJSON, "")
		return line, true
	}
	if !json.Valid([]byte(line)) {
		b.setErr(errJSON, "Value looks like object, but can't find closing '}' symbol")
	}
	for _, p := range s.Params {
		val, _ := jsonPathRaw(line, p.path)
		b.setExtracted(p.Name, val)
	}
	return line, true
}

// jsonPathRaw follows path (string keys and int indexes) through the JSON text doc.
func jsonPathRaw(doc string, path []any) (string, bool) {
	raw := json.RawMessage(doc)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return "", false
			}
			v, ok := m[k]
			if !ok {
				return "", false
			}
			raw = v
		case int:
			var a []json.RawMessage
			if json.Unmarshal(raw, &a) != nil || k < 0 || k >= len(a) {
				return "", false
			}
			raw = a[k]
		}
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", true
	case raw[0] == '"':
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return "", false
		}
		return str, true
	}
	return string(raw), true
}

// appendSanitized appends a label name made of s: invalid characters become _, and a
// leading digit gets a _ prefix, as Loki does.
func appendSanitized(dst []byte, s string) []byte {
	s = strings.TrimSpace(s)
	if s != "" && isDigit(s[0]) {
		dst = append(dst, '_')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isIdentChar(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '_')
		}
	}
	return dst
}

func sanitizeName(s string) string {
	for i := 0; i < len(s); i++ {
		if !isIdentChar(s[i]) || i == 0 && isDigit(s[0]) {
			return string(appendSanitized(nil, s))
		}
	}
	return strings.TrimSpace(s)
}

func (s *JSONStage) String() string { return "| json" + paramsString(s.Params) }

func paramsString(ps []ExtractParam) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" " + p.Name + "=" + strconv.Quote(p.Expr))
	}
	return b.String()
}

// LogfmtStage is | logfmt [--strict] [--keep-empty] [params].
type LogfmtStage struct {
	Strict, KeepEmpty bool
	Params            []ExtractParam
}

func (s *LogfmtStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	if len(s.Params) > 0 {
		// every requested label exists (empty) even when the line lacks its key
		for _, p := range s.Params {
			if !b.baseHas(p.Name) {
				b.setExtracted(p.Name, "")
			}
		}
	}
	var sc logfmtScanner
	sc.line = line
	for !sc.eol() {
		if !sc.scan() {
			if s.Strict {
				break
			}
			continue
		}
		key := sanitizeName(sc.key)
		if key == "" {
			continue
		}
		val := sc.value
		if !utf8.ValidString(val) {
			val = strings.ToValidUTF8(val, "")
			if len(s.Params) > 0 {
				val = ""
			}
		}
		if len(s.Params) > 0 {
			for _, p := range s.Params {
				if p.Expr == key || p.Name == key && p.Expr == p.Name {
					name := p.Name
					if b.baseHas(name) {
						name += "_extracted"
					}
					b.set(name, val)
				}
			}
			continue
		}
		if val == "" && !s.KeepEmpty {
			continue
		}
		b.setExtracted(key, val)
	}
	if s.Strict && sc.err != "" {
		b.setErr(errLogfmt, sc.err)
	}
	return line, true
}

// logfmtScanner reads key=value pairs with Loki's rules: a key ends at '=' or blank
// (a bare key has an empty value); a quote in a key, or '=' or a quote inside an
// unquoted value, is a syntax error that skips the pair; quoted values use JSON
// escapes. err keeps the last error, reported only by --strict.
type logfmtScanner struct {
	line, key, value string
	pos              int
	err              string
}

func (d *logfmtScanner) eol() bool { return d.pos >= len(d.line) }

func (d *logfmtScanner) fail(msg string) {
	d.err = fmt.Sprintf("logfmt syntax error at pos %d : %s", d.pos+1, msg)
}

func (d *logfmtScanner) skipValue() bool {
	for d.pos < len(d.line) && d.line[d.pos] > ' ' {
		d.pos++
	}
	return false
}

// scan reads the next pair; false means a syntax error (or nothing left).
func (d *logfmtScanner) scan() bool {
	d.key, d.value = "", ""
	line := d.line
	for d.pos < len(line) && line[d.pos] <= ' ' {
		d.pos++
	}
	if d.pos >= len(line) {
		return false
	}
	start := d.pos
	for ; d.pos < len(line); d.pos++ {
		c := line[d.pos]
		switch {
		case c == '=':
			if d.pos == start {
				d.fail("unexpected '='")
				return d.skipValue()
			}
			d.key = line[start:d.pos]
			if !utf8.ValidString(d.key) {
				d.fail("invalid key")
				return d.skipValue()
			}
			return d.scanValue()
		case c == '"':
			d.fail(`unexpected '"'`)
			return d.skipValue()
		case c <= ' ':
			d.key = line[start:d.pos]
			if !utf8.ValidString(d.key) {
				d.fail("invalid key")
				return false
			}
			return true
		}
	}
	d.key = line[start:]
	if !utf8.ValidString(d.key) {
		d.fail("invalid key")
		return false
	}
	return true
}

func (d *logfmtScanner) scanValue() bool {
	line := d.line
	d.pos++ // past '='
	if d.pos >= len(line) || line[d.pos] <= ' ' {
		return true
	}
	if line[d.pos] == '"' {
		start := d.pos
		esc, hasEsc := false, false
		for i := d.pos + 1; i < len(line); i++ {
			c := line[i]
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc, hasEsc = true, true
			case c == '"':
				d.pos = i + 1
				if !hasEsc {
					d.value = line[start+1 : i]
					return true
				}
				var v string
				if err := json.Unmarshal([]byte(line[start:d.pos]), &v); err != nil {
					d.fail("invalid quoted value")
					return false
				}
				d.value = v
				return true
			}
		}
		d.pos = len(line)
		d.fail("unterminated quoted value")
		return false
	}
	start := d.pos
	for ; d.pos < len(line); d.pos++ {
		switch c := line[d.pos]; {
		case c == '=' || c == '"':
			d.fail(fmt.Sprintf("unexpected %q", c))
			return d.skipValue()
		case c <= ' ':
			d.value = line[start:d.pos]
			return true
		}
	}
	d.value = line[start:]
	return true
}

func (s *LogfmtStage) String() string {
	out := "| logfmt"
	if s.Strict {
		out += " --strict"
	}
	if s.KeepEmpty {
		out += " --keep-empty"
	}
	return out + paramsString(s.Params)
}

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
		return nil, errors.New("syntax error: invalid pattern: at least one capture is required")
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
			return 0, errors.New("syntax error: invalid pattern: found consecutive capture '" + rest[:j+1] + "'")
		}
		if name != "_" {
			if seen[name] {
				return 0, errors.New("syntax error: invalid pattern: duplicate capture name (" + name + ")")
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
		return nil, fmt.Errorf("syntax error: invalid regexp: %v", err)
	}
	s := &RegexpStage{Expr: expr, re: re, names: re.SubexpNames()}
	named := false
	for _, n := range s.names {
		if n != "" {
			named = true
		}
	}
	if !named {
		return nil, errors.New("syntax error: at least one named capture must be supplied")
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

// ---- formatters ----

// templateState is what line_format and label_format templates see.
type templateState struct {
	line string
	ts   int64
	data map[string]string
}

func newTemplate(text string, st *templateState) (*template.Template, error) {
	funcs := make(template.FuncMap, len(templateFuncs)+2)
	for k, v := range templateFuncs {
		funcs[k] = v
	}
	funcs["__line__"] = func() string { return st.line }
	funcs["__timestamp__"] = func() time.Time { return time.Unix(0, st.ts) }
	return template.New("").Option("missingkey=zero").Funcs(funcs).Parse(text)
}

func (st *templateState) fill(ts int64, line string, b *labelsBuilder) {
	st.line, st.ts = line, ts
	clear(st.data)
	for _, l := range b.current() {
		st.data[l.Name] = l.Value
	}
}

// LineFormatStage is | line_format "{{.a}} {{.b}}".
type LineFormatStage struct {
	Template string
	tmpl     *template.Template
	st       templateState
	buf      bytes.Buffer
}

func newLineFormatStage(text string) (*LineFormatStage, error) {
	s := &LineFormatStage{Template: text, st: templateState{data: map[string]string{}}}
	t, err := newTemplate(text, &s.st)
	if err != nil {
		return nil, fmt.Errorf("syntax error: invalid line template: %v", err)
	}
	s.tmpl = t
	return s, nil
}

func (s *LineFormatStage) process(ts int64, line string, b *labelsBuilder) (string, bool) {
	s.st.fill(ts, line, b)
	s.buf.Reset()
	if err := s.tmpl.Execute(&s.buf, s.st.data); err != nil {
		b.setErr(errTemplateFormat, err.Error())
		return line, true
	}
	return s.buf.String(), true
}

func (s *LineFormatStage) String() string { return "| line_format " + strconv.Quote(s.Template) }

// LabelFormatOp is one dst=src (rename) or dst="{{template}}" of label_format.
type LabelFormatOp struct {
	Dst, Src string
	Rename   bool
	tmpl     *template.Template
	st       *templateState
}

func (o *LabelFormatOp) compile() error {
	o.st = &templateState{data: map[string]string{}}
	t, err := newTemplate(o.Src, o.st)
	if err != nil {
		return fmt.Errorf("syntax error: invalid label template: %v", err)
	}
	o.tmpl = t
	return nil
}

// LabelFormatStage is | label_format a=b, c="{{.d}}".
type LabelFormatStage struct {
	Ops []LabelFormatOp
	buf bytes.Buffer
	st  templateState
}

func (s *LabelFormatStage) process(ts int64, line string, b *labelsBuilder) (string, bool) {
	filled := false
	for i := range s.Ops {
		o := &s.Ops[i]
		if o.Rename {
			v, ok := b.get(o.Src)
			if !ok {
				continue
			}
			b.remove(o.Src)
			b.set(o.Dst, v)
			continue
		}
		// Loki fills the templates' labels once per line, before the first template
		// op: later ops do not see what earlier ops of the same stage set.
		if !filled {
			s.st.fill(ts, line, b)
			filled = true
		}
		o.st.line, o.st.ts = s.st.line, s.st.ts
		s.buf.Reset()
		if err := o.tmpl.Execute(&s.buf, s.st.data); err != nil {
			b.setErr(errTemplateFormat, err.Error())
			continue
		}
		b.set(o.Dst, s.buf.String())
	}
	return line, true
}

func (s *LabelFormatStage) String() string {
	var parts []string
	for _, o := range s.Ops {
		if o.Rename {
			parts = append(parts, o.Dst+"="+o.Src)
		} else {
			parts = append(parts, o.Dst+"="+strconv.Quote(o.Src))
		}
	}
	return "| label_format " + strings.Join(parts, ", ")
}

// KeepDropStage is | keep a, b="x" or | drop a, b="x".
type KeepDropStage struct {
	Keep     bool
	Names    []string
	Matchers []*Matcher // nil entries mean by name only
	victims  []string
}

func (s *KeepDropStage) selected(name, value string) bool {
	for i, n := range s.Names {
		if n == name && (s.Matchers[i] == nil || s.Matchers[i].Matches(value)) {
			return true
		}
	}
	return false
}

func (s *KeepDropStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	s.victims = s.victims[:0]
	for _, l := range b.current() {
		if s.selected(l.Name, l.Value) != s.Keep {
			s.victims = append(s.victims, l.Name)
		}
	}
	for _, n := range s.victims {
		b.remove(n)
	}
	return line, true
}

func (s *KeepDropStage) String() string {
	var parts []string
	for i, n := range s.Names {
		if m := s.Matchers[i]; m != nil {
			parts = append(parts, m.String())
		} else {
			parts = append(parts, n)
		}
	}
	w := "| drop "
	if s.Keep {
		w = "| keep "
	}
	return w + strings.Join(parts, ", ")
}

// ---- label filters ----

// LabelFilterStage is a label filter such as | status >= 400 and method="GET".
type LabelFilterStage struct {
	Pred LabelPredicate
}

// LabelPredicate is one node of a label filter expression.
type LabelPredicate interface {
	String() string
	test(b *labelsBuilder) bool
}

func (s *LabelFilterStage) process(_ int64, line string, b *labelsBuilder) (string, bool) {
	return line, s.Pred.test(b)
}

func (s *LabelFilterStage) String() string { return "| " + s.Pred.String() }

// StringFilter is name op "value" with =, !=, =~, !~.
type StringFilter struct{ M *Matcher }

func (f *StringFilter) test(b *labelsBuilder) bool {
	v, _ := b.get(f.M.Name)
	return f.M.Matches(v)
}

func (f *StringFilter) String() string { return f.M.String() }

// NumericFilter compares a label as a number, duration (seconds) or byte size.
type NumericFilter struct {
	Name  string
	Op    string // ==, !=, >, >=, <, <=
	Kind  tokKind
	Text  string
	Value float64
}

func (f *NumericFilter) test(b *labelsBuilder) bool {
	s, ok := b.lookup(f.Name)
	if !ok {
		return false // a line without the label is dropped, as in Loki
	}
	var v float64
	var err error
	switch f.Kind {
	case tDuration:
		var d time.Duration
		d, err = parseDuration(s)
		v = d.Seconds()
	case tBytes:
		var n uint64
		n, err = parseBytes(s)
		v = float64(n)
	default:
		v, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		b.setErr(errLabelFilter, err.Error())
		return true
	}
	return compare(f.Op, v, f.Value)
}

func compare(op string, a, b float64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "<":
		return a < b
	default:
		return a <= b
	}
}

func (f *NumericFilter) String() string { return f.Name + " " + f.Op + " " + f.Text }

// IPFilter is name = ip("cidr|range|addr") or name != ip(...).
type IPFilter struct {
	Name string
	Not  bool
	Text string
	IP   *ipMatcher
}

func (f *IPFilter) test(b *labelsBuilder) bool {
	v, _ := b.get(f.Name)
	return f.IP.matchString(v) != f.Not
}

func (f *IPFilter) String() string {
	op := "="
	if f.Not {
		op = "!="
	}
	return f.Name + op + "ip(" + strconv.Quote(f.Text) + ")"
}

// AndPredicate is L and R.
type AndPredicate struct{ L, R LabelPredicate }

func (p *AndPredicate) test(b *labelsBuilder) bool { return p.L.test(b) && p.R.test(b) }
func (p *AndPredicate) String() string             { return p.L.String() + " and " + p.R.String() }

// OrPredicate is L or R.
type OrPredicate struct{ L, R LabelPredicate }

func (p *OrPredicate) test(b *labelsBuilder) bool { return p.L.test(b) || p.R.test(b) }
func (p *OrPredicate) String() string             { return "(" + p.L.String() + " or " + p.R.String() + ")" }
