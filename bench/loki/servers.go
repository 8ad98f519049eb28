package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/flowtap/flowtap/bench/internal/child"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/logstore"
)

// server is one Loki-API process under test.
type server struct {
	name string
	url  string
	*child.Process
}

func startProcess(name, logFile, url string, bin string, args ...string) (*server, error) {
	p, err := child.Start(logFile, bin, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &server{name: name, url: url, Process: p}, nil
}

// lokiConfig is a single-binary Grafana Loki on 127.0.0.1 with filesystem storage. Limits
// are raised so that neither rate limits nor series caps shape the figures; query results
// are not cached (Loki's default), so every round does the work. Queries always ask the
// ingesters: backfilled lines older than query_ingesters_within (3h by default) would
// otherwise be invisible until the ingesters flush them (max_chunk_age after the push).
// The pattern ingester is on, so that /patterns answers as in Grafana Cloud.
const lokiConfig = `auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %d
  log_level: warn
  grpc_server_max_recv_msg_size: 104857600
  grpc_server_max_send_msg_size: 104857600
common:
  instance_addr: 127.0.0.1
  path_prefix: %[3]s
  storage:
    filesystem:
      chunks_directory: %[3]s/chunks
      rules_directory: %[3]s/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  reject_old_samples: false
  ingestion_rate_mb: 4096
  ingestion_burst_size_mb: 8192
  per_stream_rate_limit: 1GB
  per_stream_rate_limit_burst: 2GB
  max_line_size: 256KB
  max_query_series: 100000
  max_entries_limit_per_query: 5000
  discover_service_name: []
  discover_log_levels: false
  query_timeout: 5m
querier:
  query_ingesters_within: 0
pattern_ingester:
  enabled: true
query_range:
  cache_results: false
analytics:
  reporting_enabled: false
`

// startLoki writes a config under dir, checks it with -verify-config and starts Loki.
// startBoth makes a scratch directory (kept with -keep) and starts Loki first (it takes
// ~15 s to join its ring) and then the log store in it. stop stops both and removes the
// directory unless kept.
func startBoth(bin, prefix string, o *options) (loki, ft *server, stop func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, nil, nil, err
	}
	cleanup := func() {
		if !o.keep {
			os.RemoveAll(dir)
		}
	}
	if o.keep {
		fmt.Println("data and logs in", dir)
	}
	if loki, err = startLoki(bin, dir); err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	if ft, err = startLogstore(dir, o); err != nil {
		loki.stop(60 * time.Second)
		cleanup()
		return nil, nil, nil, err
	}
	return loki, ft, func() {
		ft.stop(60 * time.Second)
		loki.stop(60 * time.Second)
		cleanup()
	}, nil
}

func startLoki(bin, dir string) (*server, error) {
	ports, err := child.FreePorts(2)
	if err != nil {
		return nil, err
	}
	httpPort, grpcPort := ports[0], ports[1]
	data := filepath.Join(dir, "loki")
	cfgFile := filepath.Join(dir, "loki.yaml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, lokiConfig, httpPort, grpcPort, data), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command(bin, "-config.file", cfgFile, "-verify-config").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("loki -verify-config: %w: %s", err, out)
	}
	return startProcess("loki", filepath.Join(dir, "loki.log"), fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		bin, "-config.file", cfgFile)
}

// startLogstore runs this program again as a flowtap logstore process (serveLogstore).
func startLogstore(dir string, o *options) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"-serve-logstore", addr, "-data", filepath.Join(dir, "flowtap"),
		"-fsync", o.fsync, "-chunk-encoding", o.chunkEncoding}
	if o.cpuprofile != "" {
		args = append(args, "-cpuprofile", o.cpuprofile)
	}
	return startProcess("flowtap", filepath.Join(dir, "flowtap.log"), "http://"+addr, self, args...)
}

// serveLogstore is the child mode: a logstore.Store on addr until SIGTERM. With a
// profile path, SIGUSR1 starts a CPU profile (PATH.ingest.pprof, then PATH.query.pprof)
// and SIGUSR2 stops it.
func serveLogstore(addr string, o *options) error {
	cfg := logstore.DefaultConfig()
	cfg.Listen = addr
	cfg.DataDir = o.data
	cfg.Fsync = logstore.FsyncPolicy(o.fsync)
	cfg.ChunkEncoding = o.chunkEncoding
	cfg.MaxQuerySeries = 100000 // as Loki's max_query_series in lokiConfig
	no := false                 // the limits lokiConfig sets for Loki
	cfg.RejectOldSamples = &no
	cfg.IngestionRateMB, cfg.IngestionBurstSizeMB = 4096, 8192
	cfg.QueryTimeout = 5 * time.Minute
	s, err := logstore.New(cfg, component.Deps{})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if o.cpuprofile != "" {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
		go func() {
			phases := []string{"ingest", "query"}
			var f *os.File
			for sig := range sigs {
				if sig == syscall.SIGUSR2 {
					if f != nil {
						pprof.StopCPUProfile()
						f.Close()
						f = nil
					}
					continue
				}
				if f != nil || len(phases) == 0 {
					continue
				}
				var err error
				if f, err = os.Create(o.cpuprofile + "." + phases[0] + ".pprof"); err == nil {
					err = pprof.StartCPUProfile(f)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "cpuprofile:", err)
				}
				phases = phases[1:]
			}
		}()
	}
	return s.Run(ctx)
}

// signalProfile asks the flowtap process to start (true) or stop its CPU profile.
func (s *server) signalProfile(start bool) {
	sig := syscall.SIGUSR2
	if start {
		sig = syscall.SIGUSR1
	}
	_ = s.Cmd.Process.Signal(sig)
	time.Sleep(100 * time.Millisecond) // let the child act before the phase starts/ends
}

// waitReady polls /ready until 200.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.Done:
			return fmt.Errorf("%s exited before ready: %v; last output:\n%s", s.name, s.Err, tail(s.LogPath))
		default:
		}
		resp, err := http.Get(s.url + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v; last output:\n%s", s.name, timeout, tail(s.LogPath))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits, then kills.
func (s *server) stop(timeout time.Duration) {
	if s != nil {
		s.Stop(timeout)
	}
}

// cpuSeconds is the user+system CPU time the process has used so far.
func (s *server) cpuSeconds() float64 {
	cpu, err := s.CPUTime()
	if err != nil {
		return math.NaN()
	}
	return cpu.Seconds()
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// ingestResult is one server's push phase.
type ingestResult struct {
	wall    time.Duration
	cpu     float64 // server CPU seconds
	retries int64
}

// ingest pushes every body with clients concurrent pushers, retrying 429 and 5xx.
func (s *server) ingest(ctx context.Context, client *http.Client, bodies [][]byte, clients int) (ingestResult, error) {
	var next, retries atomic.Int64
	var firstErr error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	cpu0 := s.cpuSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(bodies)) || ctx.Err() != nil {
					return
				}
				for attempt := 0; ; attempt++ {
					err := pushOnce(ctx, client, s.url, bodies[i])
					if err == nil {
						break
					}
					var re *retryable
					if !errors.As(err, &re) || attempt >= 20 {
						fail(fmt.Errorf("%s: push %d: %w", s.name, i, err))
						next.Store(int64(len(bodies)))
						return
					}
					retries.Add(1)
					time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	res := ingestResult{wall: time.Since(start), cpu: s.cpuSeconds() - cpu0, retries: retries.Load()}
	return res, firstErr
}

type retryable struct{ msg string }

func (r *retryable) Error() string { return r.msg }

func pushOnce(ctx context.Context, client *http.Client, base string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/loki/api/v1/push", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := client.Do(req)
	if err != nil {
		return &retryable{err.Error()}
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == 429 || resp.StatusCode/100 == 5:
		return &retryable{fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))}
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
}

// get runs one query and returns the answer body and its latency.
func (s *server) get(ctx context.Context, client *http.Client, path string, params url.Values) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path+"?"+params.Encode(), nil)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", s.name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	el := time.Since(start)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: read answer: %w", s.name, err)
	}
	if resp.StatusCode != 200 {
		return nil, 0, fmt.Errorf("%s: HTTP %d: %.300s", s.name, resp.StatusCode, body)
	}
	return body, el, nil
}
