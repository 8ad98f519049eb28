package parquet

import (
	"net/netip"
	"unsafe"

	pq "github.com/parquet-go/parquet-go"

	"github.com/flowtap/flowtap/flowlog"
)

// getter fills vals[k] with column ci's value for recs[k]. Getters are chosen once per
// column so that the per-value work is a direct field load, not a switch on the field.
type getter func(vals []pq.Value, recs []*flowlog.Record, ci int, fw *FileWriter)

// bytesOf views s as bytes without copying. parquet-go copies values into its column
// buffers during WriteRowValues, and record strings are immutable, so this is safe.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// strGetter reads the string field at byte offset off of each record: a direct load, where
// a per-field closure would cost an indirect call per value.
func strGetter(off uintptr) getter {
	return func(vals []pq.Value, recs []*flowlog.Record, ci int, _ *FileWriter) {
		null := pq.Value{}.Level(0, 0, ci)
		for k := range vals {
			if s := *(*string)(unsafe.Add(unsafe.Pointer(recs[k]), off)); s != "" {
				vals[k] = pq.ByteArrayValue(bytesOf(s)).Level(0, 1, ci)
			} else {
				vals[k] = null
			}
		}
	}
}

// enumGetter handles fields whose text is a fixed name; "-" (unset) is null.
func enumGetter(get func(*flowlog.Record) string) getter {
	return func(vals []pq.Value, recs []*flowlog.Record, ci int, _ *FileWriter) {
		for k := range vals {
			if s := get(recs[k]); s != "-" {
				vals[k] = pq.ByteArrayValue(bytesOf(s)).Level(0, 1, ci)
			} else {
				vals[k] = pq.Value{}.Level(0, 0, ci)
			}
		}
	}
}

func addrGetter(get func(*flowlog.Record) netip.Addr) getter {
	return func(vals []pq.Value, recs []*flowlog.Record, ci int, fw *FileWriter) {
		for k := range vals {
			a := get(recs[k])
			if !a.IsValid() {
				vals[k] = pq.Value{}.Level(0, 0, ci)
				continue
			}
			start := len(fw.arena)
			fw.arena = a.AppendTo(fw.arena)
			vals[k] = pq.ByteArrayValue(fw.arena[start:len(fw.arena):len(fw.arena)]).Level(0, 1, ci)
		}
	}
}

func intGetter(f flowlog.Field, int32col bool) getter {
	return func(vals []pq.Value, recs []*flowlog.Record, ci int, fw *FileWriter) {
		for k := range vals {
			r := recs[k]
			x, ok := r.Int(f)
			if !ok && f == flowlog.FieldVersion && !r.Null.Has(f) {
				x, ok = int64(fw.format.Version()), true
			}
			switch {
			case !ok:
				vals[k] = pq.Value{}.Level(0, 0, ci)
			case int32col:
				vals[k] = pq.Int32Value(int32(x)).Level(0, 1, ci)
			default:
				vals[k] = pq.Int64Value(x).Level(0, 1, ci)
			}
		}
	}
}

// numGetter reads an integer field of type T at byte offset off, null when f is in Null.
func numGetter[T uint8 | uint16 | uint64 | int64](f flowlog.Field, off uintptr, int32col bool) getter {
	return func(vals []pq.Value, recs []*flowlog.Record, ci int, _ *FileWriter) {
		null := pq.Value{}.Level(0, 0, ci)
		for k := range vals {
			r := recs[k]
			if r.Null.Has(f) {
				vals[k] = null
				continue
			}
			x := *(*T)(unsafe.Add(unsafe.Pointer(r), off))
			if int32col {
				vals[k] = pq.Int32Value(int32(x)).Level(0, 1, ci)
			} else {
				vals[k] = pq.Int64Value(int64(x)).Level(0, 1, ci)
			}
		}
	}
}

// numFields gives direct access to the integer fields (all but version, whose absent
// value depends on the format).
var numFields = func() map[flowlog.Field]getter {
	var r flowlog.Record
	base := uintptr(unsafe.Pointer(&r))
	i32 := func(f flowlog.Field) bool { return f.Info().Type == flowlog.ColumnInt32 }
	u8 := func(f flowlog.Field, p *uint8) getter {
		return numGetter[uint8](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	u16 := func(f flowlog.Field, p *uint16) getter {
		return numGetter[uint16](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	u64 := func(f flowlog.Field, p *uint64) getter {
		return numGetter[uint64](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	i64 := func(f flowlog.Field, p *int64) getter {
		return numGetter[int64](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	return map[flowlog.Field]getter{
		flowlog.FieldSrcPort:                u16(flowlog.FieldSrcPort, &r.SrcPort),
		flowlog.FieldDstPort:                u16(flowlog.FieldDstPort, &r.DstPort),
		flowlog.FieldProtocol:               u8(flowlog.FieldProtocol, &r.Protocol),
		flowlog.FieldTCPFlags:               u8(flowlog.FieldTCPFlags, &r.TCPFlags),
		flowlog.FieldTrafficPath:            u8(flowlog.FieldTrafficPath, &r.TrafficPath),
		flowlog.FieldEncryptionStatus:       u8(flowlog.FieldEncryptionStatus, &r.EncryptionStatus),
		flowlog.FieldPackets:                u64(flowlog.FieldPackets, &r.Packets),
		flowlog.FieldBytes:                  u64(flowlog.FieldBytes, &r.Bytes),
		flowlog.FieldPacketsLostNoRoute:     u64(flowlog.FieldPacketsLostNoRoute, &r.PacketsLostNoRoute),
		flowlog.FieldPacketsLostBlackhole:   u64(flowlog.FieldPacketsLostBlackhole, &r.PacketsLostBlackhole),
		flowlog.FieldPacketsLostMTUExceeded: u64(flowlog.FieldPacketsLostMTUExceeded, &r.PacketsLostMTUExceeded),
		flowlog.FieldPacketsLostTTLExpired:  u64(flowlog.FieldPacketsLostTTLExpired, &r.PacketsLostTTLExpired),
		flowlog.FieldStart:                  i64(flowlog.FieldStart, &r.Start),
		flowlog.FieldEnd:                    i64(flowlog.FieldEnd, &r.End),
	}
}()

// genericGetter covers the rarely used string fields through the text form.
func genericGetter(f flowlog.Field) getter {
	return func(vals []pq.Value, recs []*flowlog.Record, ci int, fw *FileWriter) {
		for k := range vals {
			start := len(fw.arena)
			fw.arena = recs[k].AppendValue(fw.arena, f, fw.format.Version())
			s := fw.arena[start:len(fw.arena):len(fw.arena)]
			if len(s) == 1 && s[0] == '-' {
				fw.arena = fw.arena[:start]
				vals[k] = pq.Value{}.Level(0, 0, ci)
			} else {
				vals[k] = pq.ByteArrayValue(s).Level(0, 1, ci)
			}
		}
	}
}

// strFields maps the plain string fields to their offsets in flowlog.Record.
var strFields = func() map[flowlog.Field]uintptr {
	var r flowlog.Record
	base := uintptr(unsafe.Pointer(&r))
	off := func(p *string) uintptr { return uintptr(unsafe.Pointer(p)) - base }
	return map[flowlog.Field]uintptr{
		flowlog.FieldAccountID:           off(&r.AccountID),
		flowlog.FieldInterfaceID:         off(&r.InterfaceID),
		flowlog.FieldVPCID:               off(&r.VPCID),
		flowlog.FieldSubnetID:            off(&r.SubnetID),
		flowlog.FieldInstanceID:          off(&r.InstanceID),
		flowlog.FieldRegion:              off(&r.Region),
		flowlog.FieldAZID:                off(&r.AZID),
		flowlog.FieldSublocationType:     off(&r.SublocationType),
		flowlog.FieldSublocationID:       off(&r.SublocationID),
		flowlog.FieldPktSrcAWSService:    off(&r.PktSrcAWSService),
		flowlog.FieldPktDstAWSService:    off(&r.PktDstAWSService),
		flowlog.FieldResourceType:        off(&r.ResourceType),
		flowlog.FieldTGWID:               off(&r.TGWID),
		flowlog.FieldTGWAttachmentID:     off(&r.TGWAttachmentID),
		flowlog.FieldTGWSrcVPCAccountID:  off(&r.TGWSrcVPCAccountID),
		flowlog.FieldTGWDstVPCAccountID:  off(&r.TGWDstVPCAccountID),
		flowlog.FieldTGWSrcVPCID:         off(&r.TGWSrcVPCID),
		flowlog.FieldTGWDstVPCID:         off(&r.TGWDstVPCID),
		flowlog.FieldTGWSrcSubnetID:      off(&r.TGWSrcSubnetID),
		flowlog.FieldTGWDstSubnetID:      off(&r.TGWDstSubnetID),
		flowlog.FieldTGWSrcENI:           off(&r.TGWSrcENI),
		flowlog.FieldTGWDstENI:           off(&r.TGWDstENI),
		flowlog.FieldTGWSrcAZID:          off(&r.TGWSrcAZID),
		flowlog.FieldTGWDstAZID:          off(&r.TGWDstAZID),
		flowlog.FieldTGWPairAttachmentID: off(&r.TGWPairAttachmentID),
	}
}()

func getterFor(f flowlog.Field) getter {
	switch f {
	case flowlog.FieldSrcAddr:
		return addrGetter(func(r *flowlog.Record) netip.Addr { return r.SrcAddr })
	case flowlog.FieldDstAddr:
		return addrGetter(func(r *flowlog.Record) netip.Addr { return r.DstAddr })
	case flowlog.FieldPktSrcAddr:
		return addrGetter(func(r *flowlog.Record) netip.Addr { return r.PktSrcAddr })
	case flowlog.FieldPktDstAddr:
		return addrGetter(func(r *flowlog.Record) netip.Addr { return r.PktDstAddr })
	case flowlog.FieldAction:
		return enumGetter(func(r *flowlog.Record) string { return r.Action.String() })
	case flowlog.FieldLogStatus:
		return enumGetter(func(r *flowlog.Record) string { return r.LogStatus.String() })
	case flowlog.FieldFlowDirection:
		return enumGetter(func(r *flowlog.Record) string { return r.FlowDirection.String() })
	case flowlog.FieldType:
		return enumGetter(func(r *flowlog.Record) string { return r.Type.String() })
	}
	if g, ok := numFields[f]; ok {
		return g
	}
	switch f.Info().Type {
	case flowlog.ColumnInt32:
		return intGetter(f, true)
	case flowlog.ColumnInt64:
		return intGetter(f, false)
	}
	if off, ok := strFields[f]; ok {
		return strGetter(off)
	}
	return genericGetter(f)
}
