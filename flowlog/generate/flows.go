package generate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
)

// FlowConfig configures a FlowGen.
type FlowConfig struct {
	// Interval is the aggregation interval in seconds: 60 or 600 (VPC); 60 for TGW.
	Interval int64
	// Rate is the mean number of records per second of log time of the emitted kinds; a
	// diurnal curve moves it between 0.4× (03:00 UTC) and 1.6× (15:00 UTC).
	Rate float64
	// VPC and TGW select the logs emitted. The traffic is the same either way, but the
	// rate counts the records emitted, so the same seed gives the same flows only for the
	// same selection.
	VPC, TGW bool
	// Action filters VPC records: ActionUnset for ALL, else ACCEPT or REJECT only.
	Action flowlog.Action
	// Seed makes the output reproducible: the same seed, topology and config give the
	// same records in the same order.
	Seed uint64
	// BatchSize is the number of records handed to the writer at a time.
	BatchSize int
}

// FlowGen generates VPC and Transit Gateway flow records window by window. It is not safe
// for concurrent use.
type FlowGen struct {
	cfg      FlowConfig
	rng      *rand.Rand
	ix       *index
	m        *model
	active   []flow
	scratch  flow
	stamp    []int64 // last window each ENI logged a record in
	batch    []flowlog.Record
	slotKind []flowlog.Kind
	// spare and spareKind are the other batch: one is filled while the other is written
	// (see flush).
	spare     []flowlog.Record
	spareKind []flowlog.Kind
	writing   chan error // receives the result of the write in flight
	pending   bool       // a write is in flight
	n         int
	count     int     // records emitted in the current window
	carry     float64 // fractional record budget carried between windows
	w         int64   // current window start
	out       flowlog.RecordWriter
	ctx       context.Context
	err       error
	total     int64
}

// NewFlowGen returns a generator over topology t. It does no I/O.
func NewFlowGen(t *topology.Topology, cfg FlowConfig) (*FlowGen, error) {
	if cfg.Interval != 60 && cfg.Interval != 600 {
		return nil, fmt.Errorf("generate: aggregation interval %d s: VPC flow logs allow 60 or 600", cfg.Interval)
	}
	if cfg.TGW && cfg.Interval != 60 {
		return nil, fmt.Errorf("generate: aggregation interval %d s: Transit Gateway flow logs are fixed at 60", cfg.Interval)
	}
	if !cfg.VPC && !cfg.TGW {
		return nil, fmt.Errorf("generate: no flow log kind selected")
	}
	if cfg.TGW && len(t.TransitGateways) == 0 {
		return nil, fmt.Errorf("generate: the topology has no transit gateway, so there are no TGW flow logs")
	}
	if cfg.TGW && cfg.Action != flowlog.ActionUnset {
		return nil, fmt.Errorf("generate: Transit Gateway flow logs have no traffic type (ACCEPT/REJECT); use ALL")
	}
	if cfg.Rate <= 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("generate: rate %v records/s must be positive", cfg.Rate)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 4096
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x666c6f7773))
	ix := buildIndex(t, rng)
	if ix.clients.empty() {
		return nil, fmt.Errorf("generate: the topology has no instance ENIs to carry traffic")
	}
	m := newModel(ix, newInternet(rng))
	for i := range t.VPNConnections {
		m.vgwPrefixes = append(m.vgwPrefixes, t.VPNConnections[i].Prefixes)
	}
	g := &FlowGen{cfg: cfg, rng: rng, ix: ix, m: m, stamp: make([]int64, len(ix.enis)),
		batch: make([]flowlog.Record, cfg.BatchSize), slotKind: make([]flowlog.Kind, cfg.BatchSize),
		spare: make([]flowlog.Record, cfg.BatchSize), spareKind: make([]flowlog.Kind, cfg.BatchSize)}
	for i := range g.slotKind {
		g.slotKind[i], g.spareKind[i] = kindOther, kindOther
	}
	for i := range g.stamp {
		g.stamp[i] = math.MinInt64
	}
	return g, nil
}

// Records is the number of records emitted so far.
func (g *FlowGen) Records() int64 { return g.total }

// Diurnal is the traffic multiplier at epoch second t: mean 1, low at night (UTC), high in
// the afternoon.
func Diurnal(t int64) float64 {
	h := float64(t%86400) / 3600
	return 1 + 0.6*math.Sin(2*math.Pi*(h-9)/24)
}

// Window generates the records of the aggregation window starting at w (a multiple of the
// interval) and hands them to out in batches; it returns once out has taken them all.
// Windows must be generated in order.
func (g *FlowGen) Window(ctx context.Context, w int64, out flowlog.RecordWriter) error {
	defer g.wait()
	I := g.cfg.Interval
	g.ctx, g.out, g.err, g.w, g.count = ctx, out, nil, w, 0
	wEnd := float64(w + I)
	// Flows that started in earlier windows.
	keep := g.active[:0]
	for i := range g.active {
		f := &g.active[i]
		g.emitFlow(f)
		if f.end >= wEnd {
			keep = append(keep, *f)
		}
	}
	g.active = keep
	// New flows until the window's budget is spent.
	g.carry += g.cfg.Rate * float64(I) * Diurnal(w+I/2)
	target := int(g.carry)
	g.carry -= float64(target)
	attempts := 0
	for g.count < target && g.err == nil {
		attempts++
		if attempts > 64*target+10000 {
			return fmt.Errorf("generate: window %d: %d of %d records after %d flows: the topology or filter yields too few records of the selected kind", w, g.count, target, attempts)
		}
		f := &g.scratch
		if !g.m.newFlow(g.rng, f, float64(w)+g.rng.Float64()*float64(I)) {
			continue
		}
		g.emitFlow(f)
		if f.end >= wEnd {
			g.active = append(g.active, *f)
		}
	}
	if g.cfg.VPC {
		g.idle()
	}
	if g.err == nil && g.n > 0 {
		g.flush()
	}
	g.wait()
	return g.err
}

// idle emits NODATA for ENIs without records in the window, and now and then a SKIPDATA
// record for a busy one (AWS's capacity drops).
func (g *FlowGen) idle() {
	I := g.cfg.Interval
	for i := range g.ix.enis {
		if g.err != nil {
			return
		}
		e := &g.ix.enis[i]
		status := flowlog.StatusNoData
		if g.stamp[i] == g.w {
			if g.rng.IntN(2000) != 0 {
				continue
			}
			status = flowlog.StatusSkipData
		}
		r := g.nextOf(kindOther)
		*r = flowlog.Record{Kind: flowlog.KindVPC, AccountID: e.account, InterfaceID: e.id, VPCID: e.vpcID,
			SubnetID: e.subnetID, InstanceID: e.instance, Region: e.region, AZID: e.az, InterfaceType: e.ifType}
		start := g.w + int64(g.rng.IntN(4))
		r.SetNoData(status, start, g.w+I-1-int64(g.rng.IntN(4)))
		r.Null = r.Null.With(flowlog.FieldTCPFlags).With(flowlog.FieldTrafficPath).With(flowlog.FieldEncryptionStatus)
		g.commit()
	}
}

// nextOf returns the next batch slot for a record of kind k. Slots are reused: the record
// fillers assign every field their kind uses, so a slot is cleared in full only when it
// last held another kind (or a NODATA record, kindOther).
func (g *FlowGen) nextOf(k flowlog.Kind) *flowlog.Record {
	r := &g.batch[g.n]
	if g.slotKind[g.n] != k || k == kindOther {
		*r = flowlog.Record{Kind: k}
		g.slotKind[g.n] = k
	}
	return r
}

// kindOther marks a slot whose record was filled by a full literal.
const kindOther = flowlog.Kind(255)

func (g *FlowGen) commit() {
	g.n++
	g.total++
	if g.n == len(g.batch) {
		g.flush()
	}
}

// flush hands the batch to out in another goroutine and goes on filling the spare batch, so
// that generating the next records overlaps with encoding (and, for Kafka, compressing)
// these on a second core. It first waits for the write before, which keeps the batches in
// order and lets it reuse that write's batch.
func (g *FlowGen) flush() {
	g.wait()
	if g.err == nil {
		if g.writing == nil {
			g.writing = make(chan error, 1)
		}
		recs, out, ctx, done := g.batch[:g.n], g.out, g.ctx, g.writing
		go func() { done <- out.WriteRecords(ctx, recs) }()
		g.pending = true
		g.batch, g.spare = g.spare, g.batch
		g.slotKind, g.spareKind = g.spareKind, g.slotKind
	}
	g.n = 0
}

// wait waits for the write in flight and keeps its error.
func (g *FlowGen) wait() {
	if !g.pending {
		return
	}
	g.pending = false
	if err := <-g.writing; err != nil && g.err == nil {
		g.err = err
	}
}

// emitFlow writes the records of f for the current window.
func (g *FlowGen) emitFlow(f *flow) {
	I := float64(g.cfg.Interval)
	w := float64(g.w)
	a, b := math.Max(f.start, w), math.Min(f.end, w+I-0.001)
	if b < a {
		return
	}
	first, last := f.start >= w, f.end < w+I
	// Share of the flow's packets in this window; at least one for a window it spans.
	share := 1.0
	if d := f.end - f.start; d > 0 && !(first && last) {
		share = (b - a) / d
	}
	fwdPk := uint64(math.Max(1, math.Round(float64(f.fwdPk)*share)))
	revPk := uint64(0)
	if f.revPk > 0 {
		revPk = uint64(math.Max(1, math.Round(float64(f.revPk)*share)))
	}
	var fwdRich, revRich uint8
	if f.proto == protoTCP {
		if first {
			fwdRich |= tSYN
			revRich |= tSYNACK
		}
		if fwdPk > 1 || !first {
			fwdRich |= tACK | tPSH
		}
		if revPk > 1 || !first {
			revRich |= tACK | tPSH
		}
		if f.revPk == 0 {
			fwdRich = tSYN // unanswered: every packet is a SYN (retransmissions)
		}
		if last && f.revPk > 0 {
			if f.rst {
				revRich |= tRST
			} else {
				fwdRich |= tFIN
				revRich |= tFIN
			}
		}
	}
	start, end := int64(a), int64(b)
	for i := 0; i < int(f.nobs) && g.err == nil; i++ {
		o := &f.obs[i]
		if o.kind == obsVPC {
			if !g.cfg.VPC {
				continue
			}
			g.vpcRecord(f, o, false, fwdPk, fwdRich, start, end)
			if !o.fwdOnly && revPk > 0 && !o.reject {
				g.vpcRecord(f, o, true, revPk, revRich, start, end)
			}
		} else {
			if !g.cfg.TGW {
				continue
			}
			g.tgwRecord(f, o, false, fwdPk, fwdRich, start, end)
			if !o.fwdOnly && revPk > 0 && o.pair >= 0 {
				// The reverse direction crosses the pair of attachments the other way.
				g.tgwRecord(f, o, true, revPk, revRich, start, end)
			}
		}
	}
}

func (g *FlowGen) vpcRecord(f *flow, o *obs, rev bool, pk uint64, rich uint8, start, end int64) {
	action := flowlog.ActionAccept
	if o.reject {
		action = flowlog.ActionReject
	}
	if g.cfg.Action != flowlog.ActionUnset && g.cfg.Action != action {
		return
	}
	e := &g.ix.enis[o.eni]
	r := g.nextOf(flowlog.KindVPC)
	// Assign every field a VPC record of this generator uses, instead of copying a whole
	// Record literal: it halves the cost per record (see BenchmarkVPCText).
	r.AccountID, r.InterfaceID, r.Protocol, r.Packets, r.Start, r.End = e.account, e.id, f.proto, pk, start, end
	r.Action, r.LogStatus, r.VPCID, r.SubnetID, r.InstanceID = action, flowlog.StatusOK, e.vpcID, e.subnetID, e.instance
	r.Region, r.AZID, r.InterfaceType = e.region, e.az, e.ifType
	r.PktSrcAWSService, r.PktDstAWSService, r.TCPFlags, r.TrafficPath = "", "", 0, 0
	r.Null = flowlog.FieldSet{}
	r.Null = r.Null.With(flowlog.FieldEncryptionStatus)
	src, dst, psrc, pdst := o.src, o.dst, o.psrc, o.pdst
	ingress := o.fwdIngress
	if rev {
		src, dst, psrc, pdst = dst, src, pdst, psrc
		ingress = !ingress
		r.SrcPort, r.DstPort = f.sport, f.cport
		r.Bytes = pk * uint64(f.revSz)
	} else {
		r.SrcPort, r.DstPort = f.cport, f.sport
		r.Bytes = pk * uint64(f.fwdSz)
	}
	r.SrcAddr, r.DstAddr = f.addr[src], f.addr[dst]
	r.PktSrcAddr, r.PktDstAddr = f.addr[psrc], f.addr[pdst]
	if f.pubSlot >= 0 {
		if int8(psrc) == f.pubSlot {
			r.PktSrcAWSService = f.svc
		} else if int8(pdst) == f.pubSlot {
			r.PktDstAWSService = f.svc
		}
	}
	r.Type = flowlog.TypeIPv4
	if f.v6 {
		r.Type = flowlog.TypeIPv6
	}
	if f.proto == protoTCP {
		r.TCPFlags = vpcFlags(rich)
	}
	if ingress {
		r.FlowDirection = flowlog.DirectionIngress
		r.Null = r.Null.With(flowlog.FieldTrafficPath)
	} else {
		r.FlowDirection = flowlog.DirectionEgress
		r.TrafficPath = o.path
	}
	g.stamp[o.eni] = g.w
	if g.cfg.VPC {
		g.count++
	}
	g.commit()
}

func (g *FlowGen) tgwRecord(f *flow, o *obs, rev bool, pk uint64, rich uint8, start, end int64) {
	ix := g.ix
	att := &ix.atts[o.eni]
	gw := &ix.tgws[att.tgw]
	r := g.nextOf(flowlog.KindTGW)
	r.ResourceType, r.AccountID, r.TGWID, r.TGWAttachmentID = "TransitGateway", gw.account, gw.id, att.id
	r.Protocol, r.Packets, r.Start, r.End, r.LogStatus, r.Region = f.proto, pk, start, end, flowlog.StatusOK, gw.region
	r.TGWPairAttachmentID, r.PktSrcAWSService, r.PktDstAWSService, r.PacketsLostNoRoute, r.TCPFlags = "", "", "", 0, 0
	r.TGWSrcVPCAccountID, r.TGWSrcVPCID, r.TGWSrcSubnetID, r.TGWSrcENI, r.TGWSrcAZID = "", "", "", "", ""
	r.TGWDstVPCAccountID, r.TGWDstVPCID, r.TGWDstSubnetID, r.TGWDstENI, r.TGWDstAZID = "", "", "", "", ""
	// Forward: the flow enters at the source attachment (fsrc) and leaves at the pair.
	fsrc, fdst := o.fsrc, o.fdst
	ingress := o.fwdIngress
	if rev {
		fsrc, fdst = fdst, fsrc
		ingress = !ingress
		r.SrcAddr, r.DstAddr = f.addr[slotServer], f.addr[slotClient]
		r.SrcPort, r.DstPort = f.sport, f.cport
		r.Bytes = pk * uint64(f.revSz)
	} else {
		r.SrcAddr, r.DstAddr = f.addr[slotClient], f.addr[slotServer]
		r.SrcPort, r.DstPort = f.cport, f.sport
		r.Bytes = pk * uint64(f.fwdSz)
	}
	if o.pair >= 0 {
		r.TGWPairAttachmentID = ix.atts[o.pair].id
	}
	if fsrc >= 0 {
		e := &ix.enis[fsrc]
		r.TGWSrcVPCAccountID, r.TGWSrcVPCID, r.TGWSrcSubnetID, r.TGWSrcENI, r.TGWSrcAZID = e.account, e.vpcID, e.subnetID, e.id, e.az
	}
	if fdst >= 0 {
		e := &ix.enis[fdst]
		r.TGWDstVPCAccountID, r.TGWDstVPCID, r.TGWDstSubnetID, r.TGWDstENI, r.TGWDstAZID = e.account, e.vpcID, e.subnetID, e.id, e.az
	}
	if f.pubSlot >= 0 {
		if rev == (f.pubSlot == slotServer) {
			r.PktSrcAWSService = f.svc
		} else {
			r.PktDstAWSService = f.svc
		}
	}
	if o.lostNoRt {
		r.PacketsLostNoRoute = pk
	}
	r.Type = flowlog.TypeIPv4
	if f.v6 {
		r.Type = flowlog.TypeIPv6
	}
	if f.proto == protoTCP {
		r.TCPFlags = tgwFlags(rich)
	}
	r.FlowDirection = flowlog.DirectionEgress
	if ingress {
		r.FlowDirection = flowlog.DirectionIngress
	}
	g.count++
	g.commit()
}
