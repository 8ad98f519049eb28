package pipeline

import (
	"context"
	"fmt"

	"github.com/flowtap/flowtap/internal/component"
)

// process is what every command shares: the supervisor and the one HTTP server.
type process struct {
	d   Deps
	sup *Supervisor
	srv *Server
}

// newProcess binds the HTTP server on addrs (none, or "" only: no server) and starts it
// first, so that it stops last and /healthz tells a load balancer about the drain.
func newProcess(cfg SupervisorConfig, d Deps, addrs ...string) (*process, error) {
	sup, err := NewSupervisor(cfg, d.Registry, d.Log)
	if err != nil {
		return nil, err
	}
	reg, ok := d.Registry.(Registry)
	if !ok {
		return nil, fmt.Errorf("pipeline: metrics registry %T does not gather (use NewRegistry)", d.Registry)
	}
	srv, err := NewServer(reg, sup.HealthHandler(), d.Log)
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(addrs...); err != nil {
		return nil, err
	}
	if _, isNop := d.Health.(component.NopHealth); isNop {
		d.Health = sup
	}
	p := &process{d: d, sup: sup, srv: srv}
	if srv.Addr() != nil {
		sup.Start(Component{Name: "http", Run: srv.Run, Once: true})
	}
	return p, nil
}

// wait blocks until ctx ends (a signal), then drains every component in reverse order.
func (p *process) wait(ctx context.Context) error {
	<-ctx.Done()
	p.d.Log.Info("shutting down: draining in reverse order of start")
	if err := p.sup.Stop(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// abort stops what was started after a setup error and returns the error.
func (p *process) abort(err error) error {
	_ = p.sup.Stop()
	return err
}
