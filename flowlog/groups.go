package flowlog

import (
	"net/netip"
	"unsafe"
)

var (
	zeroAddr        netip.Addr
	netipAddrFilled = netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
)

// Groups is a set of runs of a Record's fields, one bit per version's run (the struct lays
// the fields out in that order): a decoder into reused records clears only the groups a
// record before in the same slot may have set (ResetGroups) instead of the whole ~1 KB
// record, most of which a record of one format never touches. GroupHead (kind, Null,
// version and the v2 fields) is always cleared.
type Groups uint16

// The groups, in the order of Record's fields.
const (
	GroupHead  Groups = 1 << iota // Kind, Null, Version and the v2 fields
	GroupV3                       // vpc-id … pkt-dstaddr
	GroupV4                       // region … sublocation-id
	GroupV5                       // pkt-src-aws-service … traffic-path
	GroupECS                      // the v7 ECS fields
	GroupV8                       // reject-reason, resource-id, encryption-status
	GroupV11                      // the v11 tag and next-hop fields
	GroupTGW                      // the Transit Gateway fields
	GroupExtra                    // Extra
	AllGroups  = GroupExtra<<1 - 1
)

// groupStarts holds the offset in Record of each group's first field, in group order.
var groupStarts = [...]uintptr{
	0,
	unsafe.Offsetof(Record{}.VPCID),
	unsafe.Offsetof(Record{}.Region),
	unsafe.Offsetof(Record{}.PktSrcAWSService),
	unsafe.Offsetof(Record{}.ECSClusterARN),
	unsafe.Offsetof(Record{}.RejectReason),
	unsafe.Offsetof(Record{}.InstanceTag),
	unsafe.Offsetof(Record{}.ResourceType),
	unsafe.Offsetof(Record{}.Extra),
}

// fieldGroups holds the group each field is stored in, found by where setting it changes
// a zero Record, so that it follows the struct's layout whatever the fields' versions say.
var fieldGroups = func() (g [numFields + 1]Groups) {
	for i := 0; i < numFields; i++ {
		var r Record
		r.fill(Field(i))
		b := unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r))
		for off, c := range b {
			if c == 0 {
				continue
			}
			grp := 0
			for grp+1 < len(groupStarts) && uintptr(off) >= groupStarts[grp+1] {
				grp++
			}
			g[i] |= 1 << grp
		}
	}
	return g
}()

// fill sets field f of r to a value with no zero byte where the field is stored (all of an
// integer's bytes, a string's pointer and length, an address's), for fieldGroups.
func (r *Record) fill(f Field) {
	switch {
	case r.str(f) != nil:
		*r.str(f) = "\xff\xff\xff\xff\xff\xff\xff\xff"[:7]
	case r.addr(f) != nil:
		*r.addr(f) = netipAddrFilled
	case enumNames(f) != nil:
		r.setEnum(f, 1)
	default:
		r.setInt(f, ^uint64(0))
	}
}

// GroupOf returns the group field f is stored in.
func GroupOf(f Field) Groups { return fieldGroups[f] }

// ResetGroups clears the fields of groups g and of GroupHead: r is then zero (as after
// Reset) if no other group holds a value. The fields are cleared by assignment, so that
// the garbage collector sees the strings dropped.
func (r *Record) ResetGroups(g Groups) {
	if g&AllGroups == AllGroups {
		*r = Record{}
		return
	}
	r.Kind, r.Null, r.Version = 0, FieldSet{}, 0
	r.AccountID, r.InterfaceID, r.SrcAddr, r.DstAddr = "", "", zeroAddr, zeroAddr
	r.SrcPort, r.DstPort, r.Protocol, r.Packets, r.Bytes, r.Start, r.End = 0, 0, 0, 0, 0, 0, 0
	r.Action, r.LogStatus = 0, 0
	if g&GroupV3 != 0 {
		r.VPCID, r.SubnetID, r.InstanceID, r.TCPFlags, r.Type = "", "", "", 0, 0
		r.PktSrcAddr, r.PktDstAddr = zeroAddr, zeroAddr
	}
	if g&GroupV4 != 0 {
		r.Region, r.AZID, r.SublocationType, r.SublocationID = "", "", "", ""
	}
	if g&GroupV5 != 0 {
		r.PktSrcAWSService, r.PktDstAWSService, r.FlowDirection, r.TrafficPath = "", "", 0, 0
	}
	if g&GroupECS != 0 {
		r.ECSClusterARN, r.ECSClusterName, r.ECSContainerInstanceARN, r.ECSContainerInstanceID = "", "", "", ""
		r.ECSContainerID, r.ECSSecondContainerID, r.ECSServiceName, r.ECSTaskDefinitionARN = "", "", "", ""
		r.ECSTaskARN, r.ECSTaskID = "", ""
	}
	if g&GroupV8 != 0 {
		r.RejectReason, r.ResourceID, r.EncryptionStatus = "", "", 0
	}
	if g&GroupV11 != 0 {
		r.InstanceTag, r.InstanceTag2, r.InterfaceTag, r.InterfaceTag2, r.ASGTag, r.ASGTag2 = "", "", "", "", "", ""
		r.InterfaceType, r.NextHopInterfaceID, r.NextHopSubnetID, r.NextHopAZID = "", "", "", ""
		r.NextHopVPCID, r.NextHopInterfaceType = "", ""
	}
	if g&GroupTGW != 0 {
		r.ResourceType, r.TGWID, r.TGWAttachmentID, r.TGWSrcVPCAccountID, r.TGWDstVPCAccountID = "", "", "", "", ""
		r.TGWSrcVPCID, r.TGWDstVPCID, r.TGWSrcSubnetID, r.TGWDstSubnetID = "", "", "", ""
		r.TGWSrcENI, r.TGWDstENI, r.TGWSrcAZID, r.TGWDstAZID, r.TGWPairAttachmentID = "", "", "", "", ""
		r.PacketsLostNoRoute, r.PacketsLostBlackhole, r.PacketsLostMTUExceeded, r.PacketsLostTTLExpired = 0, 0, 0, 0
	}
	if g&GroupExtra != 0 {
		r.Extra = ""
	}
}
