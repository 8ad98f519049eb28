package flowlog

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// str returns a pointer to the string field f of r, or nil if f is not a plain string field.
func (r *Record) str(f Field) *string {
	switch f {
	case FieldAccountID:
		return &r.AccountID
	case FieldInterfaceID:
		return &r.InterfaceID
	case FieldVPCID:
		return &r.VPCID
	case FieldSubnetID:
		return &r.SubnetID
	case FieldInstanceID:
		return &r.InstanceID
	case FieldRegion:
		return &r.Region
	case FieldAZID:
		return &r.AZID
	case FieldSublocationType:
		return &r.SublocationType
	case FieldSublocationID:
		return &r.SublocationID
	case FieldPktSrcAWSService:
		return &r.PktSrcAWSService
	case FieldPktDstAWSService:
		return &r.PktDstAWSService
	case FieldECSClusterARN:
		return &r.ECSClusterARN
	case FieldECSClusterName:
		return &r.ECSClusterName
	case FieldECSContainerInstanceARN:
		return &r.ECSContainerInstanceARN
	case FieldECSContainerInstanceID:
		return &r.ECSContainerInstanceID
	case FieldECSContainerID:
		return &r.ECSContainerID
	case FieldECSSecondContainerID:
		return &r.ECSSecondContainerID
	case FieldECSServiceName:
		return &r.ECSServiceName
	case FieldECSTaskDefinitionARN:
		return &r.ECSTaskDefinitionARN
	case FieldECSTaskARN:
		return &r.ECSTaskARN
	case FieldECSTaskID:
		return &r.ECSTaskID
	case FieldRejectReason:
		return &r.RejectReason
	case FieldResourceID:
		return &r.ResourceID
	case FieldInstanceTag:
		return &r.InstanceTag
	case FieldInstanceTag2:
		return &r.InstanceTag2
	case FieldInterfaceTag:
		return &r.InterfaceTag
	case FieldInterfaceTag2:
		return &r.InterfaceTag2
	case FieldASGTag:
		return &r.ASGTag
	case FieldASGTag2:
		return &r.ASGTag2
	case FieldInterfaceType:
		return &r.InterfaceType
	case FieldNextHopInterfaceID:
		return &r.NextHopInterfaceID
	case FieldNextHopSubnetID:
		return &r.NextHopSubnetID
	case FieldNextHopAZID:
		return &r.NextHopAZID
	case FieldNextHopVPCID:
		return &r.NextHopVPCID
	case FieldNextHopInterfaceType:
		return &r.NextHopInterfaceType
	case FieldResourceType:
		return &r.ResourceType
	case FieldTGWID:
		return &r.TGWID
	case FieldTGWAttachmentID:
		return &r.TGWAttachmentID
	case FieldTGWSrcVPCAccountID:
		return &r.TGWSrcVPCAccountID
	case FieldTGWDstVPCAccountID:
		return &r.TGWDstVPCAccountID
	case FieldTGWSrcVPCID:
		return &r.TGWSrcVPCID
	case FieldTGWDstVPCID:
		return &r.TGWDstVPCID
	case FieldTGWSrcSubnetID:
		return &r.TGWSrcSubnetID
	case FieldTGWDstSubnetID:
		return &r.TGWDstSubnetID
	case FieldTGWSrcENI:
		return &r.TGWSrcENI
	case FieldTGWDstENI:
		return &r.TGWDstENI
	case FieldTGWSrcAZID:
		return &r.TGWSrcAZID
	case FieldTGWDstAZID:
		return &r.TGWDstAZID
	case FieldTGWPairAttachmentID:
		return &r.TGWPairAttachmentID
	}
	return nil
}

// addr returns a pointer to the address field f of r, or nil if f is not an address field.
func (r *Record) addr(f Field) *netip.Addr {
	switch f {
	case FieldSrcAddr:
		return &r.SrcAddr
	case FieldDstAddr:
		return &r.DstAddr
	case FieldPktSrcAddr:
		return &r.PktSrcAddr
	case FieldPktDstAddr:
		return &r.PktDstAddr
	}
	return nil
}

// Int returns the value of an integer field (ColumnInt32/ColumnInt64) and whether it is
// present. For other fields it returns (0, false).
func (r *Record) Int(f Field) (int64, bool) {
	if r.Null.Has(f) {
		return 0, false
	}
	switch f {
	case FieldVersion:
		return int64(r.Version), r.Version != 0
	case FieldSrcPort:
		return int64(r.SrcPort), true
	case FieldDstPort:
		return int64(r.DstPort), true
	case FieldProtocol:
		return int64(r.Protocol), true
	case FieldPackets:
		return int64(r.Packets), true
	case FieldBytes:
		return int64(r.Bytes), true
	case FieldStart:
		return r.Start, true
	case FieldEnd:
		return r.End, true
	case FieldTCPFlags:
		return int64(r.TCPFlags), true
	case FieldTrafficPath:
		return int64(r.TrafficPath), true
	case FieldEncryptionStatus:
		return int64(r.EncryptionStatus), true
	case FieldPacketsLostNoRoute:
		return int64(r.PacketsLostNoRoute), true
	case FieldPacketsLostBlackhole:
		return int64(r.PacketsLostBlackhole), true
	case FieldPacketsLostMTUExceeded:
		return int64(r.PacketsLostMTUExceeded), true
	case FieldPacketsLostTTLExpired:
		return int64(r.PacketsLostTTLExpired), true
	}
	return 0, false
}

// nullInts holds every integer field but version: a decoded record starts with all of them
// absent, so that fields its input did not carry stay "-" (null) instead of becoming 0.
var nullInts = func() FieldSet {
	var s FieldSet
	for i := 0; i < numFields; i++ {
		if fieldInfo[i].Type != ColumnString && Field(i) != FieldVersion {
			s = s.With(Field(i))
		}
	}
	return s
}()

// intMax is the largest value each integer field accepts.
func intMax(f Field) uint64 {
	switch f {
	case FieldSrcPort, FieldDstPort:
		return 65535
	case FieldVersion, FieldProtocol, FieldTCPFlags, FieldTrafficPath, FieldEncryptionStatus:
		return 255
	case FieldStart, FieldEnd, FieldPackets, FieldBytes:
		return 1<<63 - 1
	}
	return 1<<63 - 1
}

// SetInt stores v into integer field f and clears its Null bit.
func (r *Record) SetInt(f Field, v int64) error {
	if fieldInfo[f].Type == ColumnString {
		return fmt.Errorf("flowlog: %s is not an integer field", f)
	}
	if v < 0 || uint64(v) > intMax(f) {
		return fmt.Errorf("flowlog: %s: value %d out of range 0..%d", f, v, intMax(f))
	}
	r.setInt(f, uint64(v))
	return nil
}

// setInt stores v, which fits, into integer field f and clears its Null bit.
func (r *Record) setInt(f Field, v uint64) {
	r.Null = r.Null.Without(f)
	switch f {
	case FieldVersion:
		r.Version = uint8(v)
	case FieldSrcPort:
		r.SrcPort = uint16(v)
	case FieldDstPort:
		r.DstPort = uint16(v)
	case FieldProtocol:
		r.Protocol = uint8(v)
	case FieldPackets:
		r.Packets = v
	case FieldBytes:
		r.Bytes = v
	case FieldStart:
		r.Start = int64(v)
	case FieldEnd:
		r.End = int64(v)
	case FieldTCPFlags:
		r.TCPFlags = uint8(v)
	case FieldTrafficPath:
		r.TrafficPath = uint8(v)
	case FieldEncryptionStatus:
		r.EncryptionStatus = uint8(v)
	case FieldPacketsLostNoRoute:
		r.PacketsLostNoRoute = v
	case FieldPacketsLostBlackhole:
		r.PacketsLostBlackhole = v
	case FieldPacketsLostMTUExceeded:
		r.PacketsLostMTUExceeded = v
	case FieldPacketsLostTTLExpired:
		r.PacketsLostTTLExpired = v
	}
}

var (
	actionNames    = [...]string{"-", "ACCEPT", "REJECT"}
	statusNames    = [...]string{"-", "OK", "NODATA", "SKIPDATA"}
	directionNames = [...]string{"-", "ingress", "egress"}
	typeNames      = [...]string{"-", "IPv4", "IPv6", "EFA"}
)

func (a Action) String() string    { return enumName(actionNames[:], int(a)) }
func (s LogStatus) String() string { return enumName(statusNames[:], int(s)) }
func (d Direction) String() string { return enumName(directionNames[:], int(d)) }
func (t AddrType) String() string  { return enumName(typeNames[:], int(t)) }

// enumNames returns the names of the values of enum field f by value (index 0 is "-"), or
// nil if f is not one of the enum fields.
func enumNames(f Field) []string {
	switch f {
	case FieldAction:
		return actionNames[:]
	case FieldLogStatus:
		return statusNames[:]
	case FieldFlowDirection:
		return directionNames[:]
	case FieldType:
		return typeNames[:]
	}
	return nil
}

// setEnum stores value i into enum field f.
func (r *Record) setEnum(f Field, i uint8) {
	switch f {
	case FieldAction:
		r.Action = Action(i)
	case FieldLogStatus:
		r.LogStatus = LogStatus(i)
	case FieldFlowDirection:
		r.FlowDirection = Direction(i)
	case FieldType:
		r.Type = AddrType(i)
	}
}

func enumName(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return "-"
}

func enumIndex(names []string, s string) (int, bool) {
	for i := 1; i < len(names); i++ {
		if names[i] == s {
			return i, true
		}
	}
	return 0, false
}

// AppendValue appends the text form of field f of r: what AWS writes in that column, "-"
// when absent. It allocates nothing.
func (r *Record) AppendValue(dst []byte, f Field, version uint8) []byte {
	switch f {
	case FieldVersion:
		if r.Null.Has(FieldVersion) {
			return append(dst, '-')
		}
		if r.Version != 0 {
			version = r.Version
		}
		return strconv.AppendUint(dst, uint64(version), 10)
	case FieldSrcAddr:
		return appendAddr(dst, r.SrcAddr)
	case FieldDstAddr:
		return appendAddr(dst, r.DstAddr)
	case FieldPktSrcAddr:
		return appendAddr(dst, r.PktSrcAddr)
	case FieldPktDstAddr:
		return appendAddr(dst, r.PktDstAddr)
	case FieldAction:
		return append(dst, r.Action.String()...)
	case FieldLogStatus:
		return append(dst, r.LogStatus.String()...)
	case FieldFlowDirection:
		return append(dst, r.FlowDirection.String()...)
	case FieldType:
		return append(dst, r.Type.String()...)
	case FieldIgnored:
		return append(dst, '-')
	}
	if fieldInfo[f].Type != ColumnString {
		v, ok := r.Int(f)
		if !ok {
			return append(dst, '-')
		}
		return strconv.AppendInt(dst, v, 10)
	}
	if p := r.str(f); p != nil && *p != "" {
		return append(dst, *p...)
	}
	return append(dst, '-')
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, '-')
	}
	return a.AppendTo(dst)
}

// Value returns the text form of field f, like AppendValue but as a string.
func (r *Record) Value(f Field) string {
	var buf [64]byte
	return string(r.AppendValue(buf[:0], f, 0))
}

// errBadValue is wrapped by SetValue errors so callers can count them by cause.
var errBadValue = errors.New("invalid value")

// SetValue parses s (AWS text form, "-" for absent) into field f. String fields keep a
// reference to s.
func (r *Record) SetValue(f Field, s string) error {
	if s == "-" {
		r.clear(f)
		return nil
	}
	switch f {
	case FieldSrcAddr, FieldDstAddr, FieldPktSrcAddr, FieldPktDstAddr:
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("%w %q: not an IP address", errBadValue, s)
		}
		*r.addr(f) = a
		return nil
	case FieldAction, FieldLogStatus, FieldFlowDirection, FieldType:
		names := enumNames(f)
		i, ok := enumIndex(names, s)
		if !ok {
			choices := strings.Join(names[1:len(names)-1], ", ") + " or " + names[len(names)-1]
			return fmt.Errorf("%w %q: want %s", errBadValue, s, choices)
		}
		r.setEnum(f, uint8(i))
		return nil
	case FieldIgnored:
		return nil
	}
	if fieldInfo[f].Type != ColumnString {
		v, ok := parseUint(s)
		if !ok || v > intMax(f) {
			return fmt.Errorf("%w %q: want an integer in 0..%d", errBadValue, s, intMax(f))
		}
		if f == FieldStart || f == FieldEnd {
			// AWS has been seen writing milliseconds here: values above 2^31-1 are read as
			// milliseconds (reference §1.1); ones too large even for that are rejected.
			if v > 2147483647 {
				v /= 1000
				if v > 2147483647 {
					return fmt.Errorf("%w %q: not a time in epoch seconds or milliseconds", errBadValue, s)
				}
			}
		}
		if f == FieldVersion && v == 0 {
			return fmt.Errorf("%w %q: version starts at 2", errBadValue, s)
		}
		return r.SetInt(f, int64(v))
	}
	if p := r.str(f); p != nil {
		*p = s
	}
	return nil
}

// clear marks field f absent.
func (r *Record) clear(f Field) {
	if a := r.addr(f); a != nil {
		*a = netip.Addr{}
	}
	switch f {
	case FieldAction:
		r.Action = ActionUnset
	case FieldLogStatus:
		r.LogStatus = StatusUnset
	case FieldFlowDirection:
		r.FlowDirection = DirectionUnset
	case FieldType:
		r.Type = TypeUnset
	}
	if fieldInfo[f].Type != ColumnString {
		_ = r.SetInt(f, 0)
		r.Null = r.Null.With(f)
		return
	}
	if p := r.str(f); p != nil {
		*p = ""
	}
}

// parseUint parses a decimal number without sign; it is faster than strconv for the short
// numbers of flow logs and rejects anything else.
func parseUint(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + uint64(c)
	}
	return v, true
}
