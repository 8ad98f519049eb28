package pipeline

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// HealthReporter takes a component's own view of its health: a non-nil error marks it
// degraded in /healthz until it reports nil.
type HealthReporter interface {
	Report(component string, err error)
}

// Deps are what every component gets besides its Config.
type Deps struct {
	Log      *slog.Logger
	Registry *prometheus.Registry
	Health   HealthReporter
}

// withDefaults fills what is missing: the default logger, a fresh registry, no reporter.
func (d Deps) withDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = NewRegistry()
	}
	if d.Health == nil {
		d.Health = nopHealth{}
	}
	return d
}

type nopHealth struct{}

func (nopHealth) Report(string, error) {}
