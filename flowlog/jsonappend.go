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
	start := len(dst)
	if r.Kind == KindTGW {
		for _, f := range tgwJSONFields {
			dst = appendJSONMember(dst, r, f)
		}
	} else {
		dst = appendVPCMembers(dst, r)
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

// The fields of a TGW record in AllTGW order, and each field's `,"name":`.
var (
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

// appendVPCMembers is appendJSONMember over AllVPC's fields, unrolled: a VPC record's absent
// fields cost one comparison each (most of the 54 are absent in most records).
func appendVPCMembers(dst []byte, r *Record) []byte {
	if r.Version != 0 && !r.Null.Has(FieldVersion) {
		dst = appendIntMember(dst, r, FieldVersion, int64(r.Version))
	}
	if r.AccountID != "" {
		dst = appendStringMember(dst, FieldAccountID, r.AccountID)
	}
	if r.InterfaceID != "" {
		dst = appendStringMember(dst, FieldInterfaceID, r.InterfaceID)
	}
	if r.SrcAddr.IsValid() {
		dst = appendAddrMember(dst, FieldSrcAddr, r.SrcAddr)
	}
	if r.DstAddr.IsValid() {
		dst = appendAddrMember(dst, FieldDstAddr, r.DstAddr)
	}
	dst = appendIntMember(dst, r, FieldSrcPort, int64(r.SrcPort))
	dst = appendIntMember(dst, r, FieldDstPort, int64(r.DstPort))
	dst = appendIntMember(dst, r, FieldProtocol, int64(r.Protocol))
	dst = appendIntMember(dst, r, FieldPackets, int64(r.Packets))
	dst = appendIntMember(dst, r, FieldBytes, int64(r.Bytes))
	dst = appendIntMember(dst, r, FieldStart, r.Start)
	dst = appendIntMember(dst, r, FieldEnd, r.End)
	if r.Action != ActionUnset {
		dst = appendEnumMember(dst, FieldAction, r.Action.String())
	}
	if r.LogStatus != StatusUnset {
		dst = appendEnumMember(dst, FieldLogStatus, r.LogStatus.String())
	}
	if r.VPCID != "" {
		dst = appendStringMember(dst, FieldVPCID, r.VPCID)
	}
	if r.SubnetID != "" {
		dst = appendStringMember(dst, FieldSubnetID, r.SubnetID)
	}
	if r.InstanceID != "" {
		dst = appendStringMember(dst, FieldInstanceID, r.InstanceID)
	}
	dst = appendIntMember(dst, r, FieldTCPFlags, int64(r.TCPFlags))
	if r.Type != TypeUnset {
		dst = appendEnumMember(dst, FieldType, r.Type.String())
	}
	if r.PktSrcAddr.IsValid() {
		dst = appendAddrMember(dst, FieldPktSrcAddr, r.PktSrcAddr)
	}
	if r.PktDstAddr.IsValid() {
		dst = appendAddrMember(dst, FieldPktDstAddr, r.PktDstAddr)
	}
	if r.Region != "" {
		dst = appendStringMember(dst, FieldRegion, r.Region)
	}
	if r.AZID != "" {
		dst = appendStringMember(dst, FieldAZID, r.AZID)
	}
	if r.SublocationType != "" {
		dst = appendStringMember(dst, FieldSublocationType, r.SublocationType)
	}
	if r.SublocationID != "" {
		dst = appendStringMember(dst, FieldSublocationID, r.SublocationID)
	}
	if r.PktSrcAWSService != "" {
		dst = appendStringMember(dst, FieldPktSrcAWSService, r.PktSrcAWSService)
	}
	if r.PktDstAWSService != "" {
		dst = appendStringMember(dst, FieldPktDstAWSService, r.PktDstAWSService)
	}
	if r.FlowDirection != DirectionUnset {
		dst = appendEnumMember(dst, FieldFlowDirection, r.FlowDirection.String())
	}
	dst = appendIntMember(dst, r, FieldTrafficPath, int64(r.TrafficPath))
	if r.ECSClusterARN != "" {
		dst = appendStringMember(dst, FieldECSClusterARN, r.ECSClusterARN)
	}
	if r.ECSClusterName != "" {
		dst = appendStringMember(dst, FieldECSClusterName, r.ECSClusterName)
	}
	if r.ECSContainerInstanceARN != "" {
		dst = appendStringMember(dst, FieldECSContainerInstanceARN, r.ECSContainerInstanceARN)
	}
	if r.ECSContainerInstanceID != "" {
		dst = appendStringMember(dst, FieldECSContainerInstanceID, r.ECSContainerInstanceID)
	}
	if r.ECSContainerID != "" {
		dst = appendStringMember(dst, FieldECSContainerID, r.ECSContainerID)
	}
	if r.ECSSecondContainerID != "" {
		dst = appendStringMember(dst, FieldECSSecondContainerID, r.ECSSecondContainerID)
	}
	if r.ECSServiceName != "" {
		dst = appendStringMember(dst, FieldECSServiceName, r.ECSServiceName)
	}
	if r.ECSTaskDefinitionARN != "" {
		dst = appendStringMember(dst, FieldECSTaskDefinitionARN, r.ECSTaskDefinitionARN)
	}
	if r.ECSTaskARN != "" {
		dst = appendStringMember(dst, FieldECSTaskARN, r.ECSTaskARN)
	}
	if r.ECSTaskID != "" {
		dst = appendStringMember(dst, FieldECSTaskID, r.ECSTaskID)
	}
	if r.RejectReason != "" {
		dst = appendStringMember(dst, FieldRejectReason, r.RejectReason)
	}
	if r.ResourceID != "" {
		dst = appendStringMember(dst, FieldResourceID, r.ResourceID)
	}
	dst = appendIntMember(dst, r, FieldEncryptionStatus, int64(r.EncryptionStatus))
	if r.InstanceTag != "" {
		dst = appendStringMember(dst, FieldInstanceTag, r.InstanceTag)
	}
	if r.InstanceTag2 != "" {
		dst = appendStringMember(dst, FieldInstanceTag2, r.InstanceTag2)
	}
	if r.InterfaceTag != "" {
		dst = appendStringMember(dst, FieldInterfaceTag, r.InterfaceTag)
	}
	if r.InterfaceTag2 != "" {
		dst = appendStringMember(dst, FieldInterfaceTag2, r.InterfaceTag2)
	}
	if r.ASGTag != "" {
		dst = appendStringMember(dst, FieldASGTag, r.ASGTag)
	}
	if r.ASGTag2 != "" {
		dst = appendStringMember(dst, FieldASGTag2, r.ASGTag2)
	}
	if r.InterfaceType != "" {
		dst = appendStringMember(dst, FieldInterfaceType, r.InterfaceType)
	}
	if r.NextHopInterfaceID != "" {
		dst = appendStringMember(dst, FieldNextHopInterfaceID, r.NextHopInterfaceID)
	}
	if r.NextHopSubnetID != "" {
		dst = appendStringMember(dst, FieldNextHopSubnetID, r.NextHopSubnetID)
	}
	if r.NextHopAZID != "" {
		dst = appendStringMember(dst, FieldNextHopAZID, r.NextHopAZID)
	}
	if r.NextHopVPCID != "" {
		dst = appendStringMember(dst, FieldNextHopVPCID, r.NextHopVPCID)
	}
	if r.NextHopInterfaceType != "" {
		dst = appendStringMember(dst, FieldNextHopInterfaceType, r.NextHopInterfaceType)
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

// needsEscapeString reports whether s holds a byte that a JSON string cannot carry as is
// (see jsonPlain). It tests eight bytes at a time: AppendJSON runs it over every string
// member of every record the producer sends, byte by byte a tenth of the encoding's time.
func needsEscapeString(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte ≥ 0x80, a byte < 0x20, a '"' or a '\\' (the last three: a byte of w, or of w
		// xor the character, below a bound; exact as "any" even where borrows carry on).
		quote, backslash := w^(ones*'"'), w^(ones*'\\')
		if (w|(w-ones*0x20)&^w|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return true
		}
	}
	return false
}
