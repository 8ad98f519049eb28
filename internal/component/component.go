// Package component holds what every flowtap component gets besides its Config: the
// logger, the metrics registry and the health reporter. Components take them as
// New(cfg, inputs…, deps); pipeline/ builds one Deps per process and hands it to all.
package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HealthReporter takes a component's own view of its health: a non-nil error marks it
// degraded in /healthz until it reports nil.
type HealthReporter interface {
	Report(component string, err error)
}

// Deps are what every component gets besides its Config.
type Deps struct {
	Log *slog.Logger
	// Registry takes the component's metrics; a process's registry also gathers them for
	// /metrics (pipeline.NewRegistry).
	Registry prometheus.Registerer
	Health   HealthReporter
}

// WithDefaults fills what is missing: the default logger, a fresh registry without the
// process collectors (pipeline.NewRegistry has them), a reporter that discards.
func (d Deps) WithDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Health == nil {
		d.Health = NopHealth{}
	}
	return d
}

// NopHealth is the reporter of a component run on its own: it discards reports.
type NopHealth struct{}

// Report discards the report.
func (NopHealth) Report(string, error) {}

// Register registers a component's collectors with reg; an error (a name registered twice)
// names the component.
func Register(reg prometheus.Registerer, component string, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("%s: metrics: %w", component, err)
		}
	}
	return nil
}

// Readier is a component that runs until its context ends and says when it serves.
type Readier interface {
	Run(ctx context.Context) error
	Ready() <-chan struct{}
}

// Start runs c in the background and waits until it is ready (nil), has failed (Run's
// error) or timeout has passed. stop ends the run and returns Run's error; calling it again
// returns the same.
func Start(c Readier, timeout time.Duration) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	select {
	case <-c.Ready():
		return stop, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("stopped before it was ready")
		}
		return nil, err
	case <-time.After(timeout):
		stop()
		return nil, fmt.Errorf("not ready after %v", timeout)
	}
}
