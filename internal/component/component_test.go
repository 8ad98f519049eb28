package component

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fake is a component whose Run closes ready after wait, or fails with err at once.
type fake struct {
	ready chan struct{}
	wait  time.Duration
	err   error
}

func (f *fake) Ready() <-chan struct{} { return f.ready }

func (f *fake) Run(ctx context.Context) error {
	if f.err != nil {
		return f.err
	}
	t := time.NewTimer(f.wait)
	defer t.Stop()
	select {
	case <-t.C:
		close(f.ready)
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return errors.New("stopped")
}

func TestStart(t *testing.T) {
	stop, err := Start(&fake{ready: make(chan struct{})}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err == nil || err.Error() != "stopped" {
		t.Fatalf("stop: %v, want Run's error", err)
	}
	if err := stop(); err == nil || err.Error() != "stopped" {
		t.Fatalf("second stop: %v, want the same error", err)
	}
	if _, err := Start(&fake{ready: make(chan struct{}), err: errors.New("bind")}, 10*time.Second); err == nil || err.Error() != "bind" {
		t.Fatalf("failing Run: %v, want its error", err)
	}
	if _, err := Start(&fake{ready: make(chan struct{}), wait: time.Hour}, 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("slow Run: %v, want not ready", err)
	}
}

func TestMetricsRegisterEveryOne(t *testing.T) {
	m := NewMetrics("demo")
	m.Counter("a_total", "A.").Inc()
	m.CounterVec("b_total", "B.", "x").WithLabelValues("1").Inc()
	m.Gauge("c", "C.").Set(1)
	m.GaugeVec("d", "D.", "x").WithLabelValues("1").Set(1)
	m.GaugeFunc("e", "E.", func() float64 { return 1 })
	m.Histogram("f_seconds", "F.", prometheus.DefBuckets).Observe(1)
	m.HistogramVec("g_seconds", "G.", prometheus.DefBuckets, "x").WithLabelValues("1").Observe(1)
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	if want := "flowtap_demo_a_total flowtap_demo_b_total flowtap_demo_c flowtap_demo_d flowtap_demo_e flowtap_demo_f_seconds flowtap_demo_g_seconds"; strings.Join(names, " ") != want {
		t.Fatalf("registered %v, want %s", names, want)
	}
	if err := m.Register(reg); err == nil || !strings.HasPrefix(err.Error(), "demo: metrics:") {
		t.Fatalf("registering twice: %v, want an error naming the component", err)
	}
}
