package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A component that fails (or panics) is restarted with backoff while the others keep
// running; the restarts show in /healthz and the metrics.
func TestSupervisorRestartsFailedComponent(t *testing.T) {
	reg := prometheus.NewRegistry()
	sup, err := NewSupervisor(SupervisorConfig{BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond}, reg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	var steadyRuns, flakyRuns atomic.Int32
	sup.Start(Component{Name: "steady", Run: func(ctx context.Context) error {
		steadyRuns.Add(1)
		<-ctx.Done()
		return nil
	}})
	sup.Start(Component{Name: "flaky", Run: func(ctx context.Context) error {
		n := flakyRuns.Add(1)
		switch {
		case n == 1:
			return errors.New("kafka away")
		case n == 2:
			panic("bug")
		case n < 5:
			return errors.New("still away")
		}
		<-ctx.Done()
		return nil
	}})
	waitUntil(t, "flaky to run a fifth time", func() bool { return flakyRuns.Load() >= 5 })
	waitUntil(t, "flaky running", func() bool { return sup.Health().Components["flaky"].State == StateRunning })
	h := sup.Health()
	if got := h.Components["flaky"].Restarts; got != 4 {
		t.Errorf("flaky restarts = %d, want 4", got)
	}
	if steadyRuns.Load() != 1 {
		t.Errorf("steady ran %d times: a failure elsewhere restarted it", steadyRuns.Load())
	}
	if got := testutil.ToFloat64(sup.restarts.WithLabelValues("flaky")); got != 4 {
		t.Errorf("flowtap_component_restarts_total{flaky} = %v, want 4", got)
	}
	if got := testutil.ToFloat64(sup.up.WithLabelValues("flaky")); got != 1 {
		t.Errorf("flowtap_component_up{flaky} = %v, want 1", got)
	}
	if err := sup.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(sup.up.WithLabelValues("steady")); got != 0 {
		t.Errorf("flowtap_component_up{steady} = %v after Stop, want 0", got)
	}
}

// /healthz names the restarting component and a running one whose Check fails, and keeps
// 200 while the serving component serves.
func TestHealthNamesDegradedComponents(t *testing.T) {
	sup, err := NewSupervisor(SupervisorConfig{BackoffMin: time.Hour, BackoffMax: time.Hour}, nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	var serving atomic.Bool
	serving.Store(true)
	sup.Start(Component{Name: "collector", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }, Serving: serving.Load})
	sup.Start(Component{Name: "producer", Run: func(ctx context.Context) error { <-ctx.Done(); return nil },
		Check: func() error { return errors.New("12 records wait in the disk spill") }})
	sup.Start(Component{Name: "sinks", Run: func(ctx context.Context) error { return errors.New("fetch: connection refused") }})
	sup.Start(Component{Name: "once", Once: true, Run: func(ctx context.Context) error { return errors.New("bind: address in use") }})
	waitUntil(t, "sinks restarting", func() bool { return sup.Health().Components["sinks"].State == StateRestarting })
	waitUntil(t, "once failed", func() bool { return sup.Health().Components["once"].State == StateFailed })

	srv := httptest.NewServer(sup.HealthHandler())
	defer srv.Close()
	get := func() (int, Health) {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h Health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, h
	}
	code, h := get()
	if code != 200 || h.Status != "degraded" {
		t.Fatalf("healthz = %d %q, want 200 degraded", code, h.Status)
	}
	if strings.Join(h.Degraded, ",") != "producer,sinks,once" {
		t.Errorf("degraded = %v, want producer,sinks,once in start order", h.Degraded)
	}
	if d := h.Components["sinks"].Degraded; !strings.Contains(d, "connection refused") {
		t.Errorf("sinks degraded = %q, want its last error", d)
	}
	if d := h.Components["producer"].Degraded; !strings.Contains(d, "disk spill") {
		t.Errorf("producer degraded = %q, want its check", d)
	}
	sup.Report("collector", errors.New("kernel drops"))
	if _, h := get(); h.Components["collector"].Degraded != "kernel drops" {
		t.Errorf("reported condition not shown: %+v", h.Components["collector"])
	}
	serving.Store(false)
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Errorf("healthz = %d while the collector does not serve, want 503", code)
	}
	if err := sup.Stop(); err != nil {
		t.Fatal(err)
	}
}

// Stop cancels components in reverse order of start, each after the later ones returned.
func TestSupervisorStopsInReverseOrder(t *testing.T) {
	sup, err := NewSupervisor(DefaultSupervisorConfig(), nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	for _, name := range []string{"broker", "sinks", "producer", "collector"} {
		sup.Start(Component{Name: name, Run: func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(2 * time.Millisecond) // a drain
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			if name == "sinks" {
				return errors.New("flush failed")
			}
			return nil
		}})
	}
	waitUntil(t, "all running", func() bool {
		for _, c := range sup.Health().Components {
			if c.State != StateRunning {
				return false
			}
		}
		return true
	})
	err = sup.Stop()
	if got := strings.Join(order, ","); got != "collector,producer,sinks,broker" {
		t.Errorf("stop order %s", got)
	}
	if err == nil || !strings.Contains(err.Error(), "sinks: flush failed") {
		t.Errorf("Stop = %v, want the drain error of sinks", err)
	}
}

// A panicking handler answers 500, is counted, and the server goes on.
func TestServerRecoversPanics(t *testing.T) {
	reg := NewRegistry()
	s, err := NewServer(reg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }), quiet())
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bug") }))
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.Addr().String()
	for range 2 {
		resp, err := http.Get(base + "/boom")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Errorf("/boom = %d, want 500", resp.StatusCode)
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"flowtap_http_panics_total 2", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, path := range []string{"/healthz", "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", path, resp.StatusCode)
		}
		if strings.HasPrefix(path, "/debug") && !strings.Contains(string(b), "goroutine") {
			t.Errorf("%s: no goroutine profile", path)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBackoffIsCapped(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 4: 80 * time.Millisecond, 5: 100 * time.Millisecond, 60: 100 * time.Millisecond} {
		if got := backoff(10*time.Millisecond, 100*time.Millisecond, n); got != want {
			t.Errorf("backoff(n=%d) = %v, want %v", n, got, want)
		}
	}
}

// The Kafka check names the component degraded while no broker accepts connections.
func TestKafkaReachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := kafkaReachable([]string{addr})(); err != nil {
		t.Fatalf("listening broker reported unreachable: %v", err)
	}
	ln.Close()
	if err := kafkaReachable([]string{addr})(); err == nil || !strings.Contains(err.Error(), "Kafka unreachable") {
		t.Fatalf("closed broker: %v", err)
	}
}
