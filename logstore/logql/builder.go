package logql

// Names of the labels a pipeline sets when a stage fails, as in Loki.
const (
	ErrorLabel        = "__error__"
	ErrorDetailsLabel = "__error_details__"
)

// Error label values, as in Loki.
const (
	errJSON             = "JSONParserErr"
	errLogfmt           = "LogfmtParserErr"
	errLabelFilter      = "LabelFilterErr"
	errSampleExtraction = "SampleExtractionErr"
	errTemplateFormat   = "TemplateFormatErr"
)

// labelsBuilder holds the labels of one line as a pipeline changes them: the stream's
// labels plus what stages added or removed. It is reset per line and reused, so the
// common path allocates nothing.
type labelsBuilder struct {
	base Labels
	add  []Label  // labels set by stages; names unique
	del  []string // names removed
	tmp  Labels
}

func (b *labelsBuilder) reset(base Labels) {
	b.base = base
	b.add = b.add[:0]
	b.del = b.del[:0]
}

func (b *labelsBuilder) changed() bool { return len(b.add) > 0 || len(b.del) > 0 }

func (b *labelsBuilder) baseHas(name string) bool {
	for _, l := range b.base {
		if l.Name == name {
			return true
		}
	}
	return false
}

func (b *labelsBuilder) deleted(name string) bool {
	for _, d := range b.del {
		if d == name {
			return true
		}
	}
	return false
}

// get returns the current value of name; a label with an empty value counts as absent.
func (b *labelsBuilder) get(name string) (string, bool) {
	for i := range b.add {
		if b.add[i].Name == name {
			return b.add[i].Value, b.add[i].Value != ""
		}
	}
	if len(b.del) > 0 && b.deleted(name) {
		return "", false
	}
	for _, l := range b.base {
		if l.Name == name {
			return l.Value, l.Value != ""
		}
	}
	return "", false
}

// lookup is get, but a label set to the empty string (a parser's missing field) counts
// as present, as numeric label filters see it in Loki.
func (b *labelsBuilder) lookup(name string) (string, bool) {
	for i := range b.add {
		if b.add[i].Name == name {
			return b.add[i].Value, true
		}
	}
	if len(b.del) > 0 && b.deleted(name) {
		return "", false
	}
	for _, l := range b.base {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

func (b *labelsBuilder) set(name, value string) {
	for i, d := range b.del {
		if d == name {
			b.del = append(b.del[:i], b.del[i+1:]...)
			break
		}
	}
	for i := range b.add {
		if b.add[i].Name == name {
			b.add[i].Value = value
			return
		}
	}
	b.add = append(b.add, Label{Name: name, Value: value})
}

// setExtracted sets a label found by a parser; a name the stream already has gets the
// _extracted suffix, as in Loki.
func (b *labelsBuilder) setExtracted(name, value string) {
	if b.baseHas(name) {
		name += "_extracted"
	}
	b.set(name, value)
}

func (b *labelsBuilder) remove(name string) {
	for i := range b.add {
		if b.add[i].Name == name {
			b.add = append(b.add[:i], b.add[i+1:]...)
			break
		}
	}
	if b.baseHas(name) && !b.deleted(name) {
		b.del = append(b.del, name)
	}
}

func (b *labelsBuilder) hasErr() bool {
	_, ok := b.get(ErrorLabel)
	return ok
}

// setErr records a stage failure. As in Loki, a later failure replaces the kind of an
// earlier one, and its details when it has any (label filters keep an earlier error:
// they call setErr only when there is none).
func (b *labelsBuilder) setErr(kind, details string) {
	b.set(ErrorLabel, kind)
	if details != "" {
		b.set(ErrorDetailsLabel, details)
	}
}

// sortAdd orders add by name (insertion sort: a handful of labels, no allocation).
func (b *labelsBuilder) sortAdd() {
	a := b.add
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].Name < a[j-1].Name; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// current returns the current labels in name order. A label a stage set to "" (a
// missing json path, logfmt --keep-empty) is included, as Loki shows it; the slice is
// reused: valid until the builder changes.
func (b *labelsBuilder) current() Labels {
	if !b.changed() {
		return b.base
	}
	b.sortAdd()
	out := b.tmp[:0]
	i, j := 0, 0
	for i < len(b.base) || j < len(b.add) {
		if j >= len(b.add) || i < len(b.base) && b.base[i].Name < b.add[j].Name {
			l := b.base[i]
			i++
			if l.Value != "" && !b.deleted(l.Name) {
				out = append(out, l)
			}
			continue
		}
		a := b.add[j]
		j++
		if i < len(b.base) && b.base[i].Name == a.Name {
			i++ // overridden
		}
		out = append(out, a)
	}
	b.tmp = out
	return out
}

// labels returns a fresh copy of the current label set.
func (b *labelsBuilder) labels() Labels {
	return append(Labels(nil), b.current()...)
}

// appendKey appends an unambiguous encoding of the current label set, optionally
// projected by g, for map lookups.
func (b *labelsBuilder) appendKey(dst []byte, g *Grouping) []byte {
	if g != nil && !g.Without {
		for _, n := range g.sorted() {
			if v, ok := b.lookup(n); ok {
				dst = appendKV(dst, n, v)
			}
		}
		return dst
	}
	for _, l := range b.current() {
		if g != nil && g.has(l.Name) {
			continue
		}
		dst = appendKV(dst, l.Name, l.Value)
	}
	return dst
}

// project returns the current labels reduced by g.
func (b *labelsBuilder) project(g *Grouping) Labels {
	if g == nil {
		return b.labels()
	}
	out := Labels{}
	if !g.Without {
		for _, n := range g.sorted() {
			if v, ok := b.lookup(n); ok {
				out = append(out, Label{n, v})
			}
		}
		return out
	}
	for _, l := range b.current() {
		if !g.has(l.Name) {
			out = append(out, l)
		}
	}
	return out
}

func appendKV(dst []byte, n, v string) []byte {
	dst = append(dst, n...)
	dst = append(dst, 0xff)
	dst = append(dst, v...)
	return append(dst, 0xfe)
}

// labelsKey encodes ls like appendKey.
func labelsKey(dst []byte, ls Labels) []byte {
	for _, l := range ls {
		dst = appendKV(dst, l.Name, l.Value)
	}
	return dst
}

// sorted returns the grouping labels sorted and deduplicated (cached).
func (g *Grouping) sorted() []string {
	if g.sortedNames == nil {
		s := append([]string{}, g.Labels...)
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && s[j] < s[j-1]; j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
		out := s[:0]
		for i, n := range s {
			if i == 0 || n != s[i-1] {
				out = append(out, n)
			}
		}
		g.sortedNames = out
	}
	return g.sortedNames
}

func (g *Grouping) has(name string) bool {
	for _, n := range g.Labels {
		if n == name {
			return true
		}
	}
	return false
}
