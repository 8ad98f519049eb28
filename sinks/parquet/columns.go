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

func strGetter(get func(*flowlog.Record) string) getter {
	return func(vals []pq.Value, recs []*flowlog.Record, ci int, _ *FileWriter) {
		for k := range vals {
			if s := get(recs[k]); s != "" {
				vals[k] = pq.ByteArrayValue(bytesOf(s)).Level(0, 1, ci)
			} else {
				vals[k] = pq.Value{}.Level(0, 0, ci)
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

// strFields gives direct access to the string fields that appear in common formats.
var strFields = map[flowlog.Field]func(*flowlog.Record) string{
	flowlog.FieldAccountID:          func(r *flowlog.Record) string { return r.AccountID },
	flowlog.FieldInterfaceID:        func(r *flowlog.Record) string { return r.InterfaceID },
	flowlog.FieldVPCID:              func(r *flowlog.Record) string { return r.VPCID },
	flowlog.FieldSubnetID:           func(r *flowlog.Record) string { return r.SubnetID },
	flowlog.FieldInstanceID:         func(r *flowlog.Record) string { return r.InstanceID },
	flowlog.FieldRegion:             func(r *flowlog.Record) string { return r.Region },
	flowlog.FieldAZID:               func(r *flowlog.Record) string { return r.AZID },
	flowlog.FieldSublocationType:    func(r *flowlog.Record) string { return r.SublocationType },
	flowlog.FieldSublocationID:      func(r *flowlog.Record) string { return r.SublocationID },
	flowlog.FieldPktSrcAWSService:   func(r *flowlog.Record) string { return r.PktSrcAWSService },
	flowlog.FieldPktDstAWSService:   func(r *flowlog.Record) string { return r.PktDstAWSService },
	flowlog.FieldResourceType:       func(r *flowlog.Record) string { return r.ResourceType },
	flowlog.FieldTGWID:              func(r *flowlog.Record) string { return r.TGWID },
	flowlog.FieldTGWAttachmentID:    func(r *flowlog.Record) string { return r.TGWAttachmentID },
	flowlog.FieldTGWSrcVPCAccountID: func(r *flowlog.Record) string { return r.TGWSrcVPCAccountID },
	flowlog.FieldTGWDstVPCAccountID: func(r *flowlog.Record) string { return r.TGWDstVPCAccountID },
	flowlog.FieldTGWSrcVPCID:        func(r *flowlog.Record) string { return r.TGWSrcVPCID },
	flowlog.FieldTGWDstVPCID:        func(r *flowlog.Record) string { return r.TGWDstVPCID },
	flowlog.FieldTGWSrcSubnetID:     func(r *flowlog.Record) string { return r.TGWSrcSubnetID },
	flowlog.FieldTGWDstSubnetID:     func(r *flowlog.Record) string { return r.TGWDstSubnetID },
	flowlog.FieldTGWSrcENI:          func(r *flowlog.Record) string { return r.TGWSrcENI },
	flowlog.FieldTGWDstENI:          func(r *flowlog.Record) string { return r.TGWDstENI },
	flowlog.FieldTGWSrcAZID:         func(r *flowlog.Record) string { return r.TGWSrcAZID },
	flowlog.FieldTGWDstAZID:         func(r *flowlog.Record) string { return r.TGWDstAZID },
	flowlog.FieldTGWPairAttachmentID: func(r *flowlog.Record) string {
		return r.TGWPairAttachmentID
	},
}

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
	switch f.Info().Type {
	case flowlog.ColumnInt32:
		return intGetter(f, true)
	case flowlog.ColumnInt64:
		return intGetter(f, false)
	}
	if get, ok := strFields[f]; ok {
		return strGetter(get)
	}
	return genericGetter(f)
}
