package logstore

import (
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"

	"github.com/grafana/loki/pkg/push"
)

// decodePushRequest decodes a protobuf push request (Loki's push.proto: PushRequest of
// StreamAdapter of EntryAdapter) and refuses what its generated Unmarshal refuses, with
// the same result, but without an allocation per entry: the entries of all streams share
// one slice and lines and metadata alias raw, which must not change while they are in
// use (Push copies what it keeps). Labels are copied: the stream index keeps them.
func decodePushRequest(raw []byte) ([]push.Stream, error) {
	nStreams, nEntries := countPush(raw)
	streams := make([]push.Stream, 0, nStreams)
	entries := make([]push.Entry, 0, nEntries)
	r := protoReader{b: raw}
	for !r.done() {
		field, wt, err := r.tag("PushRequest")
		if err != nil {
			return nil, err
		}
		if field != 1 && field != 2 {
			if err := r.skipField(); err != nil {
				return nil, err
			}
			continue
		}
		if wt != 2 {
			return nil, fmt.Errorf("proto: wrong wireType = %d for field %d of PushRequest", wt, field)
		}
		msg, err := r.bytes()
		if err != nil {
			return nil, err
		}
		if field == 2 {
			continue // format: unused
		}
		var st push.Stream
		if st, entries, err = decodeStream(msg, entries); err != nil {
			return nil, err
		}
		streams = append(streams, st)
	}
	return streams, nil
}

// decodeStream decodes a StreamAdapter, appending its entries to all.
func decodeStream(b []byte, all []push.Entry) (push.Stream, []push.Entry, error) {
	var st push.Stream
	first := len(all)
	r := protoReader{b: b}
	for !r.done() {
		field, wt, err := r.tag("StreamAdapter")
		if err != nil {
			return st, all, err
		}
		switch field {
		case 1:
			if wt != 2 {
				return st, all, fmt.Errorf("proto: wrong wireType = %d for field Labels", wt)
			}
			v, err := r.bytes()
			if err != nil {
				return st, all, err
			}
			st.Labels = string(v)
		case 2:
			if wt != 2 {
				return st, all, fmt.Errorf("proto: wrong wireType = %d for field Entries", wt)
			}
			v, err := r.bytes()
			if err != nil {
				return st, all, err
			}
			var e push.Entry
			if err := decodeEntry(v, &e); err != nil {
				return st, all, err
			}
			all = append(all, e)
		case 3:
			if wt != 0 {
				return st, all, fmt.Errorf("proto: wrong wireType = %d for field Hash", wt)
			}
			if st.Hash, err = r.varint(); err != nil {
				return st, all, err
			}
		default:
			if err := r.skipField(); err != nil {
				return st, all, err
			}
		}
	}
	if len(all) > first {
		// A later stream appends after this one's entries: cap them here.
		st.Entries = all[first:len(all):len(all)]
	}
	return st, all, nil
}

func decodeEntry(b []byte, e *push.Entry) error {
	r := protoReader{b: b}
	for !r.done() {
		field, wt, err := r.tag("EntryAdapter")
		if err != nil {
			return err
		}
		switch field {
		case 1:
			if wt != 2 {
				return fmt.Errorf("proto: wrong wireType = %d for field Timestamp", wt)
			}
			v, err := r.bytes()
			if err != nil {
				return err
			}
			if e.Timestamp, err = decodeTimestamp(v); err != nil {
				return err
			}
		case 2:
			if wt != 2 {
				return fmt.Errorf("proto: wrong wireType = %d for field Line", wt)
			}
			v, err := r.bytes()
			if err != nil {
				return err
			}
			e.Line = aliasString(v)
		case 3, 4:
			if wt != 2 {
				return fmt.Errorf("proto: wrong wireType = %d for field %d of EntryAdapter", wt, field)
			}
			v, err := r.bytes()
			if err != nil {
				return err
			}
			var l push.LabelAdapter
			if err := decodeLabelPair(v, &l); err != nil {
				return err
			}
			if field == 3 {
				e.StructuredMetadata = append(e.StructuredMetadata, l)
			} else {
				e.Parsed = append(e.Parsed, l)
			}
		default:
			if err := r.skipField(); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeLabelPair(b []byte, l *push.LabelAdapter) error {
	r := protoReader{b: b}
	for !r.done() {
		field, wt, err := r.tag("LabelPairAdapter")
		if err != nil {
			return err
		}
		if field != 1 && field != 2 {
			if err := r.skipField(); err != nil {
				return err
			}
			continue
		}
		if wt != 2 {
			return fmt.Errorf("proto: wrong wireType = %d for field %d of LabelPairAdapter", wt, field)
		}
		v, err := r.bytes()
		if err != nil {
			return err
		}
		if field == 1 {
			l.Name = aliasString(v)
		} else {
			l.Value = aliasString(v)
		}
	}
	return nil
}

// Loki's (and protobuf's) valid Timestamp range: [0001-01-01, 10000-01-01).
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300800
)

// decodeTimestamp decodes a google.protobuf.Timestamp and refuses one outside the valid
// range, as Loki's StdTimeUnmarshal does.
func decodeTimestamp(b []byte) (time.Time, error) {
	var sec int64
	var nanos int32
	r := protoReader{b: b}
	for !r.done() {
		field, wt, err := r.tag("Timestamp")
		if err != nil {
			return time.Time{}, err
		}
		if field != 1 && field != 2 {
			if err := r.skipField(); err != nil {
				return time.Time{}, err
			}
			continue
		}
		if wt != 0 {
			return time.Time{}, fmt.Errorf("proto: wrong wireType = %d for field %d of Timestamp", wt, field)
		}
		v, err := r.varint()
		if err != nil {
			return time.Time{}, err
		}
		if field == 1 {
			sec = int64(v)
		} else {
			nanos = int32(v) // an int32 field: the low 32 bits
		}
	}
	if sec < minTimestampSeconds || sec >= maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return time.Time{}, fmt.Errorf("timestamp: seconds %d, nanos %d: out of range", sec, nanos)
	}
	return time.Unix(sec, int64(nanos)).UTC(), nil
}

func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// countPush counts the streams and entries of a push request, to size the decoder's
// slices; it stops at the first malformed field (the decoder then reports it).
func countPush(raw []byte) (streams, entries int) {
	r := protoReader{b: raw}
	for !r.done() {
		field, wt, err := r.tag("")
		if err != nil || wt != 2 {
			return
		}
		msg, err := r.bytes()
		if err != nil || field != 1 {
			return
		}
		streams++
		sr := protoReader{b: msg}
		for !sr.done() {
			f, wt, err := sr.tag("")
			if err != nil || wt != 2 {
				break
			}
			if _, err := sr.bytes(); err != nil {
				break
			}
			if f == 2 {
				entries++
			}
		}
	}
	return
}

var (
	errProtoOverflow  = errors.New("proto: integer overflow")
	errProtoBadLength = errors.New("proto: negative length found during unmarshaling")
)

// protoReader reads protobuf wire format with the bounds and overflow rules of
// gogo/protobuf's generated code (varints of at most 10 bytes, lengths that must fit).
type protoReader struct {
	b   []byte
	i   int
	key int // where the last key read by tag starts
}

func (r *protoReader) done() bool { return r.i >= len(r.b) }

func (r *protoReader) varint() (uint64, error) {
	if r.i < len(r.b) && r.b[r.i] < 0x80 { // most keys and lengths
		r.i++
		return uint64(r.b[r.i-1]), nil
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, errProtoOverflow
		}
		if r.i >= len(r.b) {
			return 0, io.ErrUnexpectedEOF
		}
		c := r.b[r.i]
		r.i++
		v |= uint64(c&0x7F) << shift
		if c < 0x80 {
			return v, nil
		}
	}
}

// tag reads a field's key; msg names the message in errors.
func (r *protoReader) tag(msg string) (field int32, wireType int, err error) {
	r.key = r.i
	wire, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	field, wireType = int32(wire>>3), int(wire&7)
	if wireType == 4 {
		return 0, 0, fmt.Errorf("proto: %s: wiretype end group for non-group", msg)
	}
	if field <= 0 {
		return 0, 0, fmt.Errorf("proto: %s: illegal tag %d (wire type %d)", msg, field, wire)
	}
	return field, wireType, nil
}

// bytes reads a length-delimited value.
func (r *protoReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	l := int(n)
	if l < 0 || r.i+l < 0 {
		return nil, errProtoBadLength
	}
	if r.i+l > len(r.b) {
		return nil, io.ErrUnexpectedEOF
	}
	v := r.b[r.i : r.i+l]
	r.i += l
	return v, nil
}

// skipField skips the field whose key was just read (its value, groups included).
func (r *protoReader) skipField() error {
	r.i = r.key // skipProto reads key and value, as gogo's skip functions do
	n, err := skipProto(r.b[r.i:], 0)
	if err != nil {
		return err
	}
	if n < 0 || r.i+n < 0 {
		return errProtoBadLength
	}
	if r.i+n > len(r.b) {
		return io.ErrUnexpectedEOF
	}
	r.i += n
	return nil
}

// maxGroupDepth bounds nested groups (deprecated, never sent by Loki clients), so that
// a body of nested group starts cannot exhaust the stack.
const maxGroupDepth = 64

// skipProto returns the length of the field (key and value) at the start of b, which is
// nested in depth groups.
func skipProto(b []byte, depth int) (int, error) {
	r := protoReader{b: b}
	wire, err := r.varint()
	if err != nil {
		return 0, err
	}
	switch wire & 7 {
	case 0:
		_, err := r.varint()
		return r.i, err
	case 1:
		return r.i + 8, nil
	case 2:
		n, err := r.varint()
		if err != nil {
			return 0, err
		}
		l := int(n)
		if l < 0 || r.i+l < 0 {
			return 0, errProtoBadLength
		}
		return r.i + l, nil
	case 3:
		if depth >= maxGroupDepth {
			return 0, errors.New("proto: groups nested too deep")
		}
		for {
			start := r.i
			inner, err := r.varint()
			if err != nil {
				return 0, err
			}
			if inner&7 == 4 {
				return r.i, nil
			}
			n, err := skipProto(b[start:], depth+1)
			if err != nil {
				return 0, err
			}
			r.i = start + n
			if r.i < 0 {
				return 0, errProtoBadLength
			}
			if r.i > len(b) {
				// gogo reads on from there and fails the same way.
				return 0, io.ErrUnexpectedEOF
			}
		}
	case 4:
		return r.i, nil
	case 5:
		return r.i + 4, nil
	}
	return 0, fmt.Errorf("proto: illegal wireType %d", wire&7)
}
