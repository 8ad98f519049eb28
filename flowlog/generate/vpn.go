package generate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
)

// VPN log kinds of a VPNEvent.
const (
	LogTunnel = "tunnel" // Site-to-Site tunnel activity
	LogBGP    = "bgp"    // Site-to-Site BGP
	LogClient = "client" // Client VPN connections
)

// VPNEvent is one VPN log event and the CloudWatch stream AWS writes it to.
type VPNEvent struct {
	Log    string // LogTunnel, LogBGP or LogClient
	Stream string
	Time   time.Time
	Tunnel flowlog.TunnelLog
	BGP    flowlog.BGPLog
	Client flowlog.ClientVPNLog
}

// AppendJSON appends the event's AWS JSON.
func (e *VPNEvent) AppendJSON(dst []byte) []byte {
	switch e.Log {
	case LogTunnel:
		return e.Tunnel.AppendJSON(dst)
	case LogBGP:
		return e.BGP.AppendJSON(dst)
	}
	return e.Client.AppendJSON(dst)
}

// VPNWriter receives VPN events in time order.
type VPNWriter interface {
	WriteVPNEvents(ctx context.Context, events []VPNEvent) error
}

// IKE phase states.
const (
	stDown        = "Down"
	stNegotiating = "Negotiating"
	stEstablished = "Established"
	stRekeying    = "Rekeying"
)

// tunnel is the state machine of one Site-to-Site tunnel and its BGP session.
type tunnel struct {
	vpnID, outside, cgwIP string
	awsInside, cgwInside  string
	ikev1, natt           bool
	awsASN, cgwASN        int
	prefixes              []netip.Prefix
	p1, p2                string
	next                  float64 // time of the next transition
	step                  int     // position in the current sequence
	msgID                 int
	bgpUp                 bool
	p1Rekey               float64
}

// VPNGen generates Site-to-Site tunnel and BGP logs, or Client VPN connection logs.
type VPNGen struct {
	client  bool
	rng     *rand.Rand
	tunnels []*tunnel
	users   []*cvpnUser
	events  []VPNEvent
	total   int64
}

// NewVPNGen returns a generator of Site-to-Site logs (client false) or Client VPN logs for
// the VPN connections or endpoints of t, starting at start.
func NewVPNGen(t *topology.Topology, client bool, start time.Time, seed uint64) (*VPNGen, error) {
	g := &VPNGen{client: client, rng: rand.New(rand.NewPCG(seed, 0x76706e))}
	s := float64(start.Unix())
	if client {
		if len(t.ClientVPNEndpoints) == 0 {
			return nil, fmt.Errorf("generate: the topology has no Client VPN endpoint")
		}
		for i := range t.ClientVPNEndpoints {
			e := &t.ClientVPNEndpoints[i]
			for u := 0; u < e.Users; u++ {
				g.users = append(g.users, g.newUser(e, u, s))
			}
		}
		return g, nil
	}
	if len(t.VPNConnections) == 0 {
		return nil, fmt.Errorf("generate: the topology has no Site-to-Site VPN connection")
	}
	for i := range t.VPNConnections {
		v := &t.VPNConnections[i]
		for _, tu := range v.Tunnels {
			p := netip.MustParsePrefix(tu.InsideCIDR).Addr()
			tn := &tunnel{vpnID: v.ID, outside: tu.OutsideIP, cgwIP: v.CustomerGatewayIP,
				awsInside: p.Next().String(), cgwInside: p.Next().Next().String(),
				ikev1: v.IKEVersion == "ikev1", natt: v.NATTraversal, awsASN: v.AmazonASN, cgwASN: v.CustomerGatewayASN,
				prefixes: v.Prefixes, p1: stDown, p2: stDown, next: s + g.rng.Float64()*30, msgID: g.rng.IntN(100)}
			g.tunnels = append(g.tunnels, tn)
		}
	}
	return g, nil
}

// Records is the number of events emitted so far.
func (g *VPNGen) Records() int64 { return g.total }

// Window generates the events in [w, w+60 s) and hands them to out sorted by time.
func (g *VPNGen) Window(ctx context.Context, w int64, out VPNWriter) error {
	g.events = g.events[:0]
	end := float64(w + 60)
	if g.client {
		for _, u := range g.users {
			for u.next < end {
				g.userStep(u)
			}
		}
	} else {
		for _, t := range g.tunnels {
			for t.next < end {
				g.tunnelStep(t)
			}
		}
	}
	sort.SliceStable(g.events, func(i, j int) bool { return g.events[i].Time.Before(g.events[j].Time) })
	if len(g.events) == 0 {
		return nil
	}
	g.total += int64(len(g.events))
	return out.WriteVPNEvents(ctx, g.events)
}

func at(t float64) time.Time {
	return time.UnixMilli(int64(t * 1000)).UTC()
}

func (g *VPNGen) tunnelLog(t *tunnel, details string) {
	g.events = append(g.events, VPNEvent{Log: LogTunnel, Stream: t.vpnID + "_" + t.outside, Time: at(t.next),
		Tunnel: flowlog.TunnelLog{VPNConnectionID: t.vpnID, TunnelOutsideIP: t.outside, EventTime: at(t.next),
			DPDEnabled: true, NATTDetected: t.natt, IKEPhase1State: t.p1, IKEPhase2State: t.p2, Details: details}})
}

func (g *VPNGen) bgpLog(t *tunnel, typ, status string, msg flowlog.BGPMessage) {
	tm := at(t.next + g.rng.Float64()*0.05)
	g.events = append(g.events, VPNEvent{Log: LogBGP, Stream: t.vpnID + "_" + t.outside, Time: tm,
		BGP: flowlog.BGPLog{ResourceID: t.vpnID + "_" + t.outside, EventTime: tm, Type: typ, Status: status, Message: msg}})
}

func (g *VPNGen) bgpState(t *tunnel, from, to, status string) {
	g.bgpLog(t, "BGPStatus", status, flowlog.BGPMessage{Details: fmt.Sprintf(
		"AWS-side peer BGP session state has changed from %s to %s with neighbor %s", from, to, t.cgwInside)})
}

// tunnelStep performs the tunnel's next transition and schedules the one after.
func (g *VPNGen) tunnelStep(t *tunnel) {
	rng := g.rng
	switch {
	case t.p1 == stDown:
		t.p1, t.p2 = stNegotiating, stNegotiating
		t.msgID++
		g.tunnelLog(t, fmt.Sprintf("AWS tunnel is sending request (id=%d) for CREATE_CHILD_SA", t.msgID))
		if rng.IntN(6) == 0 {
			// A failed negotiation: a misconfigured or unreachable customer gateway.
			t.next += 1 + rng.Float64()*2
			msgs := []string{
				"AWS tunnel Timeout: deleting un-established Phase 1 IKE_SA with cgw: " + t.cgwIP,
				"AWS tunnel detected a pre-shared key mismatch with cgw: " + t.cgwIP,
				"No Proposal Match Found by AWS",
				"AWS: Traffic Selector: TS_UNACCEPTABLE: received from responder",
			}
			if t.ikev1 {
				msgs = []string{"AWS tunnel payload decryption was unsuccessful due to invalid Pre-shared Key",
					"No Proposal Match Found. Notifying with \"No proposal chosen\""}
			}
			t.p1, t.p2 = stDown, stDown
			g.tunnelLog(t, msgs[rng.IntN(len(msgs))])
			t.next += 10 + rng.Float64()*50
			return
		}
		t.next += 0.2 + rng.Float64()
	case t.p1 == stNegotiating || t.p2 == stRekeying || t.p1 == stRekeying:
		t.p1, t.p2 = stEstablished, stEstablished
		g.tunnelLog(t, fmt.Sprintf("AWS tunnel processed response (id=%d) for CREATE_CHILD_SA", t.msgID))
		if !t.bgpUp {
			g.bgpUpSequence(t)
		}
		t.p1Rekey = t.next + 28800*(0.9+0.1*rng.Float64())
		t.next += 3600 * (0.9 + 0.1*rng.Float64()) // phase 2 lifetime
	default: // established: rekey, or fail
		x := rng.IntN(100)
		switch {
		case x < 8:
			t.p1, t.p2 = stDown, stDown
			msg := fmt.Sprintf("AWS tunnel DPD timed out after %d retransmits", 3+rng.IntN(3))
			if t.ikev1 {
				msg = "Peer is not responsive - Declaring peer dead"
			} else if rng.IntN(3) == 0 {
				msg = "AWS tunnel received DELETE for IKE_SA from CGW"
			}
			g.tunnelLog(t, msg)
			if t.bgpUp {
				g.bgpDownSequence(t)
			}
			t.next += 5 + rng.Float64()*120
		case x < 12:
			t.p2 = stRekeying
			g.tunnelLog(t, "AWS tunnel detected a (CHILD_REKEY) collision as CHILD_DELETE")
			t.next += 0.1
			g.tunnelLog(t, "AWS tunnel (CHILD_SA) redundant SA is being deleted due to detected collision")
			t.next += 0.3 + rng.Float64()
		case x < 30:
			t.p2 = stRekeying
			t.msgID++
			g.tunnelLog(t, fmt.Sprintf("AWS tunnel received DELETE for Phase 2 SA with SPI: %08x", rng.Uint32()))
			t.next += 0.1
			g.tunnelLog(t, fmt.Sprintf("AWS tunnel processed request (id=%d) for CREATE_CHILD_SA", t.msgID))
			t.next += 0.1
			g.tunnelLog(t, fmt.Sprintf("AWS tunnel is sending response (id=%d) for CREATE_CHILD_SA", t.msgID))
			t.next += 0.2 + rng.Float64()
		default:
			if t.next >= t.p1Rekey {
				t.p1 = stRekeying
			} else {
				t.p2 = stRekeying
			}
			t.msgID++
			g.tunnelLog(t, fmt.Sprintf("AWS tunnel is sending request (id=%d) for CREATE_CHILD_SA", t.msgID))
			t.next += 0.2 + rng.Float64()
		}
	}
}

func (g *VPNGen) bgpUpSequence(t *tunnel) {
	base := t.next
	step := func() { t.next += 0.01 + g.rng.Float64()*0.2 }
	g.bgpState(t, "Idle", "Connect", "DOWN")
	step()
	g.bgpState(t, "Connect", "OpenSent", "DOWN")
	g.bgpLog(t, "BGPStatus", "DOWN", flowlog.BGPMessage{Details: fmt.Sprintf(
		"AWS-side peer sent OPEN message to neighbor %s: version 4, AS %d, holdtime 30, router-id %s", t.cgwInside, t.awsASN, t.awsInside)})
	step()
	g.bgpLog(t, "BGPStatus", "DOWN", flowlog.BGPMessage{Details: fmt.Sprintf(
		"AWS-side peer received OPEN message from neighbor %s: version 4, AS %d, holdtime 30, router-id %s", t.cgwInside, t.cgwASN, t.cgwInside)})
	g.bgpState(t, "OpenSent", "OpenConfirm", "DOWN")
	step()
	g.bgpState(t, "OpenConfirm", "Established", "UP")
	step()
	for _, p := range t.prefixes {
		g.bgpLog(t, "RouteStatus", "ADVERTISED", flowlog.BGPMessage{Prefix: p.String(), ASPath: strconv.Itoa(t.cgwASN),
			LocalPref: 100, MED: 100, NextHopIP: t.cgwInside, Weight: 32768})
	}
	if g.rng.IntN(10) == 0 {
		g.bgpLog(t, "RouteStatus", "UPDATED", flowlog.BGPMessage{Prefix: "172.31.0.0/16", ASPath: strconv.Itoa(t.awsASN),
			LocalPref: 100, MED: 100, NextHopIP: t.cgwInside, Weight: 32768, Details: "DENIED due to: as-path contains our own AS"})
	}
	step()
	g.bgpLog(t, "BGPStatus", "UP", flowlog.BGPMessage{Details: "AWS-side peer sent End-of-RIB to neighbor " + t.cgwInside})
	t.bgpUp = true
	t.next = base
}

func (g *VPNGen) bgpDownSequence(t *tunnel) {
	base := t.next
	t.next += 0.5
	reason := "Hold Timer Expired"
	if g.rng.IntN(3) == 0 {
		reason = "received NOTIFICATION 6/2 (Cease/Administrative Shutdown)"
	}
	g.bgpLog(t, "BGPStatus", "DOWN", flowlog.BGPMessage{Details: fmt.Sprintf(
		"AWS-side peer BGP session with neighbor %s closed: %s", t.cgwInside, reason)})
	g.bgpState(t, "Established", "Idle", "DOWN")
	for _, p := range t.prefixes {
		g.bgpLog(t, "RouteStatus", "WITHDRAWN", flowlog.BGPMessage{Prefix: p.String(), ASPath: strconv.Itoa(t.cgwASN),
			LocalPref: 100, MED: 100, NextHopIP: t.cgwInside, Weight: 32768})
	}
	t.bgpUp = false
	t.next = base
}

// cvpnUser is one Client VPN user alternating between offline and connected.
type cvpnUser struct {
	endpoint, proto, name, device string
	clientIP, deviceIP            string
	port                          int
	connID                        string
	connected                     bool
	start                         float64
	next                          float64
	end                           float64
	inB, outB, inP, outP          uint64
}

var deviceTypes = []string{"mac", "windows", "linux", "ios", "android"}

func (g *VPNGen) newUser(e *topology.ClientVPNEndpoint, i int, now float64) *cvpnUser {
	return &cvpnUser{endpoint: e.ID, proto: e.TransportProtocol, name: fmt.Sprintf("client%d", i+1),
		device:   deviceTypes[g.rng.IntN(len(deviceTypes))],
		deviceIP: randPublic4(g.rng).String(),
		clientIP: randIn(g.rng, e.Prefix).String(),
		next:     now + g.rng.Float64()*3600}
}

func (g *VPNGen) clientLog(u *cvpnUser, typ, status, reason string) {
	ev := VPNEvent{Log: LogClient, Stream: u.endpoint, Time: at(u.next)}
	c := &ev.Client
	*c = flowlog.ClientVPNLog{LogType: typ, AttemptStatus: status, ResetStatus: "NA", AttemptFailureReason: reason,
		ConnectionID: u.connID, EndpointID: u.endpoint, TransportProtocol: u.proto, StartTime: at(u.start),
		LastUpdateTime: at(u.next), ClientIP: u.clientIP, CommonName: u.name, DeviceType: u.device,
		DeviceIP: u.deviceIP, Port: u.port, IngressBytes: u.inB, EgressBytes: u.outB, IngressPackets: u.inP,
		EgressPackets: u.outP, DurationSeconds: -1}
	if typ == "connection-reset" {
		c.AttemptStatus = "NA"
		c.EndTime = at(u.next)
		c.DurationSeconds = int64(u.next - u.start)
	}
	if status == "failed" {
		c.ClientIP, c.Port = "", 0
	}
	g.events = append(g.events, ev)
}

// userStep moves a Client VPN user on: connect (or fail to), refresh counters, disconnect.
func (g *VPNGen) userStep(u *cvpnUser) {
	rng := g.rng
	if !u.connected {
		u.connID = ids(rng, "cvpn-connection-")
		u.start, u.port = u.next, int(ephemeral(rng))
		u.inB, u.outB, u.inP, u.outP = 0, 0, 0, 0
		if rng.IntN(25) == 0 {
			g.clientLog(u, "connection-attempt", "failed", "authorization-policy-deny")
			u.next += 30 + rng.Float64()*600
			return
		}
		g.clientLog(u, "connection-attempt", "successful", "NA")
		u.connected = true
		u.end = u.next + 600*expRand(rng, 1.5, 0.8) // median ~45 min
		u.next += 60 + rng.Float64()*240
		return
	}
	dt := 300.0
	// Traffic since the last update: lognormal rates, downloads heavier than uploads.
	rate := expRand(rng, 8, 1.2) // bytes/s
	inB := uint64(rate * dt)
	outB := uint64(rate * dt * expRand(rng, 1, 0.5))
	u.inB += inB
	u.outB += outB
	u.inP += inB/900 + 1
	u.outP += outB/1100 + 1
	if u.next >= u.end {
		g.clientLog(u, "connection-reset", "NA", "NA")
		u.connected = false
		u.next += 600 * expRand(rng, 1.5, 1)
		return
	}
	g.clientLog(u, "connection-attempt", "successful", "NA")
	u.next = min(u.next+dt, u.end)
}

func ids(rng *rand.Rand, prefix string) string {
	const digits = "0123456789abcdef"
	var b [17]byte
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return prefix + string(b[:])
}
