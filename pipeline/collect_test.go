package pipeline

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/testenv"
)

type discard struct{}

func (discard) WriteRecords(context.Context, []flowlog.Record) error { return nil }

// collect serves /healthz (200 while receiving) and /metrics from one server on both the
// health and the metrics address, with the Go collectors registered once.
func TestRunCollectOneServerTwoAddresses(t *testing.T) {
	cfg := DefaultCollectConfig()
	cfg.Collector.Listen = "127.0.0.1:0"
	cfg.Collector.Sockets, cfg.Collector.Shards = 1, 1
	cfg.Health, cfg.Metrics = testenv.FreeTCP(t), testenv.FreeTCP(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunCollect(ctx, cfg, DefaultSupervisorConfig(), Deps{Log: quiet()}, discard{}) }()
	get := func(addr, path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(cfg.Health, "/healthz")
		if code == 200 && strings.Contains(body, `"collector":{"state":"running"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never 200 with the collector running: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, addr := range []string{cfg.Health, cfg.Metrics} {
		code, body := get(addr, "/metrics")
		if code != 200 || !strings.Contains(body, "flowtap_ingest_packets_total") || strings.Count(body, "# TYPE go_goroutines ") != 1 {
			t.Errorf("%s/metrics: %d, collector metrics and one Go collector expected", addr, code)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
