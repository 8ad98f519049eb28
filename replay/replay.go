package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtap/flowtap/vxlan"
)

// Config says where and how fast to replay. Keys match the `flowtap replay` flags.
type Config struct {
	// Target is the mirror target, HOST:PORT (a collector or an NLB's UDP 4789 listener).
	Target string `yaml:"target"`
	// VNI is the session's VXLAN network identifier, 0–16777215.
	VNI uint32 `yaml:"vni"`
	// At most one of PPS, Mbps, Speed and TopSpeed may be set; with none, the capture's own
	// timing is kept (Speed 1).
	PPS      float64 `yaml:"pps"`      // packets per second, all sockets together
	Mbps     float64 `yaml:"mbps"`     // megabits per second of UDP payload (VXLAN + frame)
	Speed    float64 `yaml:"speed"`    // multiplier of the capture's timing (2 = twice as fast)
	TopSpeed bool    `yaml:"topspeed"` // as fast as the sockets take packets
	// Loop is how many times the captures are sent; 0 repeats until the context ends.
	Loop int `yaml:"loop"`
	// UniqueLoops adds the loop number (0, 1, 2, ...) to the inner source and destination
	// addresses, fixing checksums, so that each loop is a new set of flows.
	UniqueLoops bool `yaml:"unique-loops"`
	// PacketLength cuts each frame to this many bytes after the VXLAN header, like a mirror
	// session's PacketLength (1–8500; 0 sends whole frames).
	PacketLength int `yaml:"packet-length"`
	// Sockets is the number of UDP sockets (outer source ports) wrapped frames are spread
	// over by flow; captured tunnel frames get one per captured outer port.
	Sockets int `yaml:"sockets"`
	// Batch is the number of packets per sendmmsg call.
	Batch int `yaml:"batch"`
	// NoGSO sends every datagram on its own. By default (on Linux) a socket's runs of
	// equal-size datagrams in a batch go as one UDP GSO message each, which the kernel
	// cuts up again: the receiver gets the same datagrams, in the same order.
	NoGSO bool `yaml:"no-gso"`
	// Threads is how many goroutines send, each taking its turn over a fixed share of the
	// sockets (0: one per socket). On the receiver's own host, 1 leaves the other CPUs to
	// the receiver, as a single-threaded sender like tcpreplay does.
	Threads int `yaml:"threads"`
	// Encap says what to do with frames that are already mirror packets (a capture taken
	// on a mirror target): EncapAuto (default) sends VXLAN and GENEVE frames as captured,
	// keeping their header, VNI and outer source port, and wraps the others; EncapWrap
	// wraps every frame; EncapCaptured sends only tunnel frames.
	Encap string `yaml:"encap"`
	// GENEVETarget is where captured GENEVE frames go (a collector's --listen-geneve);
	// empty means Target's host on port 6081.
	GENEVETarget string `yaml:"geneve-target"`
	// Progress, if set, receives a one-line progress bar (redrawn with '\r') while running.
	Progress io.Writer `yaml:"-"`
}

// DefaultConfig is VNI 1, one pass at the capture's own timing, whole frames, 4 sockets,
// 64 packets per sendmmsg, tunnel frames sent as captured.
func DefaultConfig() Config {
	return Config{VNI: 1, Loop: 1, Sockets: 4, Batch: 64, Encap: EncapAuto}
}

// Limits on the configuration.
const (
	MaxPacketLength = 8500 // AWS's PacketLength maximum
	MaxSockets      = 1024
	// MaxCapturedPorts bounds the sockets bound to captured outer source ports; flows
	// beyond it are sent from shared sockets (Report.PortsChanged counts them).
	MaxCapturedPorts = 1024
	MaxBatch         = 1024
	// maxPayload is the largest UDP payload over IPv4.
	maxPayload = 65507
)

// Validate checks the configuration; New calls it too. Errors name the offending key.
func (c *Config) Validate() error {
	if c.Target == "" {
		return errors.New("replay: target: required (HOST:PORT)")
	}
	if _, port, err := net.SplitHostPort(c.Target); err != nil {
		return fmt.Errorf("replay: target %q: %w", c.Target, err)
	} else if port == "" {
		return fmt.Errorf("replay: target %q: missing port", c.Target)
	}
	if c.VNI > vxlan.MaxVNI {
		return fmt.Errorf("replay: vni %d: above the 24-bit maximum %d", c.VNI, vxlan.MaxVNI)
	}
	var set []string
	for _, p := range []struct {
		name string
		v    float64
	}{{"pps", c.PPS}, {"mbps", c.Mbps}, {"speed", c.Speed}} {
		if p.v < 0 || math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return fmt.Errorf("replay: %s %v: must be a positive number", p.name, p.v)
		}
		if p.v > 0 {
			set = append(set, p.name)
		}
	}
	if c.TopSpeed {
		set = append(set, "topspeed")
	}
	if len(set) > 1 {
		return fmt.Errorf("replay: pacing: pps, mbps, speed and topspeed exclude each other, got %s", strings.Join(set, " and "))
	}
	if c.Loop < 0 {
		return fmt.Errorf("replay: loop %d: must be 0 (forever) or more", c.Loop)
	}
	if c.PacketLength < 0 || c.PacketLength > MaxPacketLength {
		return fmt.Errorf("replay: packet-length %d: must be 1–%d, or 0 for whole frames", c.PacketLength, MaxPacketLength)
	}
	if c.Sockets < 1 || c.Sockets > MaxSockets {
		return fmt.Errorf("replay: sockets %d: must be 1–%d", c.Sockets, MaxSockets)
	}
	if c.Batch < 1 || c.Batch > MaxBatch {
		return fmt.Errorf("replay: batch %d: must be 1–%d", c.Batch, MaxBatch)
	}
	if c.Threads < 0 || c.Threads > MaxSockets {
		return fmt.Errorf("replay: threads %d: must be 0 (no cap) to %d", c.Threads, MaxSockets)
	}
	switch c.Encap {
	case "", EncapAuto, EncapWrap, EncapCaptured:
	default:
		return fmt.Errorf("replay: encap %q: must be %s, %s or %s", c.Encap, EncapAuto, EncapWrap, EncapCaptured)
	}
	if c.GENEVETarget != "" {
		if _, _, err := net.SplitHostPort(c.GENEVETarget); err != nil {
			return fmt.Errorf("replay: geneve-target %q: %w", c.GENEVETarget, err)
		}
	}
	return nil
}

// Replayer sends captures to a mirror target as AWS-style VXLAN.
//
// Design: each packet is encapsulated once, in New, into the buffer of the socket its flow
// hashes to (vxlan.FlowHash mod Sockets). Each socket has its own goroutine and sends its
// share in capture order with sendmmsg. So one flow always leaves from one source port
// (and stays in order), flows spread over all sockets, and the send loop neither allocates
// nor copies. The ports themselves are the kernel's ephemeral ports, not
// vxlan.SourcePort: binding thousands of chosen ports would collide with ports in use and
// cost a socket per flow, while a collector only needs per-flow stability and spread (the
// receiver's SO_REUSEPORT hashes on them). Looped copies keep their socket even when
// --unique-loops turns them into new flows.
//
// Pacing follows a schedule computed up front (Due): packet k of the whole run is sent no
// earlier than Due(k) after the start; a sender that falls behind catches up in full
// batches, so the long-run rate is exact.
type Replayer struct {
	cfg       Config
	paced     bool
	perLoop   int
	dues      []int64 // ns after the start of a loop, by index in the loop
	loopDur   int64   // ns
	senders   []*sender
	captured  map[capturedKey]*sender // senders of frames sent as captured
	skipped   map[string]int
	sentStats stats
	// portsChanged counts captured outer source ports that are not kept (see Report).
	portsChanged atomic.Int64
}

// capturedKey names the sender of captured tunnel frames: one per tunnel kind and outer
// source port, bound to that port, so each mirrored flow leaves from the port it was
// captured with (the NLB in front of collectors hashes on it). Past MaxCapturedPorts,
// spill > 0 picks one of Sockets shared, unbound senders.
type capturedKey struct {
	kind  tunnelKind
	port  uint16
	spill int
}

// slot is one encoded packet in a sender's buffer.
type slot struct {
	off, n int
	idx    int // index in the loop, for dues
	patch  addrPatch
}

// New encodes the captures' packets for sending; it does no I/O.
func New(cfg Config, captures ...*Capture) (*Replayer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Replayer{cfg: cfg, paced: !cfg.TopSpeed, skipped: map[string]int{}, captured: map[capturedKey]*sender{}}
	r.senders = make([]*sender, cfg.Sockets)
	for i := range r.senders {
		r.senders[i] = &sender{}
	}
	var prev time.Time
	var clock int64 // capture-time ns since the first packet, gaps clamped at 0
	var bits float64
	for _, c := range captures {
		for k, v := range c.Skipped {
			r.skipped[k] += v
		}
		for i, p := range c.Packets {
			kind, payload, sport, inner := notTunnel, []byte(nil), uint16(0), -1
			if cfg.Encap != EncapWrap {
				kind, payload, sport, inner = capturedTunnel(p.Frame)
			}
			if kind == notTunnel && cfg.Encap == EncapCaptured {
				r.skipped["not a VXLAN or GENEVE frame (encap captured)"]++
				continue
			}
			n := vxlan.EncapHeaderLen + len(p.Frame)
			if kind != notTunnel {
				n = len(payload)
			} else if cfg.PacketLength > 0 && len(p.Frame) > cfg.PacketLength {
				n = vxlan.EncapHeaderLen + cfg.PacketLength
			}
			if n > maxPayload {
				r.skipped["frame too large for one UDP datagram"]++
				continue
			}
			if i > 0 && p.Time.After(prev) {
				clock += int64(p.Time.Sub(prev))
			}
			prev = p.Time
			var due int64
			switch {
			case cfg.TopSpeed:
			case cfg.PPS > 0:
				due = int64(float64(r.perLoop) * 1e9 / cfg.PPS)
			case cfg.Mbps > 0:
				due = int64(bits * 1e3 / cfg.Mbps)
			default:
				speed := cfg.Speed
				if speed == 0 {
					speed = 1
				}
				due = int64(float64(clock) / speed)
			}
			bits += float64(n) * 8
			var s *sender
			base := vxlan.EncapHeaderLen // where the inner Ethernet frame starts
			off := 0
			if kind == notTunnel {
				s = r.senders[vxlan.FlowHash(p.Frame)%uint32(cfg.Sockets)]
				off = len(s.buf)
				s.buf = vxlan.AppendEncap(s.buf, cfg.VNI, p.Frame, cfg.PacketLength)
			} else {
				s = r.capturedSender(kind, sport)
				off = len(s.buf)
				s.buf = append(s.buf, payload...)
				base = inner
			}
			sl := slot{off: off, n: n, idx: r.perLoop, patch: noPatch}
			if cfg.UniqueLoops && base >= 0 {
				sl.patch = locatePatch(s.buf[off:off+n], base)
				if sl.patch.ip >= 0 {
					sl.patch.ip += int32(off)
				}
				if sl.patch.l4sum >= 0 {
					sl.patch.l4sum += int32(off)
				}
			}
			s.slots = append(s.slots, sl)
			r.dues = append(r.dues, due)
			r.perLoop++
		}
	}
	if r.perLoop == 0 {
		return nil, errors.New("replay: no packets to send")
	}
	// A loop lasts until its last packet plus one average gap, so loops follow each other
	// at the same rate as the packets within them.
	last := r.dues[r.perLoop-1]
	switch {
	case cfg.TopSpeed:
	case cfg.PPS > 0:
		r.loopDur = int64(float64(r.perLoop) * 1e9 / cfg.PPS)
	case cfg.Mbps > 0:
		r.loopDur = int64(bits * 1e3 / cfg.Mbps)
	default:
		r.loopDur = last
		if r.perLoop > 1 {
			r.loopDur += last / int64(r.perLoop-1)
		}
	}
	return r, nil
}

// capturedSender returns the sender for captured tunnel frames of one kind and outer
// source port, creating it on first use.
func (r *Replayer) capturedSender(kind tunnelKind, port uint16) *sender {
	k := capturedKey{kind: kind, port: port}
	if s := r.captured[k]; s != nil {
		return s
	}
	if len(r.captured) >= MaxCapturedPorts {
		r.portsChanged.Add(1)
		k = capturedKey{kind: kind, spill: 1 + int(port)%r.cfg.Sockets}
		if s := r.captured[k]; s != nil {
			return s
		}
	}
	s := &sender{kind: kind}
	if k.spill == 0 {
		s.localPort = int(port)
	}
	r.captured[k] = s
	r.senders = append(r.senders, s)
	return s
}

// Packets is the number of packets one loop sends.
func (r *Replayer) Packets() int { return r.perLoop }

// Due is when packet k of the run (counting across loops from 0) is scheduled, relative
// to the start; 0 for every packet at top speed.
func (r *Replayer) Due(k int) time.Duration {
	loop, i := k/r.perLoop, k%r.perLoop
	return time.Duration(int64(loop)*r.loopDur + r.dues[i])
}

// Report is the outcome of a run.
type Report struct {
	Packets uint64 // datagrams sent
	Bytes   uint64 // UDP payload bytes sent (VXLAN header + inner frame)
	Errors  uint64 // datagrams the kernel refused
	// GSODatagrams counts the datagrams sent inside UDP GSO messages (runs of equal size
	// that the kernel cut up); the others went one per message.
	GSODatagrams uint64
	LastErr      string        // the last send error, if any
	Skipped      int           // capture records not sent (see SkippedBy)
	Duration     time.Duration // from the first send to the last
	Sockets      int
	// PortsChanged counts the captured outer source ports (flows of tunnel frames sent as
	// captured) that could not be kept: the port was in use, not bindable, or beyond
	// MaxCapturedPorts; those flows left from another port.
	PortsChanged int
	// Interrupted is true when the context ended the run before all loops were sent.
	Interrupted bool
	SkippedBy   map[string]int
}

// PPS is the achieved packets per second.
func (r Report) PPS() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Packets) / r.Duration.Seconds()
}

// Mbps is the achieved rate of UDP payload in megabits per second.
func (r Report) Mbps() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Bytes) * 8 / 1e6 / r.Duration.Seconds()
}

// String is the final report as the command prints it.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replay: %d packets, %d bytes in %s over %d sockets: %.0f pps, %.2f Mbps, %d errors",
		r.Packets, r.Bytes, r.Duration.Round(time.Millisecond), r.Sockets, r.PPS(), r.Mbps(), r.Errors)
	if r.LastErr != "" {
		fmt.Fprintf(&b, " (last: %s)", r.LastErr)
	}
	if r.GSODatagrams > 0 {
		fmt.Fprintf(&b, "; %d datagrams in UDP GSO runs", r.GSODatagrams)
	}
	if r.Skipped > 0 {
		c := Capture{Skipped: r.SkippedBy}
		fmt.Fprintf(&b, "; %d records skipped (%s)", r.Skipped, c.SkippedString())
	}
	if r.PortsChanged > 0 {
		fmt.Fprintf(&b, "; %d captured source ports not kept", r.PortsChanged)
	}
	if r.Interrupted {
		b.WriteString("; interrupted")
	}
	return b.String()
}

// stats are the counters the senders update once per batch.
type stats struct {
	packets, bytes, errors atomic.Uint64
	gso                    atomic.Uint64 // datagrams sent in UDP GSO messages
	lastErr                atomic.Pointer[string]
}

// Run resolves the target, opens the sockets and sends every loop, returning when done or
// when ctx ends (then Report.Interrupted is set and the error is nil). A Replayer runs once.
func (r *Replayer) Run(ctx context.Context) (Report, error) {
	raddr, err := net.ResolveUDPAddr("udp", r.cfg.Target)
	if err != nil {
		return Report{}, fmt.Errorf("replay: target %s: %w", r.cfg.Target, err)
	}
	gaddr := raddr
	if len(r.captured) > 0 {
		gt := r.cfg.GENEVETarget
		if gt == "" {
			host, _, _ := net.SplitHostPort(r.cfg.Target)
			gt = net.JoinHostPort(host, strconv.Itoa(portGENEVE))
		}
		if gaddr, err = net.ResolveUDPAddr("udp", gt); err != nil {
			return Report{}, fmt.Errorf("replay: geneve-target %s: %w", gt, err)
		}
	}
	for i, s := range r.senders {
		to := raddr
		if s.kind == tunnelGENEVE {
			to = gaddr
		}
		if len(s.slots) == 0 {
			continue
		}
		if err := s.open(to, r.cfg.Batch, !r.cfg.NoGSO, &r.portsChanged); err != nil {
			for _, o := range r.senders[:i] {
				o.close()
			}
			return Report{}, fmt.Errorf("replay: socket %d to %s: %w", i, raddr, err)
		}
	}
	defer func() {
		for _, s := range r.senders {
			s.close()
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	var interrupted atomic.Bool
	for _, group := range r.workGroups() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !r.work(ctx, group, start) {
				interrupted.Store(true)
			}
		}()
	}
	stopProgress := r.startProgress(start)
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	rep := Report{
		Packets:      r.sentStats.packets.Load(),
		Bytes:        r.sentStats.bytes.Load(),
		Errors:       r.sentStats.errors.Load(),
		GSODatagrams: r.sentStats.gso.Load(),
		Duration:     elapsed,
		Sockets:      r.openSockets(),
		PortsChanged: int(r.portsChanged.Load()),
		Interrupted:  interrupted.Load(),
		SkippedBy:    r.skipped,
	}
	if p := r.sentStats.lastErr.Load(); p != nil {
		rep.LastErr = *p
	}
	for _, v := range r.skipped {
		rep.Skipped += v
	}
	return rep, nil
}

// workGroups splits the senders with packets among the sending goroutines: one each
// without Config.Threads, else Threads groups balanced by packet count (largest first,
// each to the least loaded group).
func (r *Replayer) workGroups() [][]*sender {
	var active []*sender
	for _, s := range r.senders {
		if len(s.slots) > 0 {
			s.start(r)
			active = append(active, s)
		}
	}
	if r.cfg.Threads == 0 || r.cfg.Threads >= len(active) {
		groups := make([][]*sender, len(active))
		for i, s := range active {
			groups[i] = []*sender{s}
		}
		return groups
	}
	slices.SortStableFunc(active, func(a, b *sender) int { return len(b.slots) - len(a.slots) })
	groups := make([][]*sender, r.cfg.Threads)
	load := make([]int, r.cfg.Threads)
	for _, s := range active {
		g := 0
		for i := range load {
			if load[i] < load[g] {
				g = i
			}
		}
		groups[g] = append(groups[g], s)
		load[g] += len(s.slots)
	}
	return groups
}

// openSockets is the number of sockets a run used.
func (r *Replayer) openSockets() int {
	n := 0
	for _, s := range r.senders {
		if len(s.slots) > 0 {
			n++
		}
	}
	return n
}
