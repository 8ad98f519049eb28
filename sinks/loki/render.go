package loki

import (
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

// appendDefaultVPC is render for flowlog.DefaultVPC: version account-id interface-id
// srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status.
func appendDefaultVPC(dst []byte, r *flowlog.Record, version uint8) []byte {
	null := r.Null // once: r might alias dst as far as the compiler knows
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

// appendUint appends v in decimal, writing the digits in place from the last, eight at a
// time in two independent halves (a flow log's numbers are mostly under 10^10).
func appendUint(dst []byte, v uint64) []byte {
	if v < 100 {
		if v < 10 {
			return append(dst, byte('0'+v))
		}
		return append(dst, pairs[v*2], pairs[v*2+1])
	}
	n := decimalLen(v)
	i := len(dst) + n
	dst = slices.Grow(dst, n)[:i]
	for v >= 1e8 {
		q := v / 1e8
		put8(dst[i-8:i], uint32(v-q*1e8))
		i -= 8
		v = q
	}
	w := uint32(v)
	for w >= 100 {
		q := w / 100
		d := (w - q*100) * 2
		i -= 2
		dst[i], dst[i+1] = pairs[d], pairs[d+1]
		w = q
	}
	if w >= 10 {
		dst[i-2], dst[i-1] = pairs[w*2], pairs[w*2+1]
	} else {
		dst[i-1] = byte('0' + w)
	}
	return dst
}

// put8 writes v < 10^8 as exactly eight digits.
func put8(b []byte, v uint32) {
	_ = b[7]
	hi, lo := v/10000, v%10000
	a, c := hi/100*2, lo/100*2
	bb, d := hi%100*2, lo%100*2
	b[0], b[1], b[2], b[3] = pairs[a], pairs[a+1], pairs[bb], pairs[bb+1]
	b[4], b[5], b[6], b[7] = pairs[c], pairs[c+1], pairs[d], pairs[d+1]
}
