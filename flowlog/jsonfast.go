package flowlog

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"unsafe"
)

// The fast path of ParseJSONCopy (fastMembers): the members of a message, while their keys
// are the ones the Strings learnt to expect and their values have the forms AppendJSON
// writes (plain strings, unsigned integers that fit, dotted IPv4), are read in one loop
// and stored straight into their fields through a per-field plan, without the generic
// path's name dispatch (SetValue). A value with the same bytes as the field's value in the
// record before (strings) or as one of the last two addresses read takes that earlier
// result; "-" is the empty (absent) string. Any other form (escapes, null, numbers as
// strings, "-" for a number or an address, values out of range, IPv6) is left to the
// generic path, which then reads the member again: the fast path only ever decides what
// the generic path would have decided (FuzzParseJSON and TestParseJSONCopyProperty
// compare the two).

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
	// Where the value is in a Record (but for enums); valueInt: its size in bytes.
	off  uintptr
	size uintptr
	// valueInt: the values stored as they are. SetValue refuses version 0 and reads
	// start and end above 2^31-1 as milliseconds: those go the generic way.
	min, max uint64
	// valueEnum: the quoted names of the values by value, from 1 ("-", 0, clears the field
	// the generic way).
	quoted []pattern
	// What hotMembers reads from the plan of the field predicted, in one place: its key
	// (keyPatterns'), its group, and (valueEnum) the quoted names as two words each.
	key   pattern
	group Groups
	names [3]namePattern
}

// namePattern is an enum value's quoted name (at most 16 bytes) as two words and masks;
// n = 0 for no value (enums have two or three).
type namePattern struct {
	words, masks [2]uint64
	n            int
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
			pl.kind, pl.off = valueAddr, uintptr(unsafe.Pointer(r.addr(f)))-base
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
			pl.kind = valueEnum
			for v, name := range enumNames(f)[1:] {
				k := newPattern(`"` + name + `"`)
				pl.quoted = append(pl.quoted, k)
				if k.n > 16 {
					panic("flowlog: enum value " + name + " longer than 14 bytes")
				}
				pl.names[v] = namePattern{words: [2]uint64(k.words[:2]), masks: [2]uint64(k.masks[:2]), n: k.n}
			}
			pl.off, pl.size = enumLayout(f)
		}
		pl.key, pl.group = keyPatterns[f], fieldGroups[f]
		if pl.key.n > maxHotKey {
			panic("flowlog: key " + pl.key.s + " longer than hotMembers reads")
		}
	}
	return plans
}()

// enumLayout finds where setEnum stores enum field f in a Record (one byte).
func enumLayout(f Field) (off, size uintptr) {
	var r Record
	r.setEnum(f, 0xff)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r))
	for i, c := range b {
		if c != 0 {
			off, size = uintptr(i), size+1
		}
	}
	if size != 1 {
		panic("flowlog: enum field " + f.String() + " of an unexpected size")
	}
	return off, size
}

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

// fastMembers reads the members of the object at p.pos while their keys are known and
// their values have the plain forms, storing the values; it returns the last key read
// (prev if none) and whether it stopped after a value (at a byte other than the comma it
// consumed after each value) rather than at the start of a member it leaves to the generic
// path. Keys are first compared with the one predicted (see predict), else looked up and
// learnt. Most members are read by hotMembers; the few it leaves (near the message's end,
// keys not predicted, values it does not take) by member, one at a time.
func (p *jsonScanner) fastMembers(r *Record, prev Field) (Field, bool) {
	a := p.strs
	// The strings of the message go to arena room taken once, with 32 bytes to spare: a
	// string is copied eight bytes at a time before its length is known.
	room := a.reserve(len(p.data) - p.pos + 32)
	if room == nil {
		return prev, false
	}
	d := p.data
	var s fastState // field by field, as parseJSONTo's scanner
	s.d, s.pos, s.prev, s.r, s.a, s.room = d, p.pos, prev, r, a, room
	for !s.afterValue {
		if stop := len(d) - hotReadLen + 1; s.pos < stop {
			s.hotMembers(d, stop)
		}
		if !s.afterValue && s.pos >= len(d)-hotReadLen {
			// The last members, from a copy of the message's end followed by zeros, which
			// end every value, string and key there as the message's end does.
			t := max(len(d)-hotReadLen, 0)
			tail := &a.tail
			if t > 0 {
				*(*[hotReadLen]byte)(tail[:]) = [hotReadLen]byte(d[t:])
			} else {
				copy(tail[:], d)
				clear(tail[len(d):hotReadLen])
			}
			s.pos -= t
			s.hotMembers(tail[:], len(d)-t)
			s.pos += t
		}
		if s.afterValue || !s.member() {
			break
		}
	}
	a.commit(s.used)
	p.pos = s.pos
	p.groups |= s.groups
	return s.prev, s.afterValue
}

// fastState is the state of fastMembers: the message d, where it is (pos), the last key
// read (prev), the record, the arena and its room (used bytes of it so far), the groups of
// fields set, and whether it stopped after a value.
type fastState struct {
	d          []byte
	pos        int
	prev       Field
	afterValue bool
	groups     Groups
	r          *Record
	a          *Strings
	room       []byte
	used       int
}

// member reads one member that hotMembers leaves: a key not predicted (looked up and
// learnt) or a value of a plain form it does not take (a number of 16 to 19 digits, a
// string of 32 bytes or more, an address not in its IPv4 form). It reports false, reading
// nothing, when the member is not one the fast path takes: the generic path then reads it.
func (s *fastState) member() bool {
	d, pos, a, r := s.d, s.pos, s.a, s.r
	// The key.
	var f Field
	var i int // the value's start
	n := a.next[s.prev]
	hit := n != 0 && keyPatterns[n-1].at(d, pos)
	if !hit && n != 0 && a.next[n-1] != 0 && keyPatterns[a.next[n-1]-1].at(d, pos) {
		n, hit = a.next[n-1], true // the key after the one predicted (see hotMembers)
	}
	if hit {
		f, i = Field(n-1), pos+keyPatterns[n-1].n
	} else {
		var ok bool
		if f, i, ok = keyAt(d, pos); !ok {
			return false
		}
		a.alt[s.prev], a.next[s.prev] = a.next[s.prev], uint8(f)+1
	}
	// The value.
	s.groups |= fieldGroups[f] // before the value: a value abandoned half-stored counts too
	pl := &valuePlans[f]
	var end int
	switch pl.kind {
	case valueInt:
		v, e, ok := uintAt(d, i)
		if !ok || v < pl.min || v > pl.max {
			return false
		}
		r.storeInt(pl, f, v)
		end = e
	case valueString:
		str, e, ok := plainStringAt(d, i)
		if !ok {
			return false
		}
		if str == "-" {
			str = ""
		}
		n := copy(s.room[s.used:], str)
		*(*string)(unsafe.Add(unsafe.Pointer(r), pl.off)) = unsafe.String(unsafe.SliceData(s.room[s.used:]), n)
		s.used += n
		end = e
	case valueAddr:
		str, e, ok := plainStringAt(d, i)
		if !ok || str == "-" {
			return false
		}
		addr, ok := parseAddr(str)
		if !ok {
			return false
		}
		*(*netip.Addr)(unsafe.Add(unsafe.Pointer(r), pl.off)), end = addr, e
	case valueEnum:
		for v := range pl.quoted {
			if pl.quoted[v].at(d, i) {
				r.setEnum(f, uint8(v+1))
				end = i + pl.quoted[v].n
				break
			}
		}
	}
	if end == 0 {
		return false
	}
	if pl.tgw {
		r.Kind = KindTGW
	}
	s.prev, s.pos = f, end
	if end >= len(d) || d[end] != ',' {
		s.afterValue = true
	} else {
		s.pos++
	}
	return true
}

// maxHotKey is the longest key pattern (`"name":`) hotMembers reads: with a value of at
// most 34 bytes read (a string's quote and 32 bytes after it, one past its end), a member
// starting 64 bytes before the end of the message is read without a bounds check.
const (
	maxHotKey  = 29
	hotReadLen = 64
)

// hotMembers reads members the way member does while their keys are the ones predicted
// (or the one after, for an optional member a record lacks, or the one that followed the
// key before earlier, for records of two shapes in turns) and their values are plain:
// unsigned integers of up to 15 digits, strings without escapes of up to 31 bytes, dotted IPv4
// addresses, enum names. It stops at the start of the first member it does not read (or
// after a value not followed by a comma). It holds few values and calls nothing but
// ipv4At (for an address not among the last two), so that they stay in registers, loads
// the message's words without bounds checks (its length is checked once a member), and
// finds where each value ends from its bytes alone, so that the next member does not wait
// for the value to be decoded.
//
// It reads the members of d (the message, or a copy of its end: s.pos is an index of d)
// that start before stop, which is at least hotReadLen bytes before d's end.
func (s *fastState) hotMembers(d []byte, stop int) {
	if stop > len(d)-hotReadLen+1 {
		panic("flowlog: hotMembers would read past the end")
	}
	pos, prev, used, groups := s.pos, s.prev, s.used, s.groups
	r, a := s.r, s.a
	base := unsafe.Pointer(unsafe.SliceData(d))
	room := unsafe.Pointer(unsafe.SliceData(s.room))
	rec := unsafe.Pointer(r)
	afterValue := false
members:
	for pos >= 0 && pos < stop {
		at := unsafe.Add(base, pos)
		nx := a.next[prev]
		if nx == 0 {
			break
		}
		pl := &valuePlans[nx-1]
		w0, w1 := word(at, 0), word(at, 8)
		differs := (w0^pl.key.words[0])&pl.key.masks[0] | (w1^pl.key.words[1])&pl.key.masks[1]
		if pl.key.n > 16 { // most keys are compared in two words
			differs |= (word(at, 16)^pl.key.words[2])&pl.key.masks[2] | (word(at, 24)^pl.key.words[3])&pl.key.masks[3]
		}
		if differs != 0 {
			w2, w3 := word(at, 16), word(at, 24)
			// The key after the one predicted (an optional member this record lacks), or
			// the one that followed prev before the one predicted (records of two shapes
			// in turns, such as NODATA ones among the others): that one is then predicted.
			k := &valuePlans[0].key
			if after := a.next[nx-1]; after != 0 {
				k = &valuePlans[after-1].key
				if (w0^k.words[0])&k.masks[0]|(w1^k.words[1])&k.masks[1]|(w2^k.words[2])&k.masks[2]|(w3^k.words[3])&k.masks[3] == 0 {
					nx = after
					goto found
				}
			}
			if alt := a.alt[prev]; alt != 0 {
				k = &valuePlans[alt-1].key
				if (w0^k.words[0])&k.masks[0]|(w1^k.words[1])&k.masks[1]|(w2^k.words[2])&k.masks[2]|(w3^k.words[3])&k.masks[3] == 0 {
					a.alt[prev], a.next[prev] = nx, alt
					nx = alt
					goto found
				}
			}
			break
		found:
			pl = &valuePlans[nx-1]
		}
		f := Field(nx - 1)
		i := pos + pl.key.n
		v := unsafe.Add(base, i)
		groups |= pl.group // before the value: a value abandoned half-stored counts too
		var end int
		switch pl.kind {
		case valueInt:
			x0, x1 := word(v, 0)^0x3030303030303030, word(v, 8)^0x3030303030303030
			n0 := digitRun(x0)
			val := eightDigits(x0 << (64 - 8*n0))
			e := n0
			if n0 == 8 { // a field's numbers mostly have 8 digits or more (times) or fewer
				n1 := digitRun(x1)
				val = val*pow10[n1&7] + eightDigits(x1<<(64-8*n1))
				e += n1
			}
			if e == 0 || e >= 16 || numberBytes.has(*(*byte)(unsafe.Add(v, e))) || val < pl.min || val > pl.max {
				break members
			}
			r.storeInt(pl, f, val)
			end = i + int(e)
		case valueString:
			if *(*byte)(v) != '"' {
				break members
			}
			// The string and the 32 bytes after its quote are copied in four words, which
			// also find its end.
			w0, w1, w2, w3 := word(v, 1), word(v, 9), word(v, 17), word(v, 25)
			field := (*string)(unsafe.Add(rec, pl.off))
			// The field's value in the record before, when this one has the same bytes up
			// to its closing quote (most have: one account, region, zone, VPC, ENI runs).
			last := &a.last[f]
			pm := &prefixMasks[last.n+1]
			differs := (w0^last.w[0])&pm[0] | (w1^last.w[1])&pm[1]
			if last.n > 15 { // with its quote, past two words
				differs |= (w2^last.w[2])&pm[2] | (w3^last.w[3])&pm[3]
			}
			if last.n > 0 && differs == 0 {
				*field = last.s
				end = i + last.n + 2
				break
			}
			// Word by word: a field's values mostly have one length, so the branches are
			// predicted, and most values end in their first two or three words.
			var m uint32
			if m = stopBits(w0); m == 0 {
				if m = stopBits(w1) << 8; m == 0 {
					if m = stopBits(w2) << 16; m == 0 {
						m = stopBits(w3) << 24
					}
				}
			}
			n := bits.TrailingZeros32(m)
			if m == 0 || *(*byte)(unsafe.Add(v, 1+n)) != '"' {
				break members
			}
			to := unsafe.Add(room, used)
			putWord(to, 0, w0)
			putWord(to, 8, w1)
			if n > 16 {
				putWord(to, 16, w2)
				putWord(to, 24, w3)
			}
			// "-" (an instance-id of an ENI without one, say) is the absent value, the
			// empty string, as SetValue reads it.
			size := n
			if n == 1 && byte(w0) == '-' {
				size = 0
			}
			*field = unsafe.String((*byte)(to), size)
			used += size
			end = i + n + 2
			// Field by field: a composite built on the stack and then copied made the
			// copy's wide loads wait on the narrow stores that built it.
			last.w[0], last.w[1], last.w[2], last.w[3], last.n, last.s = w0, w1, w2, w3, n, *field
		case valueAddr:
			if *(*byte)(v) != '"' {
				break members
			}
			w0, w1 := word(v, 1), word(v, 9)
			field := (*netip.Addr)(unsafe.Add(rec, pl.off))
			// One of the last two addresses read, when this one has the same bytes up to
			// its closing quote: pkt-srcaddr and pkt-dstaddr mostly repeat srcaddr and
			// dstaddr, and a reply's addresses are its request's.
			if e := &a.addrs[0]; e.n > 0 && (w0^e.w[0])&prefixMasks[e.n+1][0]|(w1^e.w[1])&prefixMasks[e.n+1][1] == 0 {
				*field, end = e.a, i+e.n+2
				break
			}
			if e := &a.addrs[1]; e.n > 0 && (w0^e.w[0])&prefixMasks[e.n+1][0]|(w1^e.w[1])&prefixMasks[e.n+1][1] == 0 {
				*field, end = e.a, i+e.n+2
				break
			}
			addr, _, ok := ipv4At(d, i)
			if !ok {
				break members
			}
			// Its end is that of the string (the first stop is the closing quote when it
			// is an address), found without waiting for its octets to be read.
			n := bits.TrailingZeros32(stopBits(w0) | stopBits(w1)<<8)
			*field, end = addr, i+n+2
			a0, a1 := &a.addrs[0], &a.addrs[1]
			a1.w, a1.n, a1.a = a0.w, a0.n, a0.a
			a0.w[0], a0.w[1], a0.n, a0.a = w0, w1, n, addr
		case valueEnum:
			x0, x1 := word(v, 0), word(v, 8)
			// A branch for each name, predicted (most records have the one before's),
			// so that the next member need not wait for the comparisons.
			k := 0
			for ; k < len(pl.names); k++ {
				nm := &pl.names[k]
				if nm.n > 0 && (x0^nm.words[0])&nm.masks[0]|(x1^nm.words[1])&nm.masks[1] == 0 {
					break
				}
			}
			if k == len(pl.names) {
				break members
			}
			*(*uint8)(unsafe.Add(rec, pl.off)) = uint8(k + 1)
			end = i + pl.names[k].n
		default:
			break members
		}
		if pl.tgw {
			r.Kind = KindTGW
		}
		prev, pos = f, end
		if *(*byte)(unsafe.Add(base, pos)) != ',' {
			afterValue = true
			break
		}
		pos++
	}
	s.pos, s.prev, s.used, s.groups, s.afterValue = pos, prev, used, groups, afterValue
}

// word returns the little-endian word at p+off.
func word(p unsafe.Pointer, off uintptr) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(p, off))[:])
}

// putWord stores w little-endian at p+off.
func putWord(p unsafe.Pointer, off uintptr, w uint64) {
	binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(p, off))[:], w)
}

// keyAt reads the key at i and its colon when the key is a known field's name without
// escapes and the colon follows it, returning the field and where the value starts.
func keyAt(d []byte, i int) (Field, int, bool) {
	if i >= len(d) || d[i] != '"' {
		return 0, 0, false
	}
	j := i + 1 + stringStop(d[i+1:])
	if j+1 >= len(d) || d[j] != '"' || d[j+1] != ':' {
		return 0, 0, false
	}
	f, ok := jsonKeys.lookup(d[i+1 : j])
	return f, j + 2, ok
}

// seenString is a string value read before: its bytes up to the closing quote (and some
// after) as words, its length (0: none), and its copy in the arena.
type seenString struct {
	w [4]uint64
	n int
	s string
}

// seenAddr is an IPv4 address read before: the bytes of its string up to the closing quote
// (and some after) as words, its length (0: none), and the address.
type seenAddr struct {
	w [2]uint64
	n int
	a netip.Addr
}

// prefixMasks[k] masks the first k bytes of four little-endian words.
var prefixMasks = func() (masks [33][4]uint64) {
	for k := range masks {
		for j := 0; j < k; j++ {
			masks[k][j/8] |= 0xff << (j % 8 * 8)
		}
	}
	return masks
}()

// byteSet is a set of bytes, one bit each.
type byteSet [4]uint64

func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

// numberBytes holds the bytes isNumberByte takes.
var numberBytes = func() (s byteSet) {
	for c := 0; c < 256; c++ {
		if isNumberByte(byte(c)) {
			s[c>>6] |= 1 << (c & 63)
		}
	}
	return s
}()

// uintAt reads the JSON number at i when it is a plain unsigned integer of at most 19
// digits (what parseUint takes), returning its value and end. (fastMembers reads most
// numbers without it, eight digits at a time.)
func uintAt(d []byte, i int) (v uint64, end int, ok bool) {
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

// digitRun returns how many of the bytes of x (little-endian, xor '0') from the first are
// digits: a digit is 0–9, any other byte has a high nibble or goes past 0x0f when 6 is
// added (a carry out of a byte only reaches bytes after the first non-digit).
func digitRun(x uint64) uint {
	return uint(bits.TrailingZeros64((x|(x+0x0606060606060606))&0xf0f0f0f0f0f0f0f0)) / 8
}

// eightDigits returns the number the eight digits 0–9 of x spell, the first (lowest) byte
// the most significant: pairs, then fours, then all eight, combined by multiplication.
func eightDigits(x uint64) uint64 {
	x = (x * (10<<8 + 1)) >> 8 & 0x00ff00ff00ff00ff
	x = (x * (100<<16 + 1)) >> 16 & 0x0000ffff0000ffff
	return (x * (10000<<32 + 1)) >> 32
}

var pow10 = [...]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000}

// plainStringAt reads the JSON string at i when it holds no escape and no control
// character, returning it (a slice of d) and its end after the closing quote.
func plainStringAt(d []byte, i int) (s string, end int, ok bool) {
	if i >= len(d) || d[i] != '"' {
		return "", 0, false
	}
	start := i + 1
	j := start + stringStop(d[start:])
	if j >= len(d) || d[j] != '"' {
		return "", 0, false
	}
	return unsafe.String(&d[start], j-start), j + 1, true
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

// ipv4At reads the JSON string at i when it holds a dotted IPv4 address of four decimal
// octets without leading zeros (netip's form, and the one AppendJSON writes), returning
// the address and the string's end. An octet's length (one to three digits) is found by
// arithmetic rather than branches: it varies from address to address, and mispredicted
// branches were most of the cost of reading one.
func ipv4At(d []byte, i int) (a netip.Addr, end int, ok bool) {
	if i < 0 || len(d)-i < 18 || d[i] != '"' {
		return netip.Addr{}, 0, false
	}
	w := d[i+1 : i+18]
	var ip [4]byte
	var bad uint // not 0 when an octet is not one
	j := uint(0)
	for k := range ip {
		d0, d1, d2 := uint(w[j&15]-'0'), uint(w[(j+1)&15]-'0'), uint(w[(j+2)&15]-'0')
		more1 := (d1 - 10) >> 63           // 1 when the octet has a second digit
		more2 := more1 & ((d2 - 10) >> 63) // and a third
		v := d0 + more1*(9*d0+d1)
		v += more2 * (9*v + d2)
		n := 1 + more1 + more2
		sep := uint('.') // after the last octet, the closing quote
		if k == 3 {
			sep = '"'
		}
		bad |= (9-d0)>>63 | (255-v)>>63 | (d0-1)>>63&more1 | uint(w[(j+n)&15]) ^ sep
		ip[k] = byte(v)
		j += n + 1
	}
	if bad != 0 {
		return netip.Addr{}, 0, false
	}
	return netip.AddrFrom4(ip), i + int(j) + 1, true
}

// parseAddr is netip.ParseAddr without zones, as SetValue reads addresses.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Zone() == ""
}
