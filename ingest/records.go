package ingest

import (
	"github.com/flowtap/flowtap/flowlog"
)

// unknownFields are the integer fields a mirror collector cannot know; they render as "-".
var unknownFields = flowlog.FieldSet{}.With(flowlog.FieldTrafficPath).With(flowlog.FieldEncryptionStatus)

// fillSession copies the ENI metadata of s into r.
func fillSession(r *flowlog.Record, s *Session) {
	r.Kind = flowlog.KindVPC
	r.AccountID = s.AccountID
	r.InterfaceID = s.InterfaceID
	r.VPCID = s.VPCID
	r.SubnetID = s.SubnetID
	r.InstanceID = s.InstanceID
	r.Region = s.Region
	r.AZID = s.AZID
}

// flowRecord fills r with the VPC Flow Log record of f on session s's ENI.
//
// flow-direction is ingress when the packet's destination is one of the ENI's IPs and egress
// when its source is; otherwise (unknown VNI, or an address the session does not list) it
// is "-". srcaddr/dstaddr follow AWS: the ENI's side of an IPv4 flow shows the ENI's primary
// private IPv4 (traffic to a secondary IP shows the primary), the other side the packet's
// address; pkt-srcaddr/pkt-dstaddr always hold the packet's addresses.
func flowRecord(r *flowlog.Record, f *flow, s *Session) {
	*r = flowlog.Record{}
	fillSession(r, s)
	src, dst := f.addrs()
	r.PktSrcAddr, r.PktDstAddr = src, dst
	r.SrcAddr, r.DstAddr = src, dst
	switch {
	case s.owns(dst):
		r.FlowDirection = flowlog.DirectionIngress
		if dst.Is4() && s.primary4.IsValid() {
			r.DstAddr = s.primary4
		}
	case s.owns(src):
		r.FlowDirection = flowlog.DirectionEgress
		if src.Is4() && s.primary4.IsValid() {
			r.SrcAddr = s.primary4
		}
	}
	r.SrcPort, r.DstPort, r.Protocol = f.key.sport(), f.key.dport(), f.key.proto()
	r.Packets, r.Bytes = f.packets, f.bytes
	r.Start, r.End = f.start(), f.end()
	r.Action = flowlog.ActionAccept
	r.LogStatus = flowlog.StatusOK
	r.TCPFlags = f.flags
	r.Type = flowlog.TypeIPv4
	if f.v6 {
		r.Type = flowlog.TypeIPv6
	}
	r.Null = unknownFields
}

// statusRecord fills r with the NODATA or SKIPDATA record of session s for the window
// [start, end]: the flow fields and action are "-", as AWS writes them.
func statusRecord(r *flowlog.Record, s *Session, status flowlog.LogStatus, start, end int64) {
	*r = flowlog.Record{}
	fillSession(r, s)
	r.SetNoData(status, start, end)
	r.Null = r.Null.With(flowlog.FieldTCPFlags).With(flowlog.FieldTrafficPath).With(flowlog.FieldEncryptionStatus)
}
