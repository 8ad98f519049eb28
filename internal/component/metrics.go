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

func (m *Metrics) keep(c prometheus.Collector) { m.collectors = append(m.collectors, c) }

// Counter makes a counter.
func (m *Metrics) Counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help})
	m.keep(c)
	return c
}

// CounterVec makes a counter with labels.
func (m *Metrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help}, labels)
	m.keep(c)
	return c
}

// Gauge makes a gauge.
func (m *Metrics) Gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help})
	m.keep(g)
	return g
}

// GaugeVec makes a gauge with labels.
func (m *Metrics) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help}, labels)
	m.keep(g)
	return g
}

// Histogram makes a histogram with the given buckets.
func (m *Metrics) Histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help, Buckets: buckets})
	m.keep(h)
	return h
}

// HistogramVec makes a histogram with labels.
func (m *Metrics) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help, Buckets: buckets}, labels)
	m.keep(h)
	return h
}

// GaugeFunc makes a gauge whose value f reads at each scrape.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.keep(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "flowtap", Subsystem: m.subsystem, Name: name, Help: help}, f))
}

// Register registers every metric made so far with reg; the error names the component.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	return Register(reg, m.subsystem, m.collectors...)
}
