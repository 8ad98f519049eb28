package loki

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"

	"github.com/flowtap/flowtap/flowlog"
)

// lineRenderer writes records as AWS text lines of one format, byte for byte what
// Format.AppendText writes (render_test.go checks it over random records), but faster for
// the fields the default formats hold: it reads them straight from the Record and prints
// numbers and IPv4 addresses without strconv's and netip's copies through a scratch buffer.
// Other fields go through Record.AppendValue, a format with columns this build does not
// know through Format.AppendText.
type lineRenderer struct {
	format  *flowlog.Format
	fields  []flowlog.Field
	version uint8
	generic bool // the format has unknown columns (Record.Extra)
	// defaultVPC: the format is AWS's default VPC one (the usual case), written by one
	// straight sequence of appends rather than a switch per field.
	defaultVPC bool
}

func newLineRenderer(f *flowlog.Format) *lineRenderer {
	return &lineRenderer{format: f, fields: f.Fields(), version: f.Version(), generic: f.Extras() > 0,
		defaultVPC: f.Equal(flowlog.DefaultVPC)}
}

// render appends r's line to dst.
func (lr *lineRenderer) render(dst []byte, r *flowlog.Record) []byte {
	if lr.defaultVPC {
		return appendDefaultVPC(dst, r, lr.version)
	}
	if lr.generic {
		return lr.format.AppendText(dst, r)
	}
	for i, fd := range lr.fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		switch fd {
		case flowlog.FieldVersion:
			if r.Null.Has(fd) {
				dst = append(dst, '-')
			} else if r.Version != 0 {
				dst = appendUint(dst, uint64(r.Version))
			} else {
				dst = appendUint(dst, uint64(lr.version))
			}
		case flowlog.FieldAccountID:
			dst = appendString(dst, r.AccountID)
		case flowlog.FieldInterfaceID:
			dst = appendString(dst, r.InterfaceID)
		case flowlog.FieldSrcAddr:
			dst = appendAddr(dst, r.SrcAddr)
		case flowlog.FieldDstAddr:
			dst = appendAddr(dst, r.DstAddr)
		case flowlog.FieldSrcPort:
			dst = appendNullable(dst, r.Null.Has(fd), uint64(r.SrcPort))
		case flowlog.FieldDstPort:
			dst = appendNullable(dst, r.Null.Has(fd), uint64(r.DstPort))
		case flowlog.FieldProtocol:
			dst = appendNullable(dst, r.Null.Has(fd), uint64(r.Protocol))
		case flowlog.FieldPackets:
			dst = appendNullable(dst, r.Null.Has(fd), r.Packets)
		case flowlog.FieldBytes:
			dst = appendNullable(dst, r.Null.Has(fd), r.Bytes)
		case flowlog.FieldStart:
			dst = appendNullable(dst, r.Null.Has(fd), uint64(r.Start))
		case flowlog.FieldEnd:
			dst = appendNullable(dst, r.Null.Has(fd), uint64(r.End))
		case flowlog.FieldAction:
			dst = append(dst, r.Action.String()...)
		case flowlog.FieldLogStatus:
			dst = append(dst, r.LogStatus.String()...)
		case flowlog.FieldRegion:
			dst = appendString(dst, r.Region)
		case flowlog.FieldResourceType:
			dst = appendString(dst, r.ResourceType)
		case flowlog.FieldTGWID:
			dst = appendString(dst, r.TGWID)
		case flowlog.FieldTGWAttachmentID:
			dst = appendString(dst, r.TGWAttachmentID)
		default:
			dst = r.AppendValue(dst, fd, lr.version)
		}
	}
	return dst
}

// maxDefaultVPCRest bounds a default VPC line but for its account and interface ids, when
// its addresses are IPv4 or absent and its numbers non-negative: the numbers' digits, the
// addresses, the words, the spaces, and room for the last address octet's and the last
// word's whole-word writes.
const maxDefaultVPCRest = 3 + 2*15 + 5 + 5 + 3 + 4*19 + 8 + 8 + 13 + 2 + 8

// appendDefaultVPC is render for flowlog.DefaultVPC: version account-id interface-id
// srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status. For
// the usual record (IPv4 addresses, numbers that print as they are) it makes room for the
// longest line once and writes by index, address octets and words four and eight bytes at
// a time from tables; else it appends field by field.
func appendDefaultVPC(dst []byte, r *flowlog.Record, version uint8) []byte {
	src, dsa := r.SrcAddr, r.DstAddr
	if src.Is6() || dsa.Is6() || (r.Packets|r.Bytes|uint64(r.Start)|uint64(r.End))>>63 != 0 {
		return appendDefaultVPCByField(dst, r, version)
	}
	null := r.Null // once: r might alias dst as far as the compiler knows
	acct, iface := r.AccountID, r.InterfaceID
	i := len(dst)
	dst = slices.Grow(dst, len(acct)+len(iface)+maxDefaultVPCRest)
	b := dst[:cap(dst)]
	switch {
	case null.Has(flowlog.FieldVersion):
		b[i] = '-'
		i++
	case r.Version != 0:
		i = putUint(b, i, uint64(r.Version))
	default:
		i = putUint(b, i, uint64(version))
	}
	b[i] = ' '
	i = putString(b, i+1, acct)
	b[i] = ' '
	i = putString(b, i+1, iface)
	b[i] = ' '
	i = putAddr4(b, i+1, src)
	b[i] = ' '
	i = putAddr4(b, i+1, dsa)
	b[i] = ' '
	i = putNullable(b, i+1, null.Has(flowlog.FieldSrcPort), uint64(r.SrcPort))
	b[i] = ' '
	i = putNullable(b, i+1, null.Has(flowlog.FieldDstPort), uint64(r.DstPort))
	b[i] = ' '
	i = putNullable(b, i+1, null.Has(flowlog.FieldProtocol), uint64(r.Protocol))
	b[i] = ' '
	i = putNullable(b, i+1, null.Has(flowlog.FieldPackets), r.Packets)
	b[i] = ' '
	i = putNullable(b, i+1, null.Has(flowlog.FieldBytes), r.Bytes)
	b[i] = ' '
	i = putNullable(b, i+1, null.Has(flowlog.FieldStart), uint64(r.Start))
	b[i] = ' '
	i = putNullable(b, i+1, null.Has(flowlog.FieldEnd), uint64(r.End))
	b[i] = ' '
	i = actionWords.put(b, i+1, uint8(r.Action))
	b[i] = ' '
	i = statusWords.put(b, i+1, uint8(r.LogStatus))
	return dst[:i]
}

// putString writes s, or "-" for an empty one, at b[i:] and returns where it ends.
func putString(b []byte, i int, s string) int {
	if s == "" {
		b[i] = '-'
		return i + 1
	}
	return i + copy(b[i:], s)
}

// putNullable writes v (at most MaxInt64), or "-" when absent, at b[i:].
func putNullable(b []byte, i int, absent bool, v uint64) int {
	if absent {
		b[i] = '-'
		return i + 1
	}
	return putUint(b, i, v)
}

// putAddr4 writes a, IPv4 or absent ("-"), at b[i:]; b needs a byte of room past it.
func putAddr4(b []byte, i int, a netip.Addr) int {
	if !a.IsValid() {
		b[i] = '-'
		return i + 1
	}
	o := a.As4()
	for k := range 4 {
		if k > 0 {
			b[i] = '.'
			i++
		}
		x := octetText[o[k]]
		binary.LittleEndian.PutUint32(b[i:], x)
		i += int(x >> 24)
	}
	return i
}

// octetText holds the decimal text of each byte value in its low three bytes, and its
// length in the top one.
var octetText = func() (t [256]uint32) {
	for v := range t {
		s := strconv.Itoa(v)
		for k := len(s) - 1; k >= 0; k-- {
			t[v] = t[v]<<8 | uint32(s[k])
		}
		t[v] |= uint32(len(s)) << 24
	}
	return t
}()

// wordTable holds the text of each value of an enum (up to eight bytes) as an eight-byte
// word, and its length.
type wordTable struct {
	word [256]uint64
	n    [256]uint8
}

// newWordTable takes the text of each value from name, which must be at most eight bytes.
func newWordTable(name func(v uint8) string) *wordTable {
	t := new(wordTable)
	for v := range 256 {
		s := name(uint8(v))
		for k := len(s) - 1; k >= 0; k-- {
			t.word[v] = t.word[v]<<8 | uint64(s[k])
		}
		t.n[v] = uint8(len(s))
	}
	return t
}

// put writes v's text at b[i:], which has eight bytes of room.
func (t *wordTable) put(b []byte, i int, v uint8) int {
	binary.LittleEndian.PutUint64(b[i:], t.word[v])
	return i + int(t.n[v])
}

var (
	actionWords = newWordTable(func(v uint8) string { return flowlog.Action(v).String() })
	statusWords = newWordTable(func(v uint8) string { return flowlog.LogStatus(v).String() })
)

// appendDefaultVPCByField is appendDefaultVPC for any record.
func appendDefaultVPCByField(dst []byte, r *flowlog.Record, version uint8) []byte {
	null := r.Null
	switch {
	case null.Has(flowlog.FieldVersion):
		dst = append(dst, '-')
	case r.Version != 0:
		dst = appendUint(dst, uint64(r.Version))
	default:
		dst = appendUint(dst, uint64(version))
	}
	dst = appendString(append(dst, ' '), r.AccountID)
	dst = appendString(append(dst, ' '), r.InterfaceID)
	dst = appendAddr(append(dst, ' '), r.SrcAddr)
	dst = appendAddr(append(dst, ' '), r.DstAddr)
	dst = appendNullable(append(dst, ' '), null.Has(flowlog.FieldSrcPort), uint64(r.SrcPort))
	dst = appendNullable(append(dst, ' '), null.Has(flowlog.FieldDstPort), uint64(r.DstPort))
	dst = appendNullable(append(dst, ' '), null.Has(flowlog.FieldProtocol), uint64(r.Protocol))
	dst = appendNullable(append(dst, ' '), null.Has(flowlog.FieldPackets), r.Packets)
	dst = appendNullable(append(dst, ' '), null.Has(flowlog.FieldBytes), r.Bytes)
	dst = appendNullable(append(dst, ' '), null.Has(flowlog.FieldStart), uint64(r.Start))
	dst = appendNullable(append(dst, ' '), null.Has(flowlog.FieldEnd), uint64(r.End))
	dst = append(append(dst, ' '), r.Action.String()...)
	return append(append(dst, ' '), r.LogStatus.String()...)
}

func appendString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '-')
	}
	return append(dst, s...)
}

// appendNullable appends an integer field's value v, or "-" when absent. v is printed as
// the int64 Record.Int returns (a uint64 counter past MaxInt64 comes out negative, as in
// Format.AppendText).
func appendNullable(dst []byte, absent bool, v uint64) []byte {
	if absent {
		return append(dst, '-')
	}
	if v > math.MaxInt64 {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return appendUint(dst, v)
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.Is4() {
		if !a.IsValid() {
			return append(dst, '-')
		}
		return a.AppendTo(dst)
	}
	b := a.As4()
	dst = appendOctet(dst, b[0])
	dst = append(dst, '.')
	dst = appendOctet(dst, b[1])
	dst = append(dst, '.')
	dst = appendOctet(dst, b[2])
	dst = append(dst, '.')
	return appendOctet(dst, b[3])
}

func appendOctet(dst []byte, b byte) []byte {
	switch {
	case b >= 100:
		d := b % 100 * 2
		return append(dst, '0'+b/100, pairs[d], pairs[d+1])
	case b >= 10:
		return append(dst, pairs[b*2], pairs[b*2+1])
	}
	return append(dst, '0'+b)
}

// pairs holds "00" to "99": two digits at a time.
const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19}

// decimalLen is the number of decimal digits of v.
func decimalLen(v uint64) int {
	t := bits.Len64(v|1) * 1233 >> 12 // ⌊log10(2^len)⌋: v has t or t+1 digits
	if v < pow10[t] {
		return t
	}
	return t + 1
}

// appendUint appends v in decimal.
func appendUint(dst []byte, v uint64) []byte {
	i := len(dst)
	dst = slices.Grow(dst, 20)
	return dst[:putUint(dst[:cap(dst)], i, v)]
}

// putUint writes v in decimal at b[i:] and returns where it ends. It has straight paths
// for up to four digits (ports, protocols, small counters) and for ten (Unix times until
// 2286); other numbers it writes from the last digit, eight at a time in two independent
// halves.
func putUint(b []byte, i int, v uint64) int {
	switch {
	case v < 10:
		b[i] = byte('0' + v)
		return i + 1
	case v < 100:
		putPair(b, i, v)
		return i + 2
	case v < 1e4:
		q := v / 100
		if q < 10 {
			b[i] = byte('0' + q)
			putPair(b, i+1, v-q*100)
			return i + 3
		}
		putPair(b, i, q)
		putPair(b, i+2, v-q*100)
		return i + 4
	case v >= 1e9 && v < 1e10:
		q := v / 1e8
		putPair(b, i, q)
		put8(b[i+2:i+10], uint32(v-q*1e8))
		return i + 10
	}
	end := i + decimalLen(v)
	i = end
	for v >= 1e8 {
		q := v / 1e8
		put8(b[i-8:i], uint32(v-q*1e8))
		i -= 8
		v = q
	}
	w := uint32(v)
	for w >= 100 {
		q := w / 100
		i -= 2
		putPair(b, i, uint64(w-q*100))
		w = q
	}
	if w >= 10 {
		putPair(b, i-2, uint64(w))
	} else {
		b[i-1] = byte('0' + w)
	}
	return end
}

// putPair writes v < 100 as two digits at b[i:].
func putPair(b []byte, i int, v uint64) {
	binary.LittleEndian.PutUint16(b[i:], pairs16[v])
}

// pairs16 holds pairs as little-endian words, written with one store.
var pairs16 = func() (t [100]uint16) {
	for v := range t {
		t[v] = uint16(pairs[2*v]) | uint16(pairs[2*v+1])<<8
	}
	return t
}()

// put8 writes v < 10^8 as exactly eight digits.
func put8(b []byte, v uint32) {
	_ = b[7]
	hi, lo := v/10000, v%10000
	a, c := hi/100, lo/100
	binary.LittleEndian.PutUint16(b[0:], pairs16[a])
	binary.LittleEndian.PutUint16(b[2:], pairs16[hi-a*100])
	binary.LittleEndian.PutUint16(b[4:], pairs16[c])
	binary.LittleEndian.PutUint16(b[6:], pairs16[lo-c*100])
}
