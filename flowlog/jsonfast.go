package flowlog

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"unsafe"
)

// The fast path of ParseJSONCopy: the value of a known key, in the form AppendJSON writes it
// (a plain string, an unsigned integer that fits), is stored straight into its field
// without the generic name dispatch of SetValue. Any other form (escapes, "-", null,
// numbers as strings, values out of range, IPv6 with a zone) is left to the generic path,
// which then reads the same bytes again: the fast path only ever decides what the generic
// path would have decided (FuzzParseJSON compares the two).

// valueKind says how the fast path stores a field's value.
type valueKind uint8

const (
	valueGeneric valueKind = iota // unknown columns: the generic path
	valueString
	valueAddr
	valueInt
	valueEnum
)

// valuePlan is what the fast path knows of one field.
type valuePlan struct {
	kind valueKind
	tgw  bool // the field makes a record a Transit Gateway one
	// valueString, valueInt: where the value is in a Record; valueInt: its size in bytes.
	off  uintptr
	size uintptr
	// valueInt: the values stored as they are. SetValue refuses version 0 and reads
	// start and end above 2^31-1 as milliseconds: those go the generic way.
	min, max uint64
	// valueEnum: the names by value (index 0 is "-", never matched).
	names []string
}

var valuePlans = func() (plans [numFields + 1]valuePlan) {
	var r Record
	base := uintptr(unsafe.Pointer(&r))
	for i := 0; i < numFields; i++ {
		f := Field(i)
		pl := &plans[i]
		pl.tgw = fieldInfo[f].Scope == ScopeTGW
		switch {
		case r.str(f) != nil:
			pl.kind, pl.off = valueString, uintptr(unsafe.Pointer(r.str(f)))-base
		case r.addr(f) != nil:
			pl.kind = valueAddr
		case fieldInfo[f].Type != ColumnString:
			pl.kind, pl.max = valueInt, intMax(f)
			pl.off, pl.size = intLayout(f)
			switch f {
			case FieldVersion:
				pl.min = 1
			case FieldStart, FieldEnd:
				pl.max = 1<<31 - 1
			}
		case enumNames(f) != nil:
			pl.kind, pl.names = valueEnum, enumNames(f)
		}
	}
	return plans
}()

// intLayout finds where setInt stores integer field f in a Record, and in how many bytes:
// the bytes that storing all ones into a zero Record changes.
func intLayout(f Field) (off, size uintptr) {
	var r Record
	r.setInt(f, 1<<64-1)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r))
	for i, c := range b {
		if c != 0 {
			if size == 0 {
				off = uintptr(i)
			}
			size++
		}
	}
	if size != 1 && size != 2 && size != 8 {
		panic("flowlog: integer field " + f.String() + " of an unexpected size")
	}
	return off, size
}

// storeInt stores v into the integer field laid out as pl says and clears f's Null bit: it is
// setInt without its switch.
func (r *Record) storeInt(pl *valuePlan, f Field, v uint64) {
	r.Null[f>>6] &^= 1 << (f & 63)
	p := unsafe.Add(unsafe.Pointer(r), pl.off)
	switch pl.size {
	case 1:
		*(*uint8)(p) = uint8(v)
	case 2:
		*(*uint16)(p) = uint16(v)
	default:
		*(*uint64)(p) = v
	}
}

// fastMembers reads the members of the object at p.pos while their keys are the ones
// predicted (see predict) and their values have the plain forms, storing the values. It
// returns the last key read (prev if none) and whether it stopped after a value (at a byte
// other than the comma it consumed after each value) rather than at the start of a member
// it left to the generic path.
func (p *jsonScanner) fastMembers(r *Record, prev Field) (Field, bool) {
	d := p.data
	afterValue := false
	for {
		n := p.strs.next[prev]
		if n == 0 {
			break
		}
		f := Field(n - 1)
		k := &keyPatterns[f]
		if !k.at(d, p.pos) {
			break
		}
		start := p.pos
		p.pos += k.n
		if !p.fastValue(r, f) {
			p.pos = start
			break
		}
		prev = f
		if p.pos >= len(d) || d[p.pos] != ',' {
			afterValue = true
			break
		}
		p.pos++
	}
	return prev, afterValue
}

// fastValue stores the value at p.pos into known field f when it has one of the plain forms,
// and reports whether it did; otherwise it reads nothing and changes nothing.
func (p *jsonScanner) fastValue(r *Record, f Field) bool {
	pl := &valuePlans[f]
	switch pl.kind {
	case valueInt:
		v, end, ok := p.uintAt(p.pos)
		if !ok || v < pl.min || v > pl.max {
			return false
		}
		r.storeInt(pl, f, v)
		p.pos = end
	case valueString:
		s, end, ok := p.copyStringAt(p.pos)
		if !ok {
			return false
		}
		*(*string)(unsafe.Add(unsafe.Pointer(r), pl.off)) = s
		p.pos = end
	case valueAddr:
		a, end, ok := ipv4At(p.data, p.pos)
		if !ok {
			var s string
			if s, end, ok = p.plainStringAt(p.pos); !ok {
				return false
			}
			if a, ok = parseAddr(s); !ok {
				return false
			}
		}
		*r.addr(f) = a
		p.pos = end
	case valueEnum:
		s, end, ok := p.plainStringAt(p.pos)
		if !ok {
			return false
		}
		i, ok := enumIndex(pl.names, s)
		if !ok {
			return false
		}
		r.setEnum(f, uint8(i))
		p.pos = end
	default:
		return false
	}
	if pl.tgw {
		r.Kind = KindTGW
	}
	return true
}

// uintAt reads the JSON number at i when it is a plain unsigned integer of at most 19
// digits (what parseUint takes), returning its value and end.
func (p *jsonScanner) uintAt(i int) (v uint64, end int, ok bool) {
	d := p.data
	start := i
	for ; i < len(d); i++ {
		c := d[i] - '0'
		if c > 9 {
			break
		}
		v = v*10 + uint64(c)
	}
	if n := i - start; n == 0 || n > 19 || (i < len(d) && isNumberByte(d[i])) {
		return 0, 0, false
	}
	return v, i, true
}

// copyStringAt reads the plain JSON string at i (see plainStringAt) other than "-" into the
// arena, returning the copy and its end. A string that fits in 32 bytes is copied before it
// is measured: four loads feed both the copy and the test for its end (stringStop), and
// the arena takes only what the string needed.
func (p *jsonScanner) copyStringAt(i int) (s string, end int, ok bool) {
	d := p.data
	if i < 0 || len(d)-i < 34 || d[i] != '"' {
		if s, end, ok = p.plainStringAt(i); !ok || s == "-" {
			return "", 0, false
		}
		return p.strs.Copy(s), end, true
	}
	w := d[i+1 : i+33]
	w0, w1 := binary.LittleEndian.Uint64(w), binary.LittleEndian.Uint64(w[8:])
	w2, w3 := binary.LittleEndian.Uint64(w[16:]), binary.LittleEndian.Uint64(w[24:])
	m := stopBits(w0) | stopBits(w1)<<8 | stopBits(w2)<<16 | stopBits(w3)<<24
	n := bits.TrailingZeros32(m)
	if m == 0 || w[n] != '"' {
		if s, end, ok = p.plainStringAt(i); !ok || s == "-" {
			return "", 0, false
		}
		return p.strs.Copy(s), end, true
	}
	if n == 1 && w[0] == '-' {
		return "", 0, false
	}
	room := p.strs.room()
	binary.LittleEndian.PutUint64(room, w0)
	binary.LittleEndian.PutUint64(room[8:], w1)
	binary.LittleEndian.PutUint64(room[16:], w2)
	binary.LittleEndian.PutUint64(room[24:], w3)
	return p.strs.take(n), i + n + 2, true
}

// plainStringAt reads the JSON string at i when it holds no escape and no control
// character, returning it (a slice of p.src) and its end after the closing quote.
func (p *jsonScanner) plainStringAt(i int) (s string, end int, ok bool) {
	d := p.data
	if i >= len(d) || d[i] != '"' {
		return "", 0, false
	}
	start := i + 1
	j := start + stringStop(d[start:])
	if j >= len(d) || d[j] != '"' {
		return "", 0, false
	}
	return p.src[start:j], j + 1, true
}

// stringStop returns the index of the first byte of b that ends a plain JSON string: a
// quote, a backslash or a control character (len(b) if none). The scan of string values
// was the largest single cost of parsing a message: it tests 32 bytes (most values) at
// once without a branch, then eight at a time.
func stringStop(b []byte) int {
	i := 0
	if len(b) >= 32 {
		m := stopBits(binary.LittleEndian.Uint64(b)) | stopBits(binary.LittleEndian.Uint64(b[8:]))<<8 |
			stopBits(binary.LittleEndian.Uint64(b[16:]))<<16 | stopBits(binary.LittleEndian.Uint64(b[24:]))<<24
		if m != 0 {
			return bits.TrailingZeros32(m)
		}
		i = 32
	}
	for ; i+8 <= len(b); i += 8 {
		if m := stopBits(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros32(m)
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return len(b)
}

// stopBits returns, as bit i, whether byte i of w (little-endian) is a quote, a backslash or
// a control character; only the lowest bit set is exact (a borrow only runs from a flagged
// byte into higher ones), which is all stringStop uses.
func stopBits(w uint64) uint32 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	m := ((w-ones*0x20)&^w | (quote-ones)&^quote | (backslash-ones)&^backslash) & highs
	// Gather the eight flags (bits 7, 15, …, 63) into the top byte, then down.
	return uint32((m >> 7) * 0x0102040810204080 >> 56)
}

// ipv4At reads the JSON string at i when it holds a dotted IPv4 address in the form
// parseIPv4 takes, returning the address and the string's end. Octets of one to three
// digits are measured without branches: their lengths vary from address to address.
func ipv4At(d []byte, i int) (a netip.Addr, end int, ok bool) {
	if i < 0 || len(d)-i < 18 || d[i] != '"' {
		return netip.Addr{}, 0, false
	}
	var ip [4]byte
	j := i + 1
	for k := range ip {
		d0, d1, d2 := d[j]-'0', d[j+1]-'0', d[j+2]-'0'
		var more1, more2 int // 1 when the octet has a second, a third digit
		if d1 <= 9 {
			more1 = 1
		}
		if d2 <= 9 {
			more2 = more1
		}
		v := int(d0)
		if more1 == 1 {
			v = v*10 + int(d1)
		}
		if more2 == 1 {
			v = v*10 + int(d2)
		}
		n := 1 + more1 + more2
		sep := byte('.')
		if k == 3 {
			sep = '"'
		}
		if d0 > 9 || v > 255 || (d0 == 0 && n > 1) || d[j+n] != sep {
			return netip.Addr{}, 0, false
		}
		ip[k] = byte(v)
		j += n + 1
	}
	return netip.AddrFrom4(ip), j, true
}

// parseAddr is netip.ParseAddr without zones; dotted IPv4 in its canonical form (what
// AppendJSON writes) is read here directly, anything else by netip.
func parseAddr(s string) (netip.Addr, bool) {
	if a, ok := parseIPv4(s); ok {
		return a, true
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Zone() == ""
}

// parseIPv4 reads four dot-separated decimal octets without leading zeros, which netip
// reads the same way; it reports false for anything else.
func parseIPv4(s string) (netip.Addr, bool) {
	var ip [4]byte
	i := 0
	for k := 0; k < 4; k++ {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		start := i
		v := 0
		for ; i < len(s) && i-start < 3; i++ {
			c := s[i] - '0'
			if c > 9 {
				break
			}
			v = v*10 + int(c)
		}
		if n := i - start; n == 0 || v > 255 || (n > 1 && s[start] == '0') {
			return netip.Addr{}, false
		}
		ip[k] = byte(v)
	}
	if i != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}
