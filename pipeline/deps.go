package pipeline

import "github.com/flowtap/flowtap/internal/component"

// HealthReporter takes a component's own view of its health (see component.HealthReporter).
type HealthReporter = component.HealthReporter

// Deps are what every component gets besides its Config (see component.Deps).
type Deps = component.Deps

// withDefaults fills what is missing: the default logger, the process registry (with the
// Go and process collectors), no reporter.
func withDefaults(d Deps) Deps {
	if d.Registry == nil {
		d.Registry = NewRegistry()
	}
	return d.WithDefaults()
}
