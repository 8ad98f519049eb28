package flowlog

import (
	"net/netip"
	"strconv"
	"strings"
)

// AppendJSON appends r as one JSON object keyed by AWS field names, holding every present
// field of the record's kind (absent fields are omitted; integers are JSON numbers). It is
// the lossless message encoding used on Kafka and reads back with ParseJSON.
//
// It runs once per record on the producer's hot path, so each member is one switch case
// that tests presence and appends `,"name":value`; the first comma becomes the '{'.
func AppendJSON(dst []byte, r *Record) []byte {
	fields := vpcJSONFields
	if r.Kind == KindTGW {
		fields = tgwJSONFields
	}
	start := len(dst)
	for _, f := range fields {
		dst = appendJSONMember(dst, r, f)
	}
	// Unknown columns follow under their own names, as strings, when they have a value.
	for rest := r.Extra; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "\n")
		name, value, _ := strings.Cut(pair, " ")
		if value == "" || value == "-" || !ValidExtraName(name) {
			continue
		}
		if _, known := fieldByName[name]; known {
			continue
		}
		dst = append(dst, ',')
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		dst = appendJSONString(dst, value)
	}
	if len(dst) == start {
		return append(dst, "{}"...)
	}
	dst[start] = '{'
	return append(dst, '}')
}

// The fields of each kind in AllVPC / AllTGW order, and each field's `,"name":`.
var (
	vpcJSONFields = AllVPC.fields
	tgwJSONFields = AllTGW.fields
	memberKeys    = func() (keys [numFields + 1]string) {
		for i := range keys {
			keys[i] = string(append(appendJSONString([]byte{','}, fieldInfo[i].Name), ':'))
		}
		return keys
	}()
)

// appendJSONMember appends `,"name":value` for field f when r has a value for it.
func appendJSONMember(dst []byte, r *Record, f Field) []byte {
	switch f {
	case FieldVersion:
		if r.Version == 0 || r.Null.Has(f) {
			return dst
		}
		return appendIntMember(dst, r, f, int64(r.Version))
	case FieldSrcPort:
		return appendIntMember(dst, r, f, int64(r.SrcPort))
	case FieldDstPort:
		return appendIntMember(dst, r, f, int64(r.DstPort))
	case FieldProtocol:
		return appendIntMember(dst, r, f, int64(r.Protocol))
	case FieldPackets:
		return appendIntMember(dst, r, f, int64(r.Packets))
	case FieldBytes:
		return appendIntMember(dst, r, f, int64(r.Bytes))
	case FieldStart:
		return appendIntMember(dst, r, f, r.Start)
	case FieldEnd:
		return appendIntMember(dst, r, f, r.End)
	case FieldTCPFlags:
		return appendIntMember(dst, r, f, int64(r.TCPFlags))
	case FieldTrafficPath:
		return appendIntMember(dst, r, f, int64(r.TrafficPath))
	case FieldEncryptionStatus:
		return appendIntMember(dst, r, f, int64(r.EncryptionStatus))
	case FieldPacketsLostNoRoute:
		return appendIntMember(dst, r, f, int64(r.PacketsLostNoRoute))
	case FieldPacketsLostBlackhole:
		return appendIntMember(dst, r, f, int64(r.PacketsLostBlackhole))
	case FieldPacketsLostMTUExceeded:
		return appendIntMember(dst, r, f, int64(r.PacketsLostMTUExceeded))
	case FieldPacketsLostTTLExpired:
		return appendIntMember(dst, r, f, int64(r.PacketsLostTTLExpired))
	case FieldSrcAddr:
		return appendAddrMember(dst, f, r.SrcAddr)
	case FieldDstAddr:
		return appendAddrMember(dst, f, r.DstAddr)
	case FieldPktSrcAddr:
		return appendAddrMember(dst, f, r.PktSrcAddr)
	case FieldPktDstAddr:
		return appendAddrMember(dst, f, r.PktDstAddr)
	case FieldAction:
		if r.Action == ActionUnset {
			return dst
		}
		return appendEnumMember(dst, f, r.Action.String())
	case FieldLogStatus:
		if r.LogStatus == StatusUnset {
			return dst
		}
		return appendEnumMember(dst, f, r.LogStatus.String())
	case FieldFlowDirection:
		if r.FlowDirection == DirectionUnset {
			return dst
		}
		return appendEnumMember(dst, f, r.FlowDirection.String())
	case FieldType:
		if r.Type == TypeUnset {
			return dst
		}
		return appendEnumMember(dst, f, r.Type.String())
	case FieldAccountID:
		return appendStringMember(dst, f, r.AccountID)
	case FieldInterfaceID:
		return appendStringMember(dst, f, r.InterfaceID)
	case FieldVPCID:
		return appendStringMember(dst, f, r.VPCID)
	case FieldSubnetID:
		return appendStringMember(dst, f, r.SubnetID)
	case FieldInstanceID:
		return appendStringMember(dst, f, r.InstanceID)
	case FieldRegion:
		return appendStringMember(dst, f, r.Region)
	case FieldAZID:
		return appendStringMember(dst, f, r.AZID)
	}
	// The rarer string fields.
	if p := r.str(f); p != nil {
		return appendStringMember(dst, f, *p)
	}
	return dst
}

func appendIntMember(dst []byte, r *Record, f Field, v int64) []byte {
	if r.Null.Has(f) {
		return dst
	}
	dst = append(dst, memberKeys[f]...)
	return strconv.AppendInt(dst, v, 10)
}

func appendAddrMember(dst []byte, f Field, a netip.Addr) []byte {
	if !a.IsValid() {
		return dst
	}
	dst = append(dst, memberKeys[f]...)
	dst = append(dst, '"')
	dst = a.AppendTo(dst) // addresses never need escaping
	return append(dst, '"')
}

func appendEnumMember(dst []byte, f Field, name string) []byte {
	dst = append(dst, memberKeys[f]...)
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"')
}

func appendStringMember(dst []byte, f Field, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, memberKeys[f]...)
	if needsEscapeString(s) {
		return appendJSONString(dst, s)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// jsonPlain marks the bytes a JSON string may hold unescaped (and that are ASCII).
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func needsEscapeString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return true
		}
	}
	return false
}
