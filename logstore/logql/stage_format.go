package logql

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// templateState is what line_format and label_format templates see.
type templateState struct {
	line string
	ts   int64
	data map[string]string
}

func newTemplate(name, text string, st *templateState) (*template.Template, error) {
	funcs := make(template.FuncMap, len(templateFuncs)+2)
	for k, v := range templateFuncs {
		funcs[k] = v
	}
	funcs["__line__"] = func() string { return st.line }
	funcs["__timestamp__"] = func() time.Time { return time.Unix(0, st.ts) }
	return template.New(name).Option("missingkey=zero").Funcs(funcs).Parse(text)
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
	t, err := newTemplate("line", text, &s.st)
	if err != nil {
		return nil, fmt.Errorf("invalid line template: %v", err)
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
	t, err := newTemplate("label", o.Src, o.st)
	if err != nil {
		return fmt.Errorf("invalid template for label '%s': %v", o.Dst, err)
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

func (s *LabelFormatStage) String() string { return "| label_format " + s.ops(", ") }

// ops writes the operations back as LogQL, joined by sep (Loki's errors join them by ",").
func (s *LabelFormatStage) ops(sep string) string {
	var parts []string
	for _, o := range s.Ops {
		if o.Rename {
			parts = append(parts, o.Dst+"="+o.Src)
		} else {
			parts = append(parts, o.Dst+"="+strconv.Quote(o.Src))
		}
	}
	return strings.Join(parts, sep)
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
		if s.Keep && (l.Name == ErrorLabel || l.Name == ErrorDetailsLabel) {
			continue // keep never drops the error labels, as in Loki
		}
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
	return w + strings.Join(parts, ",")
}
