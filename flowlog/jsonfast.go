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
// result. Any other form (escapes, "-", null, numbers as strings, values out of range,
// IPv6) is left to the generic path, which then reads the member again: the fast path only
// ever decides what the generic path would have decided (FuzzParseJSON and
// TestParseJSONCopyProperty compare the two).

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
			for _, name := range enumNames(f)[1:] {
				pl.quoted = append(pl.quoted, newPattern(`"`+name+`"`))
			}
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

// fastMembers reads the members of the object at p.pos while their keys are known and
// their values have the plain forms, storing the values; it returns the last key read
// (prev if none) and whether it stopped after a value (at a byte other than the comma it
// consumed after each value) rather than at the start of a member it leaves to the generic
// path. Keys are first compared with the one predicted (see predict), else looked up and
// learnt. It is one function, values and all, so that its state stays in registers.
func (p *jsonScanner) fastMembers(r *Record, prev Field) (Field, bool) {
	d, pos, a := p.data, p.pos, p.strs
	// The strings of the message go to arena room taken once, with 32 bytes to spare: a
	// string is copied eight bytes at a time before its length is known.
	room := a.reserve(len(d) - pos + 32)
	if room == nil {
		return prev, false
	}
	used := 0
	afterValue := false
	var groups Groups
	for {
		// The key.
		var f Field
		var i int // the value's start
		n := a.next[prev]
		hit := false
		if n != 0 {
			k := &keyPatterns[n-1]
			if len(d)-pos >= 32 && pos >= 0 {
				// pattern.at, inlined: a call here made the loop spill and reload its registers.
				w := d[pos : pos+32]
				hit = (binary.LittleEndian.Uint64(w)^k.words[0])&k.masks[0]|
					(binary.LittleEndian.Uint64(w[8:])^k.words[1])&k.masks[1]|
					(binary.LittleEndian.Uint64(w[16:])^k.words[2])&k.masks[2]|
					(binary.LittleEndian.Uint64(w[24:])^k.words[3])&k.masks[3] == 0
			} else {
				hit = k.at(d, pos)
			}
			if !hit && a.next[n-1] != 0 && keyPatterns[a.next[n-1]-1].at(d, pos) {
				// The key after the one predicted: an optional member (pkt-src-aws-service,
				// say) this record lacks. The order learnt keeps it for the records that have it.
				n, hit = a.next[n-1], true
			}
		}
		if hit {
			f, i = Field(n-1), pos+keyPatterns[n-1].n
		} else {
			var ok bool
			if f, i, ok = keyAt(d, pos); !ok {
				break
			}
			a.next[prev] = uint8(f) + 1
		}
		// The value.
		groups |= fieldGroups[f] // before the value: a value abandoned half-stored counts too
		pl := &valuePlans[f]
		var end int
		switch pl.kind {
		case valueInt:
			// Numbers of up to 15 digits are read eight digits at a time, without a branch
			// per digit: the lengths of ports and counters vary from record to record, and
			// mispredicted branches were most of the cost of reading them.
			var v uint64
			var e int
			if len(d)-i >= 16 && i >= 0 {
				x0 := binary.LittleEndian.Uint64(d[i:]) ^ 0x3030303030303030 // digits become 0–9
				x1 := binary.LittleEndian.Uint64(d[i+8:]) ^ 0x3030303030303030
				n0, n1 := digitRun(x0), digitRun(x1)
				v = eightDigits(x0 << (64 - 8*n0)) // leading zeros shifted in
				e = i + int(n0)
				if n0 == 8 {
					v = v*pow10[n1&7] + eightDigits(x1<<(64-8*n1))
					e += int(n1)
				}
				if e == i || e-i >= 16 || isNumberByte(d[e]) {
					e = 0
				}
			}
			if e == 0 {
				var ok bool
				if v, e, ok = uintAt(d, i); !ok {
					break
				}
			}
			if v < pl.min || v > pl.max {
				break
			}
			r.storeInt(pl, f, v)
			end = e
		case valueString:
			if len(d)-i >= 34 && d[i] == '"' {
				// The string and the 32 bytes after its quote are copied in four words,
				// which also find its end.
				w := d[i+1 : i+33]
				w0, w1 := binary.LittleEndian.Uint64(w), binary.LittleEndian.Uint64(w[8:])
				w2, w3 := binary.LittleEndian.Uint64(w[16:]), binary.LittleEndian.Uint64(w[24:])
				field := (*string)(unsafe.Add(unsafe.Pointer(r), pl.off))
				// The field's value in the record before, when this one has the same bytes up
				// to its closing quote (most have: one account, region, zone, VPC, ENI runs).
				last := &a.last[f]
				if pm := &prefixMasks[last.n+1]; last.n > 0 &&
					(w0^last.w[0])&pm[0]|(w1^last.w[1])&pm[1]|(w2^last.w[2])&pm[2]|(w3^last.w[3])&pm[3] == 0 {
					*field = last.s
					end = i + last.n + 2
					break
				}
				m := stopBits(w0) | stopBits(w1)<<8 | stopBits(w2)<<16 | stopBits(w3)<<24
				if n := bits.TrailingZeros32(m); m != 0 && w[n] == '"' && (n != 1 || w[0] != '-') {
					to := room[used : used+32]
					binary.LittleEndian.PutUint64(to, w0)
					binary.LittleEndian.PutUint64(to[8:], w1)
					binary.LittleEndian.PutUint64(to[16:], w2)
					binary.LittleEndian.PutUint64(to[24:], w3)
					*field = unsafe.String(&to[0], n)
					used += n
					end = i + n + 2
					*last = seenString{w: [4]uint64{w0, w1, w2, w3}, n: n, s: *field}
				}
				break
			}
			if s, e, ok := p.plainStringAt(i); ok && s != "-" {
				n := copy(room[used:], s)
				*(*string)(unsafe.Add(unsafe.Pointer(r), pl.off)) = unsafe.String(unsafe.SliceData(room[used:]), n)
				used += n
				end = e
			}
		case valueAddr:
			field := (*netip.Addr)(unsafe.Add(unsafe.Pointer(r), pl.off))
			if len(d)-i >= 18 && i >= 0 && d[i] == '"' {
				// One of the last two addresses read, when this one has the same bytes up to
				// its closing quote: pkt-srcaddr and pkt-dstaddr mostly repeat srcaddr and
				// dstaddr, and a reply's addresses are its request's.
				w0, w1 := binary.LittleEndian.Uint64(d[i+1:]), binary.LittleEndian.Uint64(d[i+9:])
				if e := &a.addrs[0]; e.n > 0 && (w0^e.w[0])&prefixMasks[e.n+1][0]|(w1^e.w[1])&prefixMasks[e.n+1][1] == 0 {
					*field, end = e.a, i+e.n+2
					break
				}
				if e := &a.addrs[1]; e.n > 0 && (w0^e.w[0])&prefixMasks[e.n+1][0]|(w1^e.w[1])&prefixMasks[e.n+1][1] == 0 {
					*field, end = e.a, i+e.n+2
					break
				}
				if addr, e, ok := ipv4At(d, i); ok {
					*field, end = addr, e
					a.addrs[1] = a.addrs[0]
					a.addrs[0] = seenAddr{w: [2]uint64{w0, w1}, n: e - i - 2, a: addr}
					break
				}
			}
			if s, e, ok := p.plainStringAt(i); ok && s != "-" {
				if addr, ok := parseAddr(s); ok {
					*field, end = addr, e
				}
			}
		case valueEnum:
			for v := range pl.quoted {
				if pl.quoted[v].at(d, i) {
					r.setEnum(f, uint8(v+1))
					end = i + pl.quoted[v].n
					break
				}
			}
		}
		if end == 0 { // not a plain value: the generic path reads the member again
			break
		}
		if pl.tgw {
			r.Kind = KindTGW
		}
		prev, pos = f, end
		if pos >= len(d) || d[pos] != ',' {
			afterValue = true
			break
		}
		pos++
	}
	a.commit(used)
	p.pos = pos
	p.groups |= groups
	return prev, afterValue
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
