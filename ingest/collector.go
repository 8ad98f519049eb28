// Package ingest is the mirror collector: it receives VPC Traffic Mirroring packets (VXLAN
// on UDP 4789, optionally GENEVE on 6081) on N SO_REUSEPORT sockets with batched recvmmsg,
// decodes them (package vxlan), shards them by inner (VNI, addresses, protocol) to
// goroutines that each own a flow table, and at every aggregation interval emits VPC Flow
// Log records to a flowlog.RecordWriter.
//
// Sharding uses the part of the 5-tuple that every IP fragment carries, so that a datagram's
// later fragments (which have no ports) meet its first fragment in one shard and are counted
// in its flow. Later fragments that arrive before their first (reordered across sockets or by
// an NLB) are held until it comes; those whose first never comes within the window are
// counted under ports 0 (flowtap_ingest_fragments_unmatched_total).
//
// Every whole window (not the one the collector started in, nor the one open at shutdown)
// in which a session listed in the sessions file carried no packet yields one NODATA record
// for it, as AWS writes for an idle ENI (see nodata.go).
//
// Budget: decode + flow-table update ≤ 50 ns per packet per core with no allocation
// (BenchmarkDecodeAndUpdate, a cache-resident table; BenchmarkDecodeAndUpdateBatched also
// shows a table of a shard's default max-flows, where memory latency dominates); on loopback the collector keeps ≥ 0.9 of the packet rate of a
// bare recvmmsg receive-and-discard loop (BenchmarkLoopback in bench/loopback).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/vxlan"
)

// Config configures a Collector. Keys match the `flowtap collect` flags.
type Config struct {
	// Listen is the VXLAN address, HOST:PORT (port 4789 for AWS mirror sessions).
	Listen string `yaml:"listen"`
	// ListenGENEVE, if set, also receives GENEVE (UDP 6081) as a Gateway Load Balancer
	// target does.
	ListenGENEVE string `yaml:"listen-geneve"`
	// Sockets is the number of SO_REUSEPORT sockets per address; 0 means one per CPU.
	Sockets int `yaml:"sockets"`
	// Shards is the number of flow-table goroutines; 0 means one per CPU.
	Shards int `yaml:"shards"`
	// ReadBatch is the number of datagrams per recvmmsg call.
	ReadBatch int `yaml:"read-batch"`
	// ReceiveBuffer is the SO_RCVBUF size wanted per socket, in bytes; a warning is logged
	// when the kernel grants less (raise net.core.rmem_max).
	ReceiveBuffer int `yaml:"receive-buffer"`
	// Interval is the aggregation interval: 60s or 600s, as AWS allows.
	Interval time.Duration `yaml:"interval"`
	// MaxFlows caps each shard's flow table; at the cap the shard emits its records early
	// and the window gets SKIPDATA records.
	MaxFlows int `yaml:"max-flows"`
	// HealthAddr, if set, serves GET /healthz (200 while receiving, 503 while draining) for
	// NLB target-group checks; a TCP check to the same port works too.
	HealthAddr string `yaml:"health"`
	// DrainTimeout bounds the final flush at shutdown.
	DrainTimeout time.Duration `yaml:"drain-timeout"`
}

// DefaultConfig listens on 127.0.0.1:4789 with one socket and shard per CPU, 60-second
// windows, 32 MiB receive buffers and 256 Ki flows per shard.
func DefaultConfig() Config {
	return Config{
		Listen:        "127.0.0.1:4789",
		ReadBatch:     64,
		ReceiveBuffer: 32 << 20,
		Interval:      60 * time.Second,
		MaxFlows:      256 << 10,
		DrainTimeout:  30 * time.Second,
	}
}

func (c *Config) validate() error {
	if c.Listen == "" {
		return errors.New("ingest: listen: required (HOST:PORT)")
	}
	if c.Interval != 60*time.Second && c.Interval != 600*time.Second {
		return fmt.Errorf("ingest: interval %v: must be 60s or 600s (AWS's MaxAggregationInterval)", c.Interval)
	}
	if c.Sockets < 0 || c.Sockets > 1024 {
		return fmt.Errorf("ingest: sockets %d: must be 0 (one per CPU) to 1024", c.Sockets)
	}
	if c.Shards < 0 || c.Shards > 1024 {
		return fmt.Errorf("ingest: shards %d: must be 0 (one per CPU) to 1024", c.Shards)
	}
	if c.ReadBatch < 1 || c.ReadBatch > 1024 {
		return fmt.Errorf("ingest: read-batch %d: must be 1–1024", c.ReadBatch)
	}
	if c.MaxFlows < 1 || c.MaxFlows > 1<<30 {
		return fmt.Errorf("ingest: max-flows %d: must be 1–%d", c.MaxFlows, 1<<30)
	}
	if c.ReceiveBuffer < 0 {
		return fmt.Errorf("ingest: receive-buffer %d: must not be negative", c.ReceiveBuffer)
	}
	return nil
}

// Option adds a dependency to New.
type Option func(*Collector)

// WithSessions sets the VNI → ENI metadata map (see LoadSessions).
func WithSessions(s Sessions) Option { return func(c *Collector) { c.sessions = s } }

// WithClock replaces time.Now as the packet clock (receive time) and window clock.
func WithClock(now func() time.Time) Option { return func(c *Collector) { c.now = now } }

// Collector receives mirror traffic and emits flow records. Create it with New, start it
// with Run.
type Collector struct {
	cfg      Config
	w        flowlog.RecordWriter
	wmu      sync.Mutex
	sessions Sessions
	now      func() time.Time
	tick     time.Duration
	log      *slog.Logger
	m        *metrics
	shards   []*shard

	activity   map[uint32]*sessionActivity // known sessions by VNI; read-only after New
	noData     []*sessionActivity          // the same, in VNI order
	noDataNext int64                       // start of the next window to check for NODATA
	skipSent   skipSet                     // windows of a session whose SKIPDATA a shard has written

	state  atomic.Int32 // stateStarting, stateReceiving, stateDraining
	ready  chan struct{}
	addrs  []net.Addr // bound VXLAN (then GENEVE) addresses, set before ready closes
	health net.Addr
}

const (
	stateStarting = iota
	stateReceiving
	stateDraining
)

// New checks cfg and wires the collector to w, registering its metrics on d.Registry and
// logging to d.Log. It does no I/O. w receives records from several shards, one call at a
// time.
func New(cfg Config, w flowlog.RecordWriter, d component.Deps, opts ...Option) (*Collector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, errors.New("ingest: a record writer is required")
	}
	if cfg.Sockets == 0 {
		cfg.Sockets = runtime.NumCPU()
	}
	if !reusePort {
		cfg.Sockets = 1
	}
	if cfg.Shards == 0 {
		cfg.Shards = runtime.NumCPU()
	}
	d = d.WithDefaults()
	c := &Collector{cfg: cfg, w: w, now: time.Now, tick: time.Second, log: d.Log, ready: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	for range cfg.Shards {
		c.shards = append(c.shards, newShard(c))
	}
	c.activity, c.noData = newActivity(c.sessions)
	c.noDataNext = firstWholeWindow(c.now().Unix(), int64(cfg.Interval/time.Second))
	m, err := newMetrics(d.Registry, func() float64 {
		var n int64
		for _, s := range c.shards {
			n += s.active.Load()
		}
		return float64(n)
	})
	if err != nil {
		return nil, err
	}
	c.m = m
	return c, nil
}

// Ready is closed once the sockets are bound (or Run failed to bind them).
func (c *Collector) Ready() <-chan struct{} { return c.ready }

// Addrs returns the bound VXLAN address and, if configured, the GENEVE address; valid after
// Ready is closed.
func (c *Collector) Addrs() []net.Addr { return c.addrs }

// HealthAddr returns the bound health address (nil if none); valid after Ready is closed.
func (c *Collector) HealthAddr() net.Addr { return c.health }

// Receiving reports whether the collector receives (not starting, not draining): what an
// NLB health check should see.
func (c *Collector) Receiving() bool { return c.state.Load() == stateReceiving }

// HealthHandler answers GET /healthz: 200 "ok" while receiving, 503 while starting or
// draining. Mount it on a shared server, or set Config.HealthAddr.
func (c *Collector) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		switch c.state.Load() {
		case stateReceiving:
			_, _ = w.Write([]byte("ok\n"))
		case stateDraining:
			http.Error(w, "draining", http.StatusServiceUnavailable)
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	})
	return mux
}

// write passes records to the writer, one shard at a time.
func (c *Collector) write(ctx context.Context, recs []flowlog.Record) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.w.WriteRecords(ctx, recs)
}

// Run binds the sockets, receives until ctx ends, then drains: health turns 503, the
// sockets close, queued packets are counted, and every open window is flushed to the writer
// (within DrainTimeout) before Run returns.
func (c *Collector) Run(ctx context.Context) (err error) {
	readyClosed := false
	defer func() {
		if !readyClosed {
			close(c.ready)
		}
	}()
	var conns []net.PacketConn
	defer func() {
		for _, pc := range conns {
			_ = pc.Close()
		}
	}()
	type sock struct {
		conn   net.PacketConn
		decode func([]byte, *vxlan.Packet) error
		label  string
	}
	var socks []sock
	for i, addr := range []string{c.cfg.Listen, c.cfg.ListenGENEVE} {
		if addr == "" {
			continue
		}
		decode, kind := vxlan.Decode, "vxlan"
		if i == 1 {
			decode, kind = vxlan.DecodeGENEVE, "geneve"
		}
		pcs, err := c.listen(ctx, addr)
		conns = append(conns, pcs...)
		if err != nil {
			return err
		}
		c.addrs = append(c.addrs, pcs[0].LocalAddr())
		for j, pc := range pcs {
			socks = append(socks, sock{pc, decode, kind + strconv.Itoa(j)})
		}
	}
	var hsrv *http.Server
	if c.cfg.HealthAddr != "" {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", c.cfg.HealthAddr)
		if err != nil {
			return fmt.Errorf("ingest: health listen %s: %w", c.cfg.HealthAddr, err)
		}
		c.health = ln.Addr()
		hsrv = &http.Server{Handler: c.HealthHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hsrv.Serve(ln) }()
		defer func() { _ = hsrv.Close() }()
	}

	flushCtx, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.DrainTimeout)
	defer cancelFlush()
	c.noDataNext = firstWholeWindow(c.now().Unix(), int64(c.cfg.Interval/time.Second))
	var shardsDone sync.WaitGroup
	for _, s := range c.shards {
		shardsDone.Go(func() { s.run(flushCtx) })
	}
	var recvDone sync.WaitGroup
	for _, s := range socks {
		r := newReceiver(c, s.conn, s.decode, c.m.kernelDrops.WithLabelValues(s.label))
		recvDone.Go(r.run)
	}
	c.state.Store(stateReceiving)
	close(c.ready)
	readyClosed = true
	c.log.Info("ingest: receiving", slog.Any("addrs", c.addrs), slog.Int("sockets", len(socks)), slog.Int("shards", len(c.shards)),
		slog.Duration("interval", c.cfg.Interval))

	<-ctx.Done()
	c.state.Store(stateDraining)
	for _, pc := range conns {
		_ = pc.Close()
	}
	conns = nil
	recvDone.Wait()
	for _, s := range c.shards {
		close(s.in)
	}
	shardsDone.Wait()
	c.emitNoData(flushCtx, c.shards[0]) // windows the shards finished after shard 0's last tick
	c.log.Info("ingest: drained; every open window flushed")
	return nil
}

// listen opens cfg.Sockets SO_REUSEPORT sockets on addr. With port 0 the first socket picks
// the port and the others join it.
func (c *Collector) listen(ctx context.Context, addr string) ([]net.PacketConn, error) {
	var pcs []net.PacketConn
	for i := range c.cfg.Sockets {
		pc, res, err := listenSocket(ctx, addr, c.cfg.ReceiveBuffer)
		if err != nil {
			return pcs, fmt.Errorf("ingest: listen %s (socket %d): %w", addr, i, err)
		}
		pcs = append(pcs, pc)
		if i == 0 {
			addr = pc.LocalAddr().String()
			c.m.rcvbuf.Set(float64(res.rcvbuf))
			// Linux reports twice the size set (the other half is bookkeeping).
			if want := c.cfg.ReceiveBuffer; want > 0 && res.rcvbuf < 2*want {
				c.log.Warn("ingest: the kernel capped the receive buffer; raise net.core.rmem_max to avoid drops",
					slog.Int("wanted", want), slog.Int("granted", res.rcvbuf/2))
			}
			if !res.rxqOvfl {
				c.log.Warn("ingest: SO_RXQ_OVFL unavailable; kernel drops will not be counted")
			}
		}
	}
	return pcs, nil
}

// listenSocket opens one receive socket with the collector's options (SO_REUSEPORT, the
// receive buffer, the kernel drop counter where the platform has them).
func listenSocket(ctx context.Context, addr string, rcvbuf int) (net.PacketConn, sockResult, error) {
	var res sockResult
	o := sockOpts{rcvbuf: rcvbuf}
	lc := net.ListenConfig{Control: o.control(&res)}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, res, err
	}
	o.after(pc, &res)
	return pc, res, nil
}

// ListenUDP opens a UDP socket as the collector opens each of its own: load harnesses use
// it to compare the collector with a bare receive loop on equal sockets.
func ListenUDP(ctx context.Context, addr string, rcvbuf int) (net.PacketConn, error) {
	pc, _, err := listenSocket(ctx, addr, rcvbuf)
	return pc, err
}
