package flowlog

import "strings"

// Field identifies one field of the registry: every VPC and Transit Gateway flow log field
// AWS documents, in AWS's table order (VPC fields first, then the TGW-only fields).
type Field uint8

const (
	FieldVersion Field = iota
	FieldAccountID
	FieldInterfaceID
	FieldSrcAddr
	FieldDstAddr
	FieldSrcPort
	FieldDstPort
	FieldProtocol
	FieldPackets
	FieldBytes
	FieldStart
	FieldEnd
	FieldAction
	FieldLogStatus
	FieldVPCID
	FieldSubnetID
	FieldInstanceID
	FieldTCPFlags
	FieldType
	FieldPktSrcAddr
	FieldPktDstAddr
	FieldRegion
	FieldAZID
	FieldSublocationType
	FieldSublocationID
	FieldPktSrcAWSService
	FieldPktDstAWSService
	FieldFlowDirection
	FieldTrafficPath
	FieldECSClusterARN
	FieldECSClusterName
	FieldECSContainerInstanceARN
	FieldECSContainerInstanceID
	FieldECSContainerID
	FieldECSSecondContainerID
	FieldECSServiceName
	FieldECSTaskDefinitionARN
	FieldECSTaskARN
	FieldECSTaskID
	FieldRejectReason
	FieldResourceID
	FieldEncryptionStatus
	FieldInstanceTag
	FieldInstanceTag2
	FieldInterfaceTag
	FieldInterfaceTag2
	FieldASGTag
	FieldASGTag2
	FieldInterfaceType
	FieldNextHopInterfaceID
	FieldNextHopSubnetID
	FieldNextHopAZID
	FieldNextHopVPCID
	FieldNextHopInterfaceType
	FieldResourceType
	FieldTGWID
	FieldTGWAttachmentID
	FieldTGWSrcVPCAccountID
	FieldTGWDstVPCAccountID
	FieldTGWSrcVPCID
	FieldTGWDstVPCID
	FieldTGWSrcSubnetID
	FieldTGWDstSubnetID
	FieldTGWSrcENI
	FieldTGWDstENI
	FieldTGWSrcAZID
	FieldTGWDstAZID
	FieldTGWPairAttachmentID
	FieldPacketsLostNoRoute
	FieldPacketsLostBlackhole
	FieldPacketsLostMTUExceeded
	FieldPacketsLostTTLExpired
	// FieldIgnored stands for a column whose name this build does not know (a newer AWS field
	// read from a file header): its values are skipped on parse and written as "-".
	FieldIgnored

	numFields = int(FieldIgnored)
)

// ColumnType is the Parquet type AWS documents for a field.
type ColumnType uint8

const (
	ColumnString ColumnType = iota
	ColumnInt32
	ColumnInt64
)

// Scope says which log kinds may carry a field.
type Scope uint8

const (
	ScopeVPC  Scope = 1 << iota // VPC Flow Logs only
	ScopeTGW                    // Transit Gateway flow logs only
	ScopeBoth = ScopeVPC | ScopeTGW
)

// FieldInfo describes one field: its AWS name, Parquet column, version and type.
type FieldInfo struct {
	Name    string     // AWS name, e.g. "account-id"
	Column  string     // Parquet/Athena column, e.g. "account_id"
	Version uint8      // the flow log version that introduced the field
	Type    ColumnType // Parquet type
	Scope   Scope
}

var fieldInfo = [numFields + 1]FieldInfo{
	FieldVersion:                 {"version", "", 2, ColumnInt32, ScopeBoth},
	FieldAccountID:               {"account-id", "", 2, ColumnString, ScopeBoth},
	FieldInterfaceID:             {"interface-id", "", 2, ColumnString, ScopeVPC},
	FieldSrcAddr:                 {"srcaddr", "", 2, ColumnString, ScopeBoth},
	FieldDstAddr:                 {"dstaddr", "", 2, ColumnString, ScopeBoth},
	FieldSrcPort:                 {"srcport", "", 2, ColumnInt32, ScopeBoth},
	FieldDstPort:                 {"dstport", "", 2, ColumnInt32, ScopeBoth},
	FieldProtocol:                {"protocol", "", 2, ColumnInt32, ScopeBoth},
	FieldPackets:                 {"packets", "", 2, ColumnInt64, ScopeBoth},
	FieldBytes:                   {"bytes", "", 2, ColumnInt64, ScopeBoth},
	FieldStart:                   {"start", "", 2, ColumnInt64, ScopeBoth},
	FieldEnd:                     {"end", "", 2, ColumnInt64, ScopeBoth},
	FieldAction:                  {"action", "", 2, ColumnString, ScopeVPC},
	FieldLogStatus:               {"log-status", "", 2, ColumnString, ScopeBoth},
	FieldVPCID:                   {"vpc-id", "", 3, ColumnString, ScopeVPC},
	FieldSubnetID:                {"subnet-id", "", 3, ColumnString, ScopeVPC},
	FieldInstanceID:              {"instance-id", "", 3, ColumnString, ScopeVPC},
	FieldTCPFlags:                {"tcp-flags", "", 3, ColumnInt32, ScopeBoth},
	FieldType:                    {"type", "", 3, ColumnString, ScopeBoth},
	FieldPktSrcAddr:              {"pkt-srcaddr", "", 3, ColumnString, ScopeVPC},
	FieldPktDstAddr:              {"pkt-dstaddr", "", 3, ColumnString, ScopeVPC},
	FieldRegion:                  {"region", "", 4, ColumnString, ScopeBoth},
	FieldAZID:                    {"az-id", "", 4, ColumnString, ScopeVPC},
	FieldSublocationType:         {"sublocation-type", "", 4, ColumnString, ScopeVPC},
	FieldSublocationID:           {"sublocation-id", "", 4, ColumnString, ScopeVPC},
	FieldPktSrcAWSService:        {"pkt-src-aws-service", "", 5, ColumnString, ScopeBoth},
	FieldPktDstAWSService:        {"pkt-dst-aws-service", "", 5, ColumnString, ScopeBoth},
	FieldFlowDirection:           {"flow-direction", "", 5, ColumnString, ScopeBoth},
	FieldTrafficPath:             {"traffic-path", "", 5, ColumnInt32, ScopeVPC},
	FieldECSClusterARN:           {"ecs-cluster-arn", "", 7, ColumnString, ScopeVPC},
	FieldECSClusterName:          {"ecs-cluster-name", "", 7, ColumnString, ScopeVPC},
	FieldECSContainerInstanceARN: {"ecs-container-instance-arn", "", 7, ColumnString, ScopeVPC},
	FieldECSContainerInstanceID:  {"ecs-container-instance-id", "", 7, ColumnString, ScopeVPC},
	FieldECSContainerID:          {"ecs-container-id", "", 7, ColumnString, ScopeVPC},
	FieldECSSecondContainerID:    {"ecs-second-container-id", "", 7, ColumnString, ScopeVPC},
	FieldECSServiceName:          {"ecs-service-name", "", 7, ColumnString, ScopeVPC},
	FieldECSTaskDefinitionARN:    {"ecs-task-definition-arn", "", 7, ColumnString, ScopeVPC},
	FieldECSTaskARN:              {"ecs-task-arn", "", 7, ColumnString, ScopeVPC},
	FieldECSTaskID:               {"ecs-task-id", "", 7, ColumnString, ScopeVPC},
	FieldRejectReason:            {"reject-reason", "", 8, ColumnString, ScopeVPC},
	FieldResourceID:              {"resource-id", "", 9, ColumnString, ScopeVPC},
	FieldEncryptionStatus:        {"encryption-status", "", 10, ColumnInt32, ScopeVPC},
	FieldInstanceTag:             {"instance-tag", "", 11, ColumnString, ScopeVPC},
	FieldInstanceTag2:            {"instance-tag-2", "", 11, ColumnString, ScopeVPC},
	FieldInterfaceTag:            {"interface-tag", "", 11, ColumnString, ScopeVPC},
	FieldInterfaceTag2:           {"interface-tag-2", "", 11, ColumnString, ScopeVPC},
	FieldASGTag:                  {"asg-tag", "", 11, ColumnString, ScopeVPC},
	FieldASGTag2:                 {"asg-tag-2", "", 11, ColumnString, ScopeVPC},
	FieldInterfaceType:           {"interface-type", "", 11, ColumnString, ScopeVPC},
	FieldNextHopInterfaceID:      {"next-hop-interface-id", "", 11, ColumnString, ScopeVPC},
	FieldNextHopSubnetID:         {"next-hop-subnet-id", "", 11, ColumnString, ScopeVPC},
	FieldNextHopAZID:             {"next-hop-az-id", "", 11, ColumnString, ScopeVPC},
	FieldNextHopVPCID:            {"next-hop-vpc-id", "", 11, ColumnString, ScopeVPC},
	FieldNextHopInterfaceType:    {"next-hop-interface-type", "", 11, ColumnString, ScopeVPC},
	FieldResourceType:            {"resource-type", "", 6, ColumnString, ScopeTGW},
	FieldTGWID:                   {"tgw-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWAttachmentID:         {"tgw-attachment-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWSrcVPCAccountID:      {"tgw-src-vpc-account-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWDstVPCAccountID:      {"tgw-dst-vpc-account-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWSrcVPCID:             {"tgw-src-vpc-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWDstVPCID:             {"tgw-dst-vpc-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWSrcSubnetID:          {"tgw-src-subnet-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWDstSubnetID:          {"tgw-dst-subnet-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWSrcENI:               {"tgw-src-eni", "", 6, ColumnString, ScopeTGW},
	FieldTGWDstENI:               {"tgw-dst-eni", "", 6, ColumnString, ScopeTGW},
	FieldTGWSrcAZID:              {"tgw-src-az-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWDstAZID:              {"tgw-dst-az-id", "", 6, ColumnString, ScopeTGW},
	FieldTGWPairAttachmentID:     {"tgw-pair-attachment-id", "", 6, ColumnString, ScopeTGW},
	FieldPacketsLostNoRoute:      {"packets-lost-no-route", "", 6, ColumnInt64, ScopeTGW},
	FieldPacketsLostBlackhole:    {"packets-lost-blackhole", "", 6, ColumnInt64, ScopeTGW},
	FieldPacketsLostMTUExceeded:  {"packets-lost-mtu-exceeded", "", 6, ColumnInt64, ScopeTGW},
	FieldPacketsLostTTLExpired:   {"packets-lost-ttl-expired", "", 6, ColumnInt64, ScopeTGW},
	FieldIgnored:                 {"-", "", 2, ColumnString, ScopeBoth},
}

// fieldByName is built before any package-level format is parsed.
var fieldByName = buildFieldIndex()

func buildFieldIndex() map[string]Field {
	m := make(map[string]Field, numFields)
	for i := 0; i < numFields; i++ {
		fi := &fieldInfo[i]
		fi.Column = strings.ReplaceAll(fi.Name, "-", "_")
		m[fi.Name] = Field(i)
	}
	return m
}

// Info returns the registry entry of f.
func (f Field) Info() FieldInfo { return fieldInfo[f] }

// String returns the AWS field name.
func (f Field) String() string { return fieldInfo[f].Name }

// Column returns the Parquet/Athena column name (hyphens become underscores).
func (f Field) Column() string { return fieldInfo[f].Column }

// LookupField returns the field with the given AWS name.
func LookupField(name string) (Field, bool) {
	f, ok := fieldByName[name]
	return f, ok
}

// AllFields returns every known field in registry order.
func AllFields() []Field {
	out := make([]Field, numFields)
	for i := range out {
		out[i] = Field(i)
	}
	return out
}

// FieldSet is a set of fields, used for the Null bits of a Record.
type FieldSet [2]uint64

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return s[f>>6]&(1<<(f&63)) != 0 }

// With returns the set with f added.
func (s FieldSet) With(f Field) FieldSet { s[f>>6] |= 1 << (f & 63); return s }

// Without returns the set with f removed.
func (s FieldSet) Without(f Field) FieldSet { s[f>>6] &^= 1 << (f & 63); return s }

// nearestField returns the registry name closest to s by edit distance, for error messages.
func nearestField(s string) string {
	best, bestD := "", 1<<30
	for i := 0; i < numFields; i++ {
		if d := editDistance(s, fieldInfo[i].Name); d < bestD {
			best, bestD = fieldInfo[i].Name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
