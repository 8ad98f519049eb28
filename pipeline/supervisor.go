package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Component is one supervised part of a process.
type Component struct {
	Name string
	// Run works until ctx ends, then drains and returns nil. An error (or a panic) while ctx
	// is alive is a failure: the component is restarted, unless Once.
	Run func(ctx context.Context) error
	// Check, when set, reports a condition of a running component that needs attention
	// (nil = healthy), e.g. a producer whose records wait in the disk spill.
	Check func() error
	// Once marks a component whose Run cannot be called again: a failure leaves it failed.
	Once bool
	// Serving, when set, decides the HTTP status of /healthz: 503 while it returns false.
	Serving func() bool
}

// State is where a supervised component is.
type State string

// The states of a component.
const (
	StateStarting   State = "starting"
	StateRunning    State = "running"
	StateRestarting State = "restarting" // failed, waiting for its backoff to restart
	StateFailed     State = "failed"     // failed and not restartable
	StateDone       State = "done"       // Run returned nil on its own (a finished job)
	StateStopped    State = "stopped"
)

// SupervisorConfig sets the restart backoff: BackoffMin·2^n, capped at BackoffMax; a run
// that lasted longer than BackoffMax starts the sequence over.
type SupervisorConfig struct {
	BackoffMin time.Duration `yaml:"restart-backoff-min"`
	BackoffMax time.Duration `yaml:"restart-backoff-max"`
}

// DefaultSupervisorConfig restarts after 250 ms, doubling up to 15 s.
func DefaultSupervisorConfig() SupervisorConfig {
	return SupervisorConfig{BackoffMin: 250 * time.Millisecond, BackoffMax: 15 * time.Second}
}

// Supervisor runs components, restarts the failed ones and stops them in reverse order.
type Supervisor struct {
	cfg SupervisorConfig
	log *slog.Logger

	restarts *prometheus.CounterVec
	up       *prometheus.GaugeVec

	mu    sync.Mutex
	comps []*supervised
	// reported holds conditions components set through Report (their health reporter).
	reported map[string]error
}

type supervised struct {
	Component
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	state    State
	restarts int
	lastErr  error // the last failure (kept across restarts, for /healthz)
	stopErr  error // what the final Run returned
	since    time.Time
}

// NewSupervisor registers the supervisor's metrics on reg (nil: none).
func NewSupervisor(cfg SupervisorConfig, reg prometheus.Registerer, log *slog.Logger) (*Supervisor, error) {
	def := DefaultSupervisorConfig()
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = def.BackoffMin
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = cfg.BackoffMin
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Supervisor{cfg: cfg, log: log, reported: map[string]error{},
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowtap_component_restarts_total",
			Help: "Restarts of a component after its Run failed, by component."}, []string{"component"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flowtap_component_up",
			Help: "1 while the component runs, 0 while it restarts, failed or stopped, by component."}, []string{"component"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.restarts, s.up} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("pipeline: supervisor metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Start runs c in the background under supervision.
func (s *Supervisor) Start(c Component) {
	ctx, cancel := context.WithCancel(context.Background())
	sc := &supervised{Component: c, cancel: cancel, done: make(chan struct{}), state: StateStarting, since: time.Now()}
	s.mu.Lock()
	s.comps = append(s.comps, sc)
	s.mu.Unlock()
	s.restarts.WithLabelValues(c.Name).Add(0)
	go pprof.Do(ctx, pprof.Labels("component", c.Name), func(ctx context.Context) { s.loop(ctx, sc) })
}

func (s *Supervisor) loop(ctx context.Context, c *supervised) {
	defer close(c.done)
	up := s.up.WithLabelValues(c.Name)
	attempt := 0
	for {
		c.set(StateRunning, nil)
		up.Set(1)
		started := time.Now()
		err := runSafely(ctx, c.Run)
		up.Set(0)
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Warn("component stopped with an error", "component", c.Name, "err", err)
				c.mu.Lock()
				c.stopErr = err
				c.mu.Unlock()
			}
			c.set(StateStopped, nil)
			return
		}
		if err == nil {
			c.set(StateDone, nil)
			s.log.Info("component finished", "component", c.Name)
			return
		}
		if c.Once {
			c.set(StateFailed, err)
			s.log.Error("component failed; it cannot be restarted, the others go on", "component", c.Name, "err", err)
			return
		}
		if time.Since(started) > s.cfg.BackoffMax {
			attempt = 0
		}
		attempt++
		wait := backoff(s.cfg.BackoffMin, s.cfg.BackoffMax, attempt)
		c.set(StateRestarting, err)
		s.log.Error("component failed; restarting after backoff", "component", c.Name, "err", err, "backoff", wait, "attempt", attempt)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.set(StateStopped, err)
			return
		case <-t.C:
		}
		c.mu.Lock()
		c.restarts++
		c.mu.Unlock()
		s.restarts.WithLabelValues(c.Name).Inc()
	}
}

// runSafely turns a panic of run into an error, so a bug in one component does not take
// the process (and every other component) down.
func runSafely(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return run(ctx)
}

// backoff is min·2^(n-1) capped at max (n ≥ 1).
func backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return mind(d, max)
}

func mind(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

func (c *supervised) set(st State, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != st {
		c.since = time.Now()
	}
	c.state = st
	if err != nil {
		c.lastErr = err
	}
}

// Report sets (err != nil) or clears a condition of the named component; it appears in
// /healthz as the component's degradation. It is the health reporter given to components.
func (s *Supervisor) Report(component string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.reported, component)
		return
	}
	s.reported[component] = err
}

// Stop stops every component in reverse order of start, each after the one started after
// it has drained, and returns the first error a component stopped with.
func (s *Supervisor) Stop() error {
	s.mu.Lock()
	comps := append([]*supervised(nil), s.comps...)
	s.mu.Unlock()
	var first error
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		s.log.Info("stopping", "component", c.Name)
		c.cancel()
		<-c.done
		c.mu.Lock()
		err := c.stopErr
		c.mu.Unlock()
		if err != nil && first == nil {
			first = fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return first
}
