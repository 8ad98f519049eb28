package flowlog

import (
	"fmt"
	"slices"
	"strings"
)

// Format is an ordered list of fields, as in a flow log's LogFormat. It knows its kind (VPC
// or TGW) and the version AWS would write for it (the highest version of its fields).
type Format struct {
	fields []Field
	// names holds the AWS name of every column when the format has columns this build does
	// not know (FieldIgnored positions read from a header); nil otherwise.
	names   []string
	extras  int // how many such columns
	kind    Kind
	version uint8
}

// The formats AWS uses when a flow log has no LogFormat.
var (
	DefaultVPC = MustParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}")
	DefaultTGW = MustParseFormat("${version} ${resource-type} ${account-id} ${tgw-id} ${tgw-attachment-id} ${tgw-src-vpc-account-id} ${tgw-dst-vpc-account-id} ${tgw-src-vpc-id} ${tgw-dst-vpc-id} ${tgw-src-subnet-id} ${tgw-dst-subnet-id} ${tgw-src-eni} ${tgw-dst-eni} ${tgw-src-az-id} ${tgw-dst-az-id} ${tgw-pair-attachment-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${log-status} ${type} ${packets-lost-no-route} ${packets-lost-blackhole} ${packets-lost-mtu-exceeded} ${packets-lost-ttl-expired} ${tcp-flags} ${region} ${flow-direction} ${pkt-src-aws-service} ${pkt-dst-aws-service}")
	// AllVPC and AllTGW hold every field a kind can carry, in registry order; they are the
	// lossless shapes used on Kafka and in Parquet.
	AllVPC = allOf(ScopeVPC)
	AllTGW = allOf(ScopeTGW)
)

func allOf(scope Scope) *Format {
	var fs []Field
	for i := 0; i < numFields; i++ {
		if fieldInfo[i].Scope&scope != 0 {
			fs = append(fs, Field(i))
		}
	}
	f, err := NewFormat(fs...)
	if err != nil {
		panic(err)
	}
	return f
}

// FormatError reports a bad token in a format string.
type FormatError struct {
	Pos     int    // 1-based token position
	Token   string // the token as written
	Nearest string // the closest valid field name, if the token looked like a field
	Reason  string
}

func (e *FormatError) Error() string {
	msg := fmt.Sprintf("format: token %d %q: %s", e.Pos, e.Token, e.Reason)
	if e.Nearest != "" {
		msg += fmt.Sprintf(" (did you mean ${%s}?)", e.Nearest)
	}
	return msg
}

// ParseFormat parses a LogFormat string such as "${version} ${srcaddr}". Bare field names
// ("version srcaddr", as in a file header) are accepted too.
func ParseFormat(s string) (*Format, error) {
	tokens := strings.Fields(s)
	if len(tokens) == 0 {
		return nil, &FormatError{Pos: 0, Token: s, Reason: "format has no fields"}
	}
	fs := make([]Field, 0, len(tokens))
	for i, tok := range tokens {
		name := tok
		if strings.HasPrefix(tok, "${") || strings.HasSuffix(tok, "}") {
			if !strings.HasPrefix(tok, "${") || !strings.HasSuffix(tok, "}") || len(tok) < 4 {
				return nil, &FormatError{Pos: i + 1, Token: tok, Reason: "expected ${field-name}", Nearest: nearestField(strings.Trim(tok, "${}"))}
			}
			name = tok[2 : len(tok)-1]
		}
		f, ok := fieldByName[name]
		if !ok {
			return nil, &FormatError{Pos: i + 1, Token: tok, Reason: "unknown field", Nearest: nearestField(name)}
		}
		fs = append(fs, f)
	}
	f, err := NewFormat(fs...)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// MustParseFormat is ParseFormat for formats known at compile time.
func MustParseFormat(s string) *Format {
	f, err := ParseFormat(s)
	if err != nil {
		panic(err)
	}
	return f
}

// FormatFromNames builds a format from a list of field names.
func FormatFromNames(names []string) (*Format, error) {
	return ParseFormat(strings.Join(names, " "))
}

// FormatFromHeader builds a format from the header line of an S3 text file. Unlike
// ParseFormat it accepts names this build does not know (AWS adds fields over time): such a
// column is carried by its name, its values kept unchanged in Record.Extra.
func FormatFromHeader(header string) (*Format, error) {
	names := strings.Fields(header)
	if len(names) == 0 {
		return nil, &FormatError{Token: header, Reason: "empty header line"}
	}
	return NewFormatNamed(names)
}

// NewFormatNamed builds a format from column names, known or not. A name the registry does
// not know becomes a FieldIgnored column that keeps its name: its values are carried in
// Record.Extra and written back under that name. Names must be distinct.
func NewFormatNamed(names []string) (*Format, error) {
	if len(names) == 0 {
		return nil, &FormatError{Reason: "format has no fields"}
	}
	fs := make([]Field, len(names))
	unknown := 0
	for i, n := range names {
		f, ok := fieldByName[n]
		if !ok {
			if !ValidExtraName(n) {
				return nil, &FormatError{Pos: i + 1, Token: n, Reason: "not a column name (letters, digits, '-', '_', '.')"}
			}
			f = FieldIgnored
			unknown++
		}
		fs[i] = f
	}
	f, err := NewFormat(fs...)
	if err != nil || unknown == 0 {
		return f, err
	}
	f.names = append([]string(nil), names...)
	f.extras = unknown
	seen := make(map[string]bool, unknown)
	for i, fd := range fs {
		if fd != FieldIgnored {
			continue
		}
		if seen[names[i]] {
			return nil, &FormatError{Pos: i + 1, Token: names[i], Reason: "field appears twice"}
		}
		seen[names[i]] = true
	}
	return f, nil
}

// ValidExtraName reports whether s can name a column this build does not know: 1–128
// letters, digits, '-', '_' or '.', as AWS field names are, so that it survives a text
// header, a JSON key and a Parquet column name.
func ValidExtraName(s string) bool {
	if len(s) == 0 || len(s) > 128 || s == "-" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// WithExtras returns f widened by a column for each name that f has no column for yet, in
// the order given; f itself when there is none. Sinks use it to keep a record's unknown
// columns (Record.Extra) that their configured format lacks.
func (f *Format) WithExtras(names ...string) *Format {
	var add []string
	for _, n := range names {
		if f.column(n) < 0 && !slices.Contains(add, n) {
			add = append(add, n)
		}
	}
	if len(add) == 0 {
		return f
	}
	all := make([]string, 0, len(f.fields)+len(add))
	for i := range f.fields {
		all = append(all, f.Name(i))
	}
	g, err := NewFormatNamed(append(all, add...))
	if err != nil {
		return f // an invalid name cannot reach here: Record.Extra names are validated
	}
	return g
}

// column returns the position of the column named name, or -1.
func (f *Format) column(name string) int {
	for i := range f.fields {
		if f.Name(i) == name {
			return i
		}
	}
	return -1
}

// Name returns the name of column i: the field's AWS name, or the name a header gave a
// column this build does not know.
func (f *Format) Name(i int) string {
	if f.names != nil {
		return f.names[i]
	}
	return f.fields[i].String()
}

// ColumnName returns the Parquet/Athena column name of column i: the field's Column, or for
// a column this build does not know its name with '-' and '.' as '_'.
func (f *Format) ColumnName(i int) string {
	if f.fields[i] != FieldIgnored || f.names == nil {
		return f.fields[i].Column()
	}
	return strings.NewReplacer("-", "_", ".", "_").Replace(f.names[i])
}

// Extras is the number of columns this build does not know.
func (f *Format) Extras() int { return f.extras }

// Equal reports whether f and g have the same columns in the same order.
func (f *Format) Equal(g *Format) bool {
	if f == g {
		return true
	}
	if f == nil || g == nil || !slices.Equal(f.fields, g.fields) {
		return false
	}
	for i := range f.fields {
		if f.Name(i) != g.Name(i) {
			return false
		}
	}
	return true
}

// NewFormat builds a format from fields, checking for duplicates and for mixing VPC-only
// with TGW-only fields.
func NewFormat(fields ...Field) (*Format, error) {
	if len(fields) == 0 {
		return nil, &FormatError{Reason: "format has no fields"}
	}
	f := &Format{fields: append([]Field(nil), fields...)}
	var seen FieldSet
	var vpcOnly, tgwOnly Field = FieldIgnored, FieldIgnored
	for i, fd := range fields {
		if int(fd) > numFields {
			return nil, &FormatError{Pos: i + 1, Token: fmt.Sprint(int(fd)), Reason: "no such field"}
		}
		if fd == FieldIgnored {
			continue
		}
		if seen.Has(fd) {
			return nil, &FormatError{Pos: i + 1, Token: "${" + fd.String() + "}", Reason: "field appears twice"}
		}
		seen = seen.With(fd)
		info := fieldInfo[fd]
		f.version = max(f.version, info.Version)
		switch info.Scope {
		case ScopeVPC:
			if vpcOnly == FieldIgnored {
				vpcOnly = fd
			}
		case ScopeTGW:
			if tgwOnly == FieldIgnored {
				tgwOnly = fd
			}
		}
	}
	if vpcOnly != FieldIgnored && tgwOnly != FieldIgnored {
		return nil, &FormatError{Token: "${" + tgwOnly.String() + "}",
			Reason: fmt.Sprintf("Transit Gateway field cannot be combined with VPC-only field ${%s}", vpcOnly)}
	}
	if tgwOnly != FieldIgnored {
		f.kind = KindTGW
	}
	if f.version == 0 {
		f.version = 2
	}
	return f, nil
}

// Fields returns the format's fields in order; the caller must not modify the slice.
func (f *Format) Fields() []Field { return f.fields }

// Kind is KindTGW when the format holds a Transit-Gateway-only field, else KindVPC.
func (f *Format) Kind() Kind { return f.kind }

// Version is the version AWS writes for this format: the highest version of its fields.
func (f *Format) Version() uint8 { return f.version }

// Has reports whether the format contains field fd.
func (f *Format) Has(fd Field) bool {
	for _, x := range f.fields {
		if x == fd {
			return true
		}
	}
	return false
}

// String renders the format as AWS's LogFormat string ("${version} ${account-id} …").
func (f *Format) String() string {
	var b strings.Builder
	for i := range f.fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${")
		b.WriteString(f.Name(i))
		b.WriteByte('}')
	}
	return b.String()
}

// Header renders the header line of an S3 text file: field names, space-separated.
func (f *Format) Header() string {
	var b strings.Builder
	for i := range f.fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Name(i))
	}
	return b.String()
}
