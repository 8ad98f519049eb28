// Package testenv starts the real components that tests run against: the embedded Kafka
// broker and the log store, on 127.0.0.1 with free ports, stopped when the test ends. It
// imports neither kafka nor the sinks, so their own tests can use it.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/kafka/broker"
	"github.com/flowtap/flowtap/logstore"
)

// Quiet is the logger of tests: it discards everything unless FLOWTAP_TEST_LOG is set, then
// it writes everything to stderr.
func Quiet() *slog.Logger {
	if os.Getenv("FLOWTAP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Deps are component dependencies with a quiet logger and a fresh registry.
func Deps() component.Deps { return component.Deps{Log: Quiet()}.WithDefaults() }

// BrokerConfig is the embedded broker on a free 127.0.0.1 port, in memory, creating topics.
func BrokerConfig(topics ...string) broker.Config {
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Topics = "127.0.0.1:0", "", topics
	return cfg
}

// Broker starts the embedded broker and closes it when the test ends. Binding is retried
// for a few seconds: rebinding the port of a broker just closed (an outage test) can take
// a moment.
func Broker(tb testing.TB, cfg broker.Config) *broker.Broker {
	tb.Helper()
	b, err := broker.New(cfg, Deps())
	if err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = b.Start()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("broker on %s: %v", cfg.Listen, err)
	}
	tb.Cleanup(b.Close)
	return b
}

// LogstoreConfig is the log store's default configuration on a temporary directory,
// without a listener of its own (Logstore serves it).
func LogstoreConfig(tb testing.TB) logstore.Config {
	cfg := logstore.DefaultConfig()
	cfg.DataDir, cfg.Listen = tb.TempDir(), ""
	return cfg
}

// Logstore runs a log store until the test ends, behind an httptest server on 127.0.0.1,
// and returns it with the server's base URL once it takes pushes and queries.
func Logstore(tb testing.TB, cfg logstore.Config) (*logstore.Store, string) {
	tb.Helper()
	st, err := logstore.New(cfg, Deps())
	if err != nil {
		tb.Fatal(err)
	}
	stop, err := component.Start(st, 20*time.Second)
	if err != nil {
		tb.Fatalf("log store: %v", err)
	}
	srv := httptest.NewServer(st.Handler())
	tb.Cleanup(func() {
		srv.Close()
		if err := stop(); err != nil {
			tb.Errorf("log store: %v", err)
		}
	})
	return st, srv.URL
}

// Recorder is a flowlog.RecordWriter that keeps copies of the records written to it.
type Recorder struct {
	mu   sync.Mutex
	recs []flowlog.Record
}

// WriteRecords keeps the records.
func (r *Recorder) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, recs...)
	return nil
}

// Records returns the records kept so far.
func (r *Recorder) Records() []flowlog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs)
}

// Take returns the records kept so far and forgets them.
func (r *Recorder) Take() []flowlog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.recs
	r.recs = nil
	return out
}

// MetricSum gathers g and sums the counter and gauge values of every series of the metric
// name (0 when there is none).
func MetricSum(tb testing.TB, g prometheus.Gatherer, name string) float64 {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return v
}

// FreeTCP is a 127.0.0.1 address with a TCP port free a moment ago (for a process the test
// starts, which must bind it itself).
func FreeTCP(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreeUDP is FreeTCP for a UDP port.
func FreeUDP(tb testing.TB) string {
	tb.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}
