package flowlog

import (
	"net/netip"
	"strings"
)

// Kind says which AWS log a flow record belongs to.
type Kind uint8

const (
	// KindVPC is a VPC Flow Log record (one ENI, one flow, one window).
	KindVPC Kind = iota
	// KindTGW is a Transit Gateway flow log record.
	KindTGW
)

func (k Kind) String() string {
	if k == KindTGW {
		return "tgw"
	}
	return "vpc"
}

// Action is the VPC action field; ActionUnset renders as "-".
type Action uint8

const (
	ActionUnset Action = iota
	ActionAccept
	ActionReject
)

// LogStatus is the log-status field; StatusUnset renders as "-".
type LogStatus uint8

const (
	StatusUnset LogStatus = iota
	StatusOK
	StatusNoData
	StatusSkipData
)

// Direction is the flow-direction field relative to the ENI.
type Direction uint8

const (
	DirectionUnset Direction = iota
	DirectionIngress
	DirectionEgress
)

// AddrType is the type field (IPv4, IPv6, EFA).
type AddrType uint8

const (
	TypeUnset AddrType = iota
	TypeIPv4
	TypeIPv6
	TypeEFA
)

// Record is one VPC or Transit Gateway flow log record. It is a plain typed struct so that
// encoders and decoders can append and parse without maps or per-field allocation.
//
// Absence ("-" in text, null in Parquet) is the zero value for strings, addresses and the
// small enums; integer fields, where 0 is a real value, are absent when their bit is set in
// Null. Fields that only one kind uses are simply left empty by the other kind.
type Record struct {
	Kind Kind
	// Null marks integer fields that are absent ("-"), e.g. ports and counters of NODATA.
	Null FieldSet

	// Version is the version written in the record; 0 means "compute from the format".
	Version uint8

	AccountID   string
	InterfaceID string
	SrcAddr     netip.Addr
	DstAddr     netip.Addr
	SrcPort     uint16
	DstPort     uint16
	Protocol    uint8
	Packets     uint64
	Bytes       uint64
	Start       int64 // epoch seconds of the first packet in the window
	End         int64 // epoch seconds of the last packet in the window
	Action      Action
	LogStatus   LogStatus

	// v3
	VPCID      string
	SubnetID   string
	InstanceID string
	TCPFlags   uint8
	Type       AddrType
	PktSrcAddr netip.Addr
	PktDstAddr netip.Addr

	// v4
	Region          string
	AZID            string
	SublocationType string
	SublocationID   string

	// v5
	PktSrcAWSService string
	PktDstAWSService string
	FlowDirection    Direction
	TrafficPath      uint8

	// v7 (ECS)
	ECSClusterARN           string
	ECSClusterName          string
	ECSContainerInstanceARN string
	ECSContainerInstanceID  string
	ECSContainerID          string
	ECSSecondContainerID    string
	ECSServiceName          string
	ECSTaskDefinitionARN    string
	ECSTaskARN              string
	ECSTaskID               string

	// v8–v10
	RejectReason     string
	ResourceID       string
	EncryptionStatus uint8

	// v11
	InstanceTag          string
	InstanceTag2         string
	InterfaceTag         string
	InterfaceTag2        string
	ASGTag               string
	ASGTag2              string
	InterfaceType        string
	NextHopInterfaceID   string
	NextHopSubnetID      string
	NextHopAZID          string
	NextHopVPCID         string
	NextHopInterfaceType string

	// Transit Gateway (v6)
	ResourceType           string
	TGWID                  string
	TGWAttachmentID        string
	TGWSrcVPCAccountID     string
	TGWDstVPCAccountID     string
	TGWSrcVPCID            string
	TGWDstVPCID            string
	TGWSrcSubnetID         string
	TGWDstSubnetID         string
	TGWSrcENI              string
	TGWDstENI              string
	TGWSrcAZID             string
	TGWDstAZID             string
	TGWPairAttachmentID    string
	PacketsLostNoRoute     uint64
	PacketsLostBlackhole   uint64
	PacketsLostMTUExceeded uint64
	PacketsLostTTLExpired  uint64

	// Extra holds the columns this build does not know (a newer AWS field read from a file
	// header, a Parquet column or a JSON key), by name, with the value exactly as written
	// ("-" when absent): "name value" pairs separated by "\n". Neither names
	// (ValidExtraName) nor values (text columns) contain white space. A string keeps
	// Record comparable and cheap to copy; see ExtraValue, SetExtra and EachExtra.
	Extra string
}

// ExtraValue returns the value of the unknown column name, if the record has it.
func (r *Record) ExtraValue(name string) (string, bool) {
	for rest := r.Extra; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "\n")
		if n, v, _ := strings.Cut(pair, " "); n == name {
			return v, true
		}
	}
	return "", false
}

// SetExtra sets the value of the unknown column name, adding it if the record lacks it. A
// value with white space cannot be a text column and is refused (false).
func (r *Record) SetExtra(name, value string) bool {
	if !ValidExtraName(name) || value == "" || strings.ContainsAny(value, " \t\r\n") {
		return false
	}
	var b strings.Builder
	found := false
	for rest := r.Extra; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "\n")
		n, v, _ := strings.Cut(pair, " ")
		if n == name {
			v, found = value, true
		}
		appendExtra(&b, n, v)
	}
	if !found {
		appendExtra(&b, name, value)
	}
	r.Extra = b.String()
	return true
}

func appendExtra(b *strings.Builder, name, value string) {
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(value)
}

// EachExtra calls fn for each unknown column of r, in order.
func (r *Record) EachExtra(fn func(name, value string)) {
	for rest := r.Extra; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "\n")
		n, v, _ := strings.Cut(pair, " ")
		fn(n, v)
	}
}

// ExtraNames lists the names of the record's unknown columns.
func (r *Record) ExtraNames() []string {
	var names []string
	r.EachExtra(func(n, _ string) { names = append(names, n) })
	return names
}

// Reset clears r for reuse without giving up its identity.
func (r *Record) Reset() { *r = Record{} }

// SetNoData turns r into a NODATA or SKIPDATA record for the given window: the flow fields
// from srcaddr to bytes and the action become "-", as AWS writes them.
func (r *Record) SetNoData(status LogStatus, start, end int64) {
	r.SrcAddr, r.DstAddr = netip.Addr{}, netip.Addr{}
	r.SrcPort, r.DstPort, r.Protocol, r.Packets, r.Bytes = 0, 0, 0, 0, 0
	r.Null = r.Null.With(FieldSrcPort).With(FieldDstPort).With(FieldProtocol).With(FieldPackets).With(FieldBytes)
	r.Action = ActionUnset
	r.LogStatus = status
	r.Start, r.End = start, end
}

// StreamName is the CloudWatch Logs stream AWS would deliver r to: "{eni}-all" for VPC
// records and the transit gateway ID for TGW records.
func (r *Record) StreamName() string {
	if r.Kind == KindTGW {
		return r.TGWID
	}
	return r.InterfaceID + "-all"
}

// Key is the Kafka partition key that keeps one ENI's (or one attachment's) records in order.
func (r *Record) Key() string {
	if r.Kind == KindTGW {
		return r.TGWAttachmentID
	}
	return r.InterfaceID
}
