package flowlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/flowtap/flowtap/internal/jsonstr"
)

// AppendJSON appends r as a JSON object with exactly the format's fields in order; absent
// values are null and version is the format's version, like the text form.
func (f *Format) AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, '{')
	for i, fd := range f.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		if fd == FieldIgnored {
			// An unknown column, under its own name (names are distinct within a format).
			dst = appendJSONString(dst, f.Name(i))
			if v := f.extraValue(r, i); v != "-" {
				dst = append(dst, ':')
				dst = appendJSONString(dst, v)
			} else {
				dst = append(dst, ":null"...)
			}
			continue
		}
		if fd != FieldVersion && !r.present(fd) {
			dst = appendJSONString(dst, fd.String())
			dst = append(dst, ":null"...)
			continue
		}
		dst = appendJSONField(dst, r, fd, f.version)
	}
	return append(dst, '}')
}

func appendJSONField(dst []byte, r *Record, f Field, version uint8) []byte {
	dst = appendJSONString(dst, f.String())
	dst = append(dst, ':')
	if fieldInfo[f].Type != ColumnString {
		if f == FieldVersion && r.Null.Has(f) {
			return append(dst, "null"...)
		}
		return r.AppendValue(dst, f, version)
	}
	dst = append(dst, '"')
	start := len(dst)
	dst = r.AppendValue(dst, f, version)
	if needsEscape(dst[start:]) {
		val := string(dst[start:])
		dst = appendJSONString(dst[:start-1], val)
		return dst
	}
	return append(dst, '"')
}

// present reports whether field f has a value in r.
func (r *Record) present(f Field) bool {
	switch f {
	case FieldVersion:
		return r.Version != 0 && !r.Null.Has(f)
	case FieldSrcAddr:
		return r.SrcAddr.IsValid()
	case FieldDstAddr:
		return r.DstAddr.IsValid()
	case FieldPktSrcAddr:
		return r.PktSrcAddr.IsValid()
	case FieldPktDstAddr:
		return r.PktDstAddr.IsValid()
	case FieldAction:
		return r.Action != ActionUnset
	case FieldLogStatus:
		return r.LogStatus != StatusUnset
	case FieldFlowDirection:
		return r.FlowDirection != DirectionUnset
	case FieldType:
		return r.Type != TypeUnset
	case FieldIgnored:
		return false
	}
	if fieldInfo[f].Type != ColumnString {
		return !r.Null.Has(f)
	}
	p := r.str(f)
	return p != nil && *p != ""
}

// Present reports whether field f has a value in r (it would not be written as "-").
func (r *Record) Present(f Field) bool { return r.present(f) }

func needsEscape(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return true
		}
	}
	return false
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }

// ErrJSON is wrapped by every ParseJSON error.
var ErrJSON = errors.New("flowlog: bad JSON record")

// ParseJSON reads a JSON object written by AppendJSON or Format.AppendJSON into r (reset
// first). Keys are AWS field names; values may be numbers, strings ("-" or AWS text form) or
// null. An unknown key whose name is a valid column name (ValidExtraName) and whose value is
// a string or number is kept in r.Extra; other unknown keys are ignored. The kind is TGW when any Transit-Gateway-only key is set.
func ParseJSON(data []byte, r *Record) error {
	// One copy of the message; string values are slices of it.
	return parseJSON(data, string(data), r)
}

// ParseJSONOwned is ParseJSON for a message the caller hands over, such as a Kafka
// message's value: r's strings are slices of data itself, without a copy, so data must not
// change while r or its strings are in use.
func ParseJSONOwned(data []byte, r *Record) error {
	return parseJSON(data, unsafe.String(unsafe.SliceData(data), len(data)), r)
}

// ParseJSONCopy is ParseJSON that copies r's string values into a (valid until a.Reset)
// instead of making r hold data: a batch of records then keeps a few bytes of each message,
// not the whole message, and a value equal to the record before's shares its copy. It is
// the Kafka consumer's decoder: with a learnt from the messages before, it reads those of
// one producer on a fast path (see fastMembers).
func ParseJSONCopy(data []byte, r *Record, a *Strings) error {
	_, err := parseJSONTo(data, unsafe.String(unsafe.SliceData(data), len(data)), r, a, true, AllGroups)
	return err
}

// ParseJSONReusing is ParseJSONCopy into a reused record slot: r's fields outside groups
// dirty must be zero (dirty holds what the records parsed into the slot before may have
// set), and only those groups are cleared instead of the whole record, most of which a
// record of one format never touches. It returns the groups this record may have set,
// also when it fails: the caller adds them to the slot's.
func ParseJSONReusing(data []byte, r *Record, a *Strings, dirty Groups) (Groups, error) {
	return parseJSONTo(data, unsafe.String(unsafe.SliceData(data), len(data)), r, a, true, dirty)
}

func parseJSON(data []byte, src string, r *Record) error {
	_, err := parseJSONTo(data, src, r, nil, false, AllGroups)
	return err
}

// parseJSONTo parses data (src is the same bytes) into r, copying strings into a unless it
// is nil. fast (a non-nil a only) has known keys' plain values stored by fastValue. It
// first clears the groups clear of r (all but those are zero) and returns the groups it
// may have set.
func parseJSONTo(data []byte, src string, r *Record, a *Strings, fast bool, clear Groups) (Groups, error) {
	r.ResetGroups(clear)
	r.Null = nullInts
	// Field by field: a composite literal was built in a temporary and copied with wider
	// loads than the stores that built it, which then waited (store forwarding failed).
	var p jsonScanner
	p.data, p.src, p.strs, p.groups = data, src, a, GroupHead
	err := p.object(r, fast)
	return p.groups, err
}

// object reads the JSON object into r.
func (p *jsonScanner) object(r *Record, fast bool) error {
	p.skipSpace()
	if !p.consume('{') {
		return p.errorf("expected '{'")
	}
	p.skipSpace()
	if p.consume('}') {
		return p.end()
	}
	prev := FieldIgnored // the key before, FieldIgnored at the start and after an unknown one
	for {
		if fast {
			var afterValue bool
			if prev, afterValue = p.fastMembers(r, prev); afterValue {
				p.skipSpace()
				if p.consume('}') {
					return p.end()
				}
				if !p.consume(',') {
					return p.errorf("expected ',' or '}'")
				}
			}
		}
		p.skipSpace()
		var f Field
		var known bool
		var name string
		if g, ok := p.predict(prev); ok {
			f, known = g, true
		} else {
			var err error
			if f, known, name, err = p.key(); err != nil {
				return err
			}
			if known && p.strs != nil {
				p.strs.next[prev] = uint8(f) + 1
			}
			p.skipSpace()
			if !p.consume(':') {
				return p.errorf("expected ':' after key")
			}
		}
		prev = FieldIgnored
		if known {
			prev = f
		}
		p.skipSpace()
		if known {
			p.groups |= fieldGroups[f]
		}
		if !known && ValidExtraName(name) {
			p.groups |= GroupExtra
			if err := p.extra(r, name); err != nil {
				return err
			}
		} else if err := p.value(r, f, known); err != nil {
			return err
		}
		if p.consume(',') {
			continue
		}
		p.skipSpace()
		if p.consume(',') {
			continue
		}
		if p.consume('}') {
			return p.end()
		}
		return p.errorf("expected ',' or '}'")
	}
}

type jsonScanner struct {
	data []byte
	src  string // data as a string, so that unescaped values need no allocation
	pos  int
	strs *Strings // where string values are copied to (nil: they are slices of src)
	// groups holds the groups of the record's fields that may have been set.
	groups Groups
}

func (p *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrJSON, p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonScanner) end() error {
	p.skipSpace()
	if p.pos != len(p.data) {
		return p.errorf("trailing data after object")
	}
	return nil
}

func (p *jsonScanner) skipSpace() {
	if p.pos < len(p.data) && p.data[p.pos] > ' ' {
		return // the common case, in one comparison
	}
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonScanner) consume(c byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// key reads an object key and looks it up in the registry without allocating when the key
// has no escapes. The name is returned for unknown keys only.
func (p *jsonScanner) key() (Field, bool, string, error) {
	if p.pos < len(p.data) && p.data[p.pos] == '"' {
		if end := bytes.IndexByte(p.data[p.pos+1:], '"'); end >= 0 {
			raw := p.data[p.pos+1 : p.pos+1+end]
			if bytes.IndexByte(raw, '\\') < 0 {
				p.pos += end + 2
				if f, ok := jsonKeys.lookup(raw); ok {
					return f, true, "", nil
				}
				return 0, false, p.src[p.pos-end-1 : p.pos-1], nil
			}
		}
	}
	k, err := p.str()
	f, ok := fieldByName[k]
	return f, ok, k, err
}

// predict reads the next key and its colon when that key is the one that followed prev in
// the records parsed with the same Strings before (messages of one producer list their
// keys in one order, with no white space between key and colon), with one comparison; it
// reports false, reading nothing, otherwise.
func (p *jsonScanner) predict(prev Field) (Field, bool) {
	if p.strs == nil {
		return 0, false
	}
	n := p.strs.next[prev]
	if n == 0 {
		return 0, false
	}
	if k := &keyPatterns[n-1]; k.at(p.data, p.pos) {
		p.pos += k.n
		return Field(n - 1), true
	}
	return 0, false
}

// pattern is a short string (at most 32 bytes) as four little-endian words and their
// masks, so that it is compared with bytes in four loads and no branch. Keys are compared
// as patterns of their quoted name and colon (AWS names need no escape): HasPrefix was a
// fifth of the time of a parse whose keys were all predicted.
type pattern struct {
	words, masks [4]uint64
	n            int // bytes
	s            string
}

func newPattern(s string) (p pattern) {
	if len(s) > 32 {
		panic("flowlog: pattern " + s + " longer than 32 bytes")
	}
	p.s, p.n = s, len(s)
	for j := 0; j < len(s); j++ {
		p.words[j/8] |= uint64(s[j]) << (j % 8 * 8)
		p.masks[j/8] |= 0xff << (j % 8 * 8)
	}
	return p
}

// at reports whether data holds the pattern at i.
func (k *pattern) at(data []byte, i int) bool {
	if i < 0 || len(data)-i < 32 {
		return strings.HasPrefix(unsafe.String(unsafe.SliceData(data[i:]), len(data)-i), k.s)
	}
	d := data[i : i+32]
	return (binary.LittleEndian.Uint64(d)^k.words[0])&k.masks[0]|
		(binary.LittleEndian.Uint64(d[8:])^k.words[1])&k.masks[1]|
		(binary.LittleEndian.Uint64(d[16:])^k.words[2])&k.masks[2]|
		(binary.LittleEndian.Uint64(d[24:])^k.words[3])&k.masks[3] == 0
}

// keyPatterns holds each field's `"name":`.
var keyPatterns = func() (keys [numFields]pattern) {
	for i := range keys {
		keys[i] = newPattern(`"` + fieldInfo[i].Name + `":`)
	}
	return keys
}()

// keyTable finds a field by its AWS name in a JSON key without hashing the whole key: a
// slot from the name's length and three of its bytes lists the few fields that share it
// (the map lookup was a tenth of ParseJSON's time).
type keyTable [512][]Field

var jsonKeys = func() *keyTable {
	var t keyTable
	for name, f := range fieldByName {
		i := keySlot([]byte(name))
		t[i] = append(t[i], f)
	}
	return &t
}()

func keySlot(name []byte) int {
	n := len(name)
	if n == 0 {
		return 0
	}
	return (n*131 + int(name[0])*31 + int(name[n/2])*7 + int(name[n-1])) & 511
}

func (t *keyTable) lookup(name []byte) (Field, bool) {
	for _, f := range t[keySlot(name)] {
		if fieldInfo[f].Name == string(name) {
			return f, true
		}
	}
	return 0, false
}

// extra reads the value of an unknown key: strings and numbers are kept in r.Extra as
// written, null leaves the column absent, other values are skipped.
func (p *jsonScanner) extra(r *Record, name string) error {
	if p.pos >= len(p.data) {
		return p.errorf("expected value")
	}
	switch c := p.data[p.pos]; {
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		r.SetExtra(name, s) // a value with white space cannot be a column: ignored
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		for p.pos < len(p.data) && isNumberByte(p.data[p.pos]) {
			p.pos++
		}
		r.SetExtra(name, p.src[start:p.pos])
		return nil
	}
	return p.value(r, 0, false)
}

// str reads a JSON string; it allocates once per string.
func (p *jsonScanner) str() (string, error) {
	if !p.consume('"') {
		return "", p.errorf("expected string")
	}
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.src[start:p.pos]
			p.pos++
			return s, nil
		}
		if c == '\\' {
			p.pos = start
			return p.escapedStr()
		}
		if c < 0x20 {
			return "", p.errorf("control character in string")
		}
		p.pos++
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonScanner) escapedStr() (string, error) {
	var buf []byte
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			return "", p.errorf("unterminated escape")
		}
		e := p.data[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'u':
			if p.pos+4 > len(p.data) {
				return "", p.errorf("short \\u escape")
			}
			v, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 16)
			if err != nil {
				return "", p.errorf("bad \\u escape")
			}
			p.pos += 4
			r := rune(v)
			if r >= 0xD800 && r < 0xDC00 && p.pos+6 <= len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				if lo, err := strconv.ParseUint(string(p.data[p.pos+2:p.pos+6]), 16, 16); err == nil && lo >= 0xDC00 && lo < 0xE000 {
					r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
					p.pos += 6
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("bad escape \\%c", e)
		}
	}
	return "", p.errorf("unterminated string")
}

// value reads one value; for known fields it is stored in r.
func (p *jsonScanner) value(r *Record, f Field, known bool) error {
	if p.pos >= len(p.data) {
		return p.errorf("expected value")
	}
	c := p.data[p.pos]
	switch {
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		if known {
			return p.set(r, f, s)
		}
		return nil
	case c == 'n':
		if !p.literal("null") {
			return p.errorf("bad literal")
		}
		if known {
			r.clear(f)
		}
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		for p.pos < len(p.data) && isNumberByte(p.data[p.pos]) {
			p.pos++
		}
		if known {
			return p.set(r, f, p.src[start:p.pos])
		}
		return nil
	case c == 't' || c == 'f':
		if !p.literal("true") && !p.literal("false") {
			return p.errorf("bad literal")
		}
		if known {
			return p.errorf("field %s: unexpected boolean", f)
		}
		return nil
	case c == '{' || c == '[':
		if known {
			return p.errorf("field %s: unexpected %c", f, c)
		}
		return p.skipNested()
	}
	return p.errorf("unexpected %q", c)
}

func (p *jsonScanner) set(r *Record, f Field, s string) error {
	if err := r.SetValue(f, s); err != nil {
		return fmt.Errorf("%w: field %s: %v", ErrJSON, f, err)
	}
	if p.strs != nil && fieldInfo[f].Type == ColumnString {
		if v := r.str(f); v != nil {
			*v = p.strs.Copy(*v)
		}
	}
	if fieldInfo[f].Scope == ScopeTGW {
		r.Kind = KindTGW
	}
	return nil
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (p *jsonScanner) literal(lit string) bool {
	if len(p.data)-p.pos >= len(lit) && string(p.data[p.pos:p.pos+len(lit)]) == lit {
		p.pos += len(lit)
		return true
	}
	return false
}

// skipNested skips an object or array, minding strings.
func (p *jsonScanner) skipNested() error {
	depth := 0
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.pos++
				return nil
			}
		case '"':
			if _, err := p.str(); err != nil {
				return err
			}
			continue
		}
		p.pos++
	}
	return p.errorf("unterminated value")
}
