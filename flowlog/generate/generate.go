// Package generate produces synthetic AWS network logs that look like the real thing:
// VPC and Transit Gateway flow logs from a traffic model over a topology (package
// topology), and Site-to-Site / Client VPN logs from per-tunnel and per-user state machines.
//
// The traffic model draws conversations (client ENI, ephemeral port → server ENI or
// internet host, service port) and logs each one everywhere AWS would: both directions on
// both ENIs, NAT gateway legs with pkt-srcaddr/pkt-dstaddr, transit gateway ENIs and TGW
// attachments with the same 5-tuple, times and counters. Flows that span windows give one
// record per window; idle ENIs give NODATA; scans and security groups give REJECTs.
//
// Budget: ≥ 2 M VPC records/s/core to a discarding writer in the default text format
// (BenchmarkVPCText). Records are generated into a reused batch and the hot path allocates
// nothing. Output is deterministic for a seed: one PCG stream, no map iteration.
package generate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/prometheus/client_golang/prometheus"
)

// Kind is the log a run produces.
type Kind string

// The kinds of log the generator produces.
const (
	KindVPC       Kind = "vpc"
	KindTGW       Kind = "tgw"
	KindVPNS2S    Kind = "vpn-s2s"
	KindVPNClient Kind = "vpn-client"
)

// ParseKind checks a --kind value.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindVPC, KindTGW, KindVPNS2S, KindVPNClient:
		return k, nil
	}
	return "", fmt.Errorf("generate: kind %q is not vpc, tgw, vpn-s2s or vpn-client", s)
}

// ParseTrafficType maps ACCEPT, REJECT and ALL to the action filter of FlowConfig.
func ParseTrafficType(s string) (flowlog.Action, error) {
	switch s {
	case "ALL", "":
		return flowlog.ActionUnset, nil
	case "ACCEPT":
		return flowlog.ActionAccept, nil
	case "REJECT":
		return flowlog.ActionReject, nil
	}
	return 0, fmt.Errorf("generate: traffic type %q is not ACCEPT, REJECT or ALL", s)
}

// CheckFormat reports whether format can be a flow log of kind k: VPC formats may not hold
// Transit Gateway fields and TGW formats may not hold VPC-only fields.
func CheckFormat(format *flowlog.Format, k Kind) error {
	want := flowlog.ScopeVPC
	if k == KindTGW {
		want = flowlog.ScopeTGW
	}
	for _, f := range format.Fields() {
		if f.Info().Scope&want == 0 {
			return fmt.Errorf("generate: field ${%s} cannot appear in a %s flow log format", f, k)
		}
	}
	return nil
}

// Config is one generate run.
type Config struct {
	Kind        Kind
	Interval    int64     // seconds
	TrafficType string    // ACCEPT, REJECT, ALL
	Start       time.Time // backfill range (ignored when Live)
	End         time.Time
	Live        bool
	Rate        float64 // records/s (flow logs)
	Seed        uint64
	Lag         time.Duration // live: delay after a window closes before it is written
	// StateFile, in live mode, keeps the start of the last window written, so that a
	// restarted generator goes on after it (catching up on windows that closed while it was
	// stopped, at most maxCatchUp of them) instead of writing it again. Empty: no resume.
	StateFile string
}

// maxCatchUp is how many windows that closed while a live generator was stopped it writes
// on restart; after a longer stop it starts again at the last closed window.
const maxCatchUp = 60

// DefaultConfig is a one-hour VPC backfill at 1000 records/s.
func DefaultConfig() Config {
	return Config{Kind: KindVPC, Interval: 60, TrafficType: "ALL", Rate: 1000, Seed: 1}
}

// Progress is told how far a run got: records so far and the fraction of the range done.
type Progress func(records int64, done float64)

// Generator runs one configured generation.
type Generator struct {
	cfg   Config
	flows *FlowGen
	vpn   *VPNGen
	rw    flowlog.RecordWriter
	vw    VPNWriter
	log   *slog.Logger
	// written counts what the writers took, window by window; counted is its last value.
	written prometheus.Counter
	counted int64
	// Now is the clock used in live mode (tests replace it).
	Now func() time.Time
	// Sleep waits in live mode; it returns early when ctx ends.
	Sleep func(ctx context.Context, d time.Duration)
	// OnProgress, if set, is called after every window.
	OnProgress Progress
}

// New checks cfg and prepares a run over t. Flow kinds write to rw, VPN kinds to vw. It
// does no I/O. The records counter goes to d.Registry, logs to d.Log (defaults when nil).
func New(cfg Config, t *topology.Topology, rw flowlog.RecordWriter, vw VPNWriter, d component.Deps) (*Generator, error) {
	d = d.WithDefaults()
	if t == nil {
		return nil, errors.New("generate: no topology")
	}
	if _, err := ParseKind(string(cfg.Kind)); err != nil {
		return nil, err
	}
	action, err := ParseTrafficType(cfg.TrafficType)
	if err != nil {
		return nil, err
	}
	if !cfg.Live {
		if cfg.Start.IsZero() || cfg.End.IsZero() {
			return nil, fmt.Errorf("generate: a backfill needs --start and --end (or use --live)")
		}
		if !cfg.End.After(cfg.Start) {
			return nil, fmt.Errorf("generate: --end %s is not after --start %s", cfg.End.Format(time.RFC3339), cfg.Start.Format(time.RFC3339))
		}
	}
	g := &Generator{cfg: cfg, rw: rw, vw: vw, log: d.Log, Now: time.Now, Sleep: sleepCtx,
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_generator_records_total",
			Help: "Records and VPN events the generator handed to its writer."})}
	if err := component.Register(d.Registry, "generate", g.written); err != nil {
		return nil, err
	}
	start := g.firstWindow()
	switch cfg.Kind {
	case KindVPC, KindTGW:
		if cfg.Kind == KindTGW && action != flowlog.ActionUnset {
			return nil, fmt.Errorf("generate: Transit Gateway flow logs have no traffic type; drop --traffic-type %s", cfg.TrafficType)
		}
		if rw == nil {
			return nil, fmt.Errorf("generate: no record writer")
		}
		g.flows, err = NewFlowGen(t, FlowConfig{Interval: cfg.Interval, Rate: cfg.Rate, VPC: cfg.Kind == KindVPC,
			TGW: cfg.Kind == KindTGW, Action: action, Seed: cfg.Seed})
	default:
		if vw == nil {
			return nil, fmt.Errorf("generate: no VPN event writer")
		}
		g.vpn, err = NewVPNGen(t, cfg.Kind == KindVPNClient, time.Unix(start, 0), cfg.Seed)
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Generator) interval() int64 {
	if g.cfg.Kind == KindVPNS2S || g.cfg.Kind == KindVPNClient || g.cfg.Interval <= 0 {
		return 60 // VPN logs are events; 60 s is only the generation step
	}
	return g.cfg.Interval
}

// firstWindow is the start of the first window: the backfill start rounded down, or in
// live mode the window that closed last (so output starts at once).
func (g *Generator) firstWindow() int64 {
	I := g.interval()
	if g.cfg.Live {
		now := g.Now().Unix()
		return now - now%I - I
	}
	s := g.cfg.Start.Unix()
	return s - s%I
}

// Records is the number of records or events emitted so far.
func (g *Generator) Records() int64 {
	if g.vpn != nil {
		return g.vpn.Records()
	}
	return g.flows.Records()
}

func (g *Generator) window(ctx context.Context, w int64) error {
	var err error
	if g.vpn != nil {
		err = g.vpn.Window(ctx, w, g.vw)
	} else {
		err = g.flows.Window(ctx, w, g.rw)
	}
	n := g.Records()
	g.written.Add(float64(n - g.counted))
	g.counted = n
	return err
}

// Run generates until the backfill range is done or, in live mode, until ctx ends. A
// backfill writes windows as fast as it can; live mode writes each window once it has
// closed in real time.
func (g *Generator) Run(ctx context.Context) error {
	I := g.interval()
	w := g.firstWindow()
	if !g.cfg.Live {
		end := g.cfg.End.Unix()
		first := w
		for ; w < end; w += I {
			if err := ctx.Err(); err != nil {
				return nil
			}
			if err := g.window(ctx, w); err != nil {
				return err
			}
			if g.OnProgress != nil {
				g.OnProgress(g.Records(), float64(w+I-first)/float64(end-first))
			}
		}
		return nil
	}
	if g.cfg.StateFile != "" {
		last, ok, err := readResumePoint(g.cfg.StateFile)
		if err != nil {
			return err
		}
		if next := last + I; ok && next >= w-maxCatchUp*I {
			w = next
			g.log.Info("generate: resuming after the last window written", "window", time.Unix(last, 0).UTC())
		}
	}
	for {
		closeAt := time.Unix(w+I, 0).Add(g.cfg.Lag)
		if d := closeAt.Sub(g.Now()); d > 0 {
			g.Sleep(ctx, d)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := g.window(ctx, w); err != nil {
			return err
		}
		if g.cfg.StateFile != "" {
			if err := fsx.WriteFile(g.cfg.StateFile, []byte(strconv.FormatInt(w, 10)+"\n")); err != nil {
				return fmt.Errorf("generate: resume point: %w", err)
			}
		}
		if g.OnProgress != nil {
			g.OnProgress(g.Records(), 0)
		}
		w += I
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// readResumePoint reads the start of the last window a live generator wrote; ok is false
// when the file does not exist yet.
func readResumePoint(path string) (start int64, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("generate: resume point: %w", err)
	}
	start, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || start < 0 {
		return 0, false, fmt.Errorf("generate: resume point %s: %q is not a window start", path, strings.TrimSpace(string(b)))
	}
	return start, true, nil
}
