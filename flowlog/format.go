package flowlog

import (
	"fmt"
	"strings"
)

// Format is an ordered list of fields, as in a flow log's LogFormat. It knows its kind (VPC
// or TGW) and the version AWS would write for it (the highest version of its fields).
type Format struct {
	fields  []Field
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
// ParseFormat it tolerates names this build does not know (AWS adds fields over time): their
// columns are skipped on parse.
func FormatFromHeader(header string) (*Format, error) {
	names := strings.Fields(header)
	if len(names) == 0 {
		return nil, &FormatError{Token: header, Reason: "empty header line"}
	}
	fs := make([]Field, len(names))
	for i, n := range names {
		f, ok := fieldByName[n]
		if !ok {
			f = FieldIgnored
		}
		fs[i] = f
	}
	return NewFormat(fs...)
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
	for i, fd := range f.fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${")
		b.WriteString(fd.String())
		b.WriteByte('}')
	}
	return b.String()
}

// Header renders the header line of an S3 text file: field names, space-separated.
func (f *Format) Header() string {
	var b strings.Builder
	for i, fd := range f.fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fd.String())
	}
	return b.String()
}
