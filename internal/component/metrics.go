package component

import "github.com/prometheus/client_golang/prometheus"

// Metrics makes the metrics of one component, named flowtap_<subsystem>_<name>, and
// remembers them so that Register registers every one (none can be forgotten).
type Metrics struct {
	subsystem  string
	collectors []prometheus.Collector
}

// NewMetrics makes metrics under flowtap_<subsystem>_.
func NewMetrics(subsystem string) *Metrics { return &Metrics{subsystem: subsystem} }

func (m *Metrics) opts(name, help string) prometheus.Opts {
	return prometheus.Opts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help}
}

func (m *Metrics) histOpts(name, help string, buckets []float64) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help, Buckets: buckets}
}

// keep remembers c for Register and returns it.
func keep[C prometheus.Collector](m *Metrics, c C) C {
	m.collectors = append(m.collectors, c)
	return c
}

// Counter makes a counter.
func (m *Metrics) Counter(name, help string) prometheus.Counter {
	return keep(m, prometheus.NewCounter(prometheus.CounterOpts(m.opts(name, help))))
}

// CounterVec makes a counter with labels.
func (m *Metrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return keep(m, prometheus.NewCounterVec(prometheus.CounterOpts(m.opts(name, help)), labels))
}

// Gauge makes a gauge.
func (m *Metrics) Gauge(name, help string) prometheus.Gauge {
	return keep(m, prometheus.NewGauge(prometheus.GaugeOpts(m.opts(name, help))))
}

// GaugeVec makes a gauge with labels.
func (m *Metrics) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return keep(m, prometheus.NewGaugeVec(prometheus.GaugeOpts(m.opts(name, help)), labels))
}

// GaugeFunc makes a gauge whose value f reads at each scrape.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	keep(m, prometheus.NewGaugeFunc(prometheus.GaugeOpts(m.opts(name, help)), f))
}

// Histogram makes a histogram with the given buckets.
func (m *Metrics) Histogram(name, help string, buckets []float64) prometheus.Histogram {
	return keep(m, prometheus.NewHistogram(m.histOpts(name, help, buckets)))
}

// HistogramVec makes a histogram with labels.
func (m *Metrics) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return keep(m, prometheus.NewHistogramVec(m.histOpts(name, help, buckets), labels))
}

// Register registers every metric made so far with reg; the error names the component.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	return Register(reg, m.subsystem, m.collectors...)
}
