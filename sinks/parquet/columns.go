package parquet

import (
	"net/netip"
	"unsafe"

	"github.com/flowtap/flowtap/flowlog"
)

// filler appends column c's values for recs. Fillers are chosen once per column so that
// the per-value work is a direct field load and a dictionary probe, not a switch on the
// field.
type filler func(c *colChunk, recs []*flowlog.Record, fw *FileWriter)

// strFiller reads the string field at byte offset off of each record: a direct load, where
// a per-field closure would cost an indirect call per value. "" is null.
func strFiller(off uintptr) filler {
	return func(c *colChunk, recs []*flowlog.Record, _ *FileWriter) {
		for _, r := range recs {
			if s := *(*string)(unsafe.Add(unsafe.Pointer(r), off)); s != "" {
				c.str(s)
			} else {
				c.null()
			}
		}
	}
}

// keyStrFiller is strFiller for the key column (the interface id): it also records each
// row's dictionary index (-1 for null) in fw.keys, for the hinted columns.
func keyStrFiller(off uintptr) filler {
	return func(c *colChunk, recs []*flowlog.Record, fw *FileWriter) {
		keys := fw.keys[:0]
		for _, r := range recs {
			if s := *(*string)(unsafe.Add(unsafe.Pointer(r), off)); s != "" {
				i := c.strIndex(s)
				c.defs = append(c.defs, 1)
				c.idx = append(c.idx, i)
				keys = append(keys, i)
			} else {
				c.null()
				keys = append(keys, -1)
			}
		}
		fw.keys = keys
	}
}

// hintedStrFiller is strFiller for a column that mostly follows the key column (see
// colChunk.strHinted); it runs after the key column's filler.
func hintedStrFiller(off uintptr) filler {
	return func(c *colChunk, recs []*flowlog.Record, fw *FileWriter) {
		keys := fw.keys[:len(recs)]
		for i, r := range recs {
			if s := *(*string)(unsafe.Add(unsafe.Pointer(r), off)); s != "" {
				c.strHinted(s, keys[i])
			} else {
				c.null()
			}
		}
	}
}

// enumFiller handles fields whose text is a fixed name of a small key; "-" (unset) is
// null. The name is looked up once per key and row group.
func enumFiller(key func(*flowlog.Record) uint8, name func(*flowlog.Record) string) filler {
	return func(c *colChunk, recs []*flowlog.Record, _ *FileWriter) {
		for _, r := range recs {
			k := key(r)
			switch i := c.enums[k]; {
			case i > 0:
				c.defs = append(c.defs, 1)
				c.idx = append(c.idx, i-1)
			case i < 0:
				c.null()
			default:
				if s := name(r); s == "-" {
					c.enums[k] = -1
					c.null()
				} else {
					c.enums[k] = c.dictLen + 1
					c.addDictBytes(s)
					c.defs = append(c.defs, 1)
					c.idx = append(c.idx, c.dictLen-1)
				}
			}
		}
	}
}

// flowAddrFiller is addrFiller for srcaddr or dstaddr when the format also has the
// matching packet address: it records each row's index (-1 for null) in *rows(fw).
func flowAddrFiller(get func(*flowlog.Record) netip.Addr, rows func(*FileWriter) *[]int32) filler {
	return func(c *colChunk, recs []*flowlog.Record, fw *FileWriter) {
		idx := (*rows(fw))[:0]
		for _, r := range recs {
			if a := get(r); a.IsValid() {
				i := c.addrIndex(a)
				c.defs = append(c.defs, 1)
				c.idx = append(c.idx, i)
				idx = append(idx, i)
			} else {
				c.null()
				idx = append(idx, -1)
			}
		}
		*rows(fw) = idx
	}
}

// pktAddrFiller is addrFiller for pkt-srcaddr or pkt-dstaddr, whose flow address
// column (pair) ran first and recorded its rows' indexes in *rows(fw) (colChunk.addrPaired).
func pktAddrFiller(get, pair func(*flowlog.Record) netip.Addr, rows func(*FileWriter) *[]int32) filler {
	return func(c *colChunk, recs []*flowlog.Record, fw *FileWriter) {
		idx := (*rows(fw))[:len(recs)]
		for i, r := range recs {
			if a := get(r); a.IsValid() {
				c.addrPaired(a, pair(r), idx[i])
			} else {
				c.null()
			}
		}
	}
}

func addrFiller(get func(*flowlog.Record) netip.Addr) filler {
	return func(c *colChunk, recs []*flowlog.Record, _ *FileWriter) {
		for _, r := range recs {
			if a := get(r); a.IsValid() {
				c.addr(a)
			} else {
				c.null()
			}
		}
	}
}

func intFiller(f flowlog.Field, int32col bool) filler {
	return func(c *colChunk, recs []*flowlog.Record, fw *FileWriter) {
		for _, r := range recs {
			x, ok := r.Int(f)
			if !ok && f == flowlog.FieldVersion && !r.Null.Has(f) {
				x, ok = int64(fw.format.Version()), true
			}
			switch {
			case !ok:
				c.null()
			case int32col:
				c.int32v(int32(x))
			default:
				c.int64v(x)
			}
		}
	}
}

// numFiller reads an integer field of type T at byte offset off, null when f is in Null.
func numFiller[T uint8 | uint16 | uint64 | int64](f flowlog.Field, off uintptr, int32col bool) filler {
	// f's word and bit of Record.Null, found once: the per-value test is a load and a mask.
	nullWord := unsafe.Offsetof(r0.Null) + uintptr(f>>6)*unsafe.Sizeof(r0.Null[0])
	nullBit := r0.Null.With(f)[f>>6]
	return func(c *colChunk, recs []*flowlog.Record, _ *FileWriter) {
		for _, r := range recs {
			if *(*uint64)(unsafe.Add(unsafe.Pointer(r), nullWord))&nullBit != 0 {
				c.null()
				continue
			}
			x := *(*T)(unsafe.Add(unsafe.Pointer(r), off))
			if int32col {
				c.int32v(int32(x))
			} else {
				c.int64v(int64(x))
			}
		}
	}
}

// numEnds is the end offset in flowlog.Record of each field of numFields.
var numEnds map[flowlog.Field]uintptr

// numFields gives direct access to the integer fields (all but version, whose absent
// value depends on the format).
var numFields = func() map[flowlog.Field]filler {
	var r flowlog.Record
	base := uintptr(unsafe.Pointer(&r))
	i32 := func(f flowlog.Field) bool { return f.Info().Type == flowlog.ColumnInt32 }
	numEnds = make(map[flowlog.Field]uintptr)
	u8 := func(f flowlog.Field, p *uint8) filler {
		numEnds[f] = uintptr(unsafe.Pointer(p)) - base + 1
		return numFiller[uint8](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	u16 := func(f flowlog.Field, p *uint16) filler {
		numEnds[f] = uintptr(unsafe.Pointer(p)) - base + 2
		return numFiller[uint16](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	u64 := func(f flowlog.Field, p *uint64) filler {
		numEnds[f] = uintptr(unsafe.Pointer(p)) - base + 8
		return numFiller[uint64](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	i64 := func(f flowlog.Field, p *int64) filler {
		numEnds[f] = uintptr(unsafe.Pointer(p)) - base + 8
		return numFiller[int64](f, uintptr(unsafe.Pointer(p))-base, i32(f))
	}
	return map[flowlog.Field]filler{
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

// genericFiller covers the rarely used string fields through the text form.
func genericFiller(f flowlog.Field) filler {
	return func(c *colChunk, recs []*flowlog.Record, fw *FileWriter) {
		for _, r := range recs {
			fw.arena = r.AppendValue(fw.arena[:0], f, fw.format.Version())
			if len(fw.arena) == 1 && fw.arena[0] == '-' {
				c.null()
			} else {
				c.str(unsafe.String(unsafe.SliceData(fw.arena), len(fw.arena)))
			}
		}
	}
}

// extraFiller reads the unknown column name (Record.Extra); absent or "-" is null.
func extraFiller(name string) filler {
	return func(c *colChunk, recs []*flowlog.Record, _ *FileWriter) {
		for _, r := range recs {
			if v, ok := r.ExtraValue(name); ok && v != "-" && v != "" {
				c.str(v)
			} else {
				c.null()
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

// fieldEnds is the end offset in flowlog.Record of each field read directly; other fields
// (read through Record methods) may touch any part of it.
var fieldEnds = func() map[flowlog.Field]uintptr {
	var r flowlog.Record
	base := uintptr(unsafe.Pointer(&r))
	m := map[flowlog.Field]uintptr{
		flowlog.FieldVersion:       uintptr(unsafe.Pointer(&r.Version)) - base + 1,
		flowlog.FieldSrcAddr:       uintptr(unsafe.Pointer(&r.SrcAddr)) - base + unsafe.Sizeof(r.SrcAddr),
		flowlog.FieldDstAddr:       uintptr(unsafe.Pointer(&r.DstAddr)) - base + unsafe.Sizeof(r.DstAddr),
		flowlog.FieldPktSrcAddr:    uintptr(unsafe.Pointer(&r.PktSrcAddr)) - base + unsafe.Sizeof(r.PktSrcAddr),
		flowlog.FieldPktDstAddr:    uintptr(unsafe.Pointer(&r.PktDstAddr)) - base + unsafe.Sizeof(r.PktDstAddr),
		flowlog.FieldAction:        uintptr(unsafe.Pointer(&r.Action)) - base + unsafe.Sizeof(r.Action),
		flowlog.FieldLogStatus:     uintptr(unsafe.Pointer(&r.LogStatus)) - base + unsafe.Sizeof(r.LogStatus),
		flowlog.FieldType:          uintptr(unsafe.Pointer(&r.Type)) - base + unsafe.Sizeof(r.Type),
		flowlog.FieldFlowDirection: uintptr(unsafe.Pointer(&r.FlowDirection)) - base + unsafe.Sizeof(r.FlowDirection),
	}
	for f, off := range strFields {
		m[f] = off + unsafe.Sizeof("")
	}
	for f := range numFields { // numFields' initialisation fills numEnds
		m[f] = numEnds[f]
	}
	return m
}()

// recordSpan is how many bytes from the start of a record the columns of format read.
func recordSpan(format *flowlog.Format) uintptr {
	span := unsafe.Sizeof(r0.Null) + unsafe.Offsetof(r0.Null)
	for _, f := range format.Fields() {
		end, ok := fieldEnds[f]
		if !ok {
			return unsafe.Sizeof(r0)
		}
		span = max(span, end)
	}
	return span
}

var r0 flowlog.Record

// Address getters and the packet-address pairs (pairedAddrFillers).
var (
	getSrcAddr    = func(r *flowlog.Record) netip.Addr { return r.SrcAddr }
	getDstAddr    = func(r *flowlog.Record) netip.Addr { return r.DstAddr }
	getPktSrcAddr = func(r *flowlog.Record) netip.Addr { return r.PktSrcAddr }
	getPktDstAddr = func(r *flowlog.Record) netip.Addr { return r.PktDstAddr }
	srcRows       = func(fw *FileWriter) *[]int32 { return &fw.srcRows }
	dstRows       = func(fw *FileWriter) *[]int32 { return &fw.dstRows }
)

// pairedAddrFiller returns the filler of f when it is one of a flow/packet address pair
// both in the format, and whether f is the flow address (which must run first).
func pairedAddrFiller(f flowlog.Field, has func(flowlog.Field) bool) (fill filler, first bool) {
	switch {
	case f == flowlog.FieldSrcAddr && has(flowlog.FieldPktSrcAddr):
		return flowAddrFiller(getSrcAddr, srcRows), true
	case f == flowlog.FieldDstAddr && has(flowlog.FieldPktDstAddr):
		return flowAddrFiller(getDstAddr, dstRows), true
	case f == flowlog.FieldPktSrcAddr && has(flowlog.FieldSrcAddr):
		return pktAddrFiller(getPktSrcAddr, getSrcAddr, srcRows), false
	case f == flowlog.FieldPktDstAddr && has(flowlog.FieldDstAddr):
		return pktAddrFiller(getPktDstAddr, getDstAddr, dstRows), false
	}
	return nil, false
}

func fillerFor(f flowlog.Field) filler {
	switch f {
	case flowlog.FieldSrcAddr:
		return addrFiller(func(r *flowlog.Record) netip.Addr { return r.SrcAddr })
	case flowlog.FieldDstAddr:
		return addrFiller(func(r *flowlog.Record) netip.Addr { return r.DstAddr })
	case flowlog.FieldPktSrcAddr:
		return addrFiller(func(r *flowlog.Record) netip.Addr { return r.PktSrcAddr })
	case flowlog.FieldPktDstAddr:
		return addrFiller(func(r *flowlog.Record) netip.Addr { return r.PktDstAddr })
	case flowlog.FieldAction:
		return enumFiller(func(r *flowlog.Record) uint8 { return uint8(r.Action) },
			func(r *flowlog.Record) string { return r.Action.String() })
	case flowlog.FieldLogStatus:
		return enumFiller(func(r *flowlog.Record) uint8 { return uint8(r.LogStatus) },
			func(r *flowlog.Record) string { return r.LogStatus.String() })
	case flowlog.FieldFlowDirection:
		return enumFiller(func(r *flowlog.Record) uint8 { return uint8(r.FlowDirection) },
			func(r *flowlog.Record) string { return r.FlowDirection.String() })
	case flowlog.FieldType:
		return enumFiller(func(r *flowlog.Record) uint8 { return uint8(r.Type) },
			func(r *flowlog.Record) string { return r.Type.String() })
	}
	if g, ok := numFields[f]; ok {
		return g
	}
	switch f.Info().Type {
	case flowlog.ColumnInt32:
		return intFiller(f, true)
	case flowlog.ColumnInt64:
		return intFiller(f, false)
	}
	if off, ok := strFields[f]; ok {
		return strFiller(off)
	}
	return genericFiller(f)
}
