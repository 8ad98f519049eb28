package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry takes metrics and gathers them for /metrics.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// NewRegistry is the metrics registry of a process, with the Go and process collectors
// registered once.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server is the one HTTP server of a process: /healthz (when a health handler is given),
// /metrics from the process registry and /debug/pprof. Every handler recovers a panic,
// answers 500 and counts it in flowtap_http_panics_total.
type Server struct {
	mux    *http.ServeMux
	srv    *http.Server
	lns    []net.Listener
	log    *slog.Logger
	panics prometheus.Counter
}

// NewServer prepares the server for reg; health may be nil. It does no I/O.
func NewServer(reg Registry, health http.Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{mux: http.NewServeMux(), log: log, panics: newPanicsCounter()}
	if err := reg.Register(s.panics); err != nil {
		return nil, fmt.Errorf("pipeline: http metrics: %w", err)
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if health != nil {
		s.mux.Handle("GET /healthz", health)
	}
	s.mux.HandleFunc("/debug/pprof/", pprof.Index)
	s.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return s, nil
}

func newPanicsCounter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "flowtap_http_panics_total",
		Help: "HTTP handler panics recovered (answered 500)."})
}

// Handle adds a handler (e.g. a component's own endpoint) behind the panic recovery.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP serves the mux, recovering panics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	RecoverHandler(s.mux, s.panics, s.log).ServeHTTP(w, r)
}

// RecoverHandler answers 500 instead of letting a panic in h end the connection (or, for a
// panic outside net/http's own recovery, the process), and counts it.
func RecoverHandler(h http.Handler, panics prometheus.Counter, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil || p == http.ErrAbortHandler {
				if p != nil {
					panic(p)
				}
				return
			}
			if panics != nil {
				panics.Inc()
			}
			log.Error("http handler panic", "path", r.URL.Path, "panic", p)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}()
		h.ServeHTTP(w, r)
	})
}

// Listen binds every non-empty address of addrs (the same handler on each: e.g. an NLB
// health port and a metrics port); with none, Run serves nothing.
func (s *Server) Listen(addrs ...string) error {
	seen := map[string]bool{}
	for _, addr := range addrs {
		if addr == "" || seen[addr] {
			continue
		}
		seen[addr] = true
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("http: listen %s: %w", addr, err)
		}
		s.lns = append(s.lns, ln)
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.lns = nil
}

// Addr is the first bound address (nil before Listen or without one).
func (s *Server) Addr() net.Addr {
	if len(s.lns) == 0 {
		return nil
	}
	return s.lns[0].Addr()
}

// Run serves until ctx ends, then shuts down within 5 s.
func (s *Server) Run(ctx context.Context) error {
	if len(s.lns) == 0 {
		<-ctx.Done()
		return nil
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, len(s.lns))
	for _, ln := range s.lns {
		go func() { errc <- s.srv.Serve(ln) }()
	}
	var first error
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			first = fmt.Errorf("http: %w", err)
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(sctx)
	return first
}
