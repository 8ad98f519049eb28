package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/loki"
	"github.com/flowtap/flowtap/sinks/parquet"
	"github.com/flowtap/flowtap/sinks/text"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

func init() { register(newSinkCmd) }

// sinkOptions are the destination flags shared by `flowtap sink` and `flowtap up`.
type sinkOptions struct {
	brokers        []string
	group          string
	parquet        string
	text           string
	layout         string
	prefix         string
	lokiURL        string
	lokiTenant     string
	stateDir       string
	maxAge         time.Duration
	s3Endpoint     string
	s3PathStyle    bool
	vpcFormat      string
	flowLogID      string
	tgwFlowLogID   string
	metrics        string
	parquetCodec   string
	lokiStreamName bool
	// log_group labels of VPN events in Loki
	lokiVPNTunnelGroup, lokiVPNBGPGroup, lokiClientVPNGroup string
}

func (o *sinkOptions) addFlags(cmd *cobra.Command, withBrokers bool) {
	f := cmd.Flags()
	if withBrokers {
		f.StringSliceVar(&o.brokers, "kafka-brokers", []string{"127.0.0.1:9092"}, "Kafka brokers (host:port,…)")
	}
	f.StringVar(&o.group, "group", "flowtap-sink", "Kafka consumer group")
	f.StringVar(&o.layout, "layout", "hive", "S3 key layout of --parquet and --text: plain, hourly, hive or hive-hourly")
	f.StringVar(&o.prefix, "prefix", "", "folder in front of AWSLogs/ in the lake")
	f.StringVar(&o.lokiTenant, "loki-tenant", "", "X-Scope-OrgID sent to --loki-url (empty: none)")
	f.DurationVar(&o.maxAge, "batch-age", 60*time.Second, "cut a batch (one file per account/region/5 min) after this long")
	f.StringVar(&o.s3Endpoint, "s3-endpoint", "", "S3 endpoint for s3:// destinations (default: AWS, or AWS_ENDPOINT_URL_S3)")
	f.BoolVar(&o.s3PathStyle, "s3-path-style", false, "address buckets as endpoint/bucket (most self-hosted S3 servers)")
	f.StringVar(&o.vpcFormat, "parquet-format", "", `Parquet columns as a LogFormat ("" = fields 1–29, "all" = every field)`)
	f.StringVar(&o.parquetCodec, "parquet-compression", "gzip", "Parquet page codec: gzip (AWS's; gzip-1…gzip-9 to pick a level), zstd, snappy or none")
	f.StringVar(&o.flowLogID, "flow-log-id", "fl-0f10ab7a9f10ab7a9", "flow log id in VPC file names")
	f.StringVar(&o.tgwFlowLogID, "tgw-flow-log-id", "fl-0f20ab7a9f20ab7a9", "flow log id in TGW file names")
	f.BoolVar(&o.lokiStreamName, "loki-stream-label", true, "label Loki streams with log_stream (one stream per ENI, like CloudWatch)")
	def := loki.DefaultConfig()
	f.StringVar(&o.lokiVPNTunnelGroup, "loki-vpn-tunnel-log-group", def.VPNTunnelLogGroup, "Loki log_group of Site-to-Site VPN tunnel events")
	f.StringVar(&o.lokiVPNBGPGroup, "loki-vpn-bgp-log-group", def.VPNBGPLogGroup, "Loki log_group of Site-to-Site VPN BGP events")
	f.StringVar(&o.lokiClientVPNGroup, "loki-client-vpn-log-group", def.ClientVPNLogGroup, "Loki log_group of Client VPN connection events")
}

// build opens the configured destinations.
func (o *sinkOptions) build(reg prometheus.Registerer) ([]sinks.Sink, error) {
	var out []sinks.Sink
	opts := objstore.Options{Endpoint: o.s3Endpoint, PathStyle: o.s3PathStyle, TempDir: filepath.Join(o.stateDir, "tmp")}
	if o.parquet != "" {
		store, err := objstore.Open(o.parquet, opts)
		if err != nil {
			return nil, fmt.Errorf("--parquet: %w", err)
		}
		cfg := parquet.DefaultConfig()
		cfg.Layout, cfg.Prefix, cfg.VPCFormat, cfg.Compression = o.layout, o.prefix, o.vpcFormat, o.parquetCodec
		cfg.FlowLogID, cfg.TGWFlowLogID = o.flowLogID, o.tgwFlowLogID
		s, err := parquet.New(cfg, store, reg)
		if err != nil {
			return nil, fmt.Errorf("--parquet: %w", err)
		}
		out = append(out, s)
	}
	if o.text != "" {
		store, err := objstore.Open(o.text, opts)
		if err != nil {
			return nil, fmt.Errorf("--text: %w", err)
		}
		cfg := text.DefaultConfig()
		cfg.Layout, cfg.Prefix = o.layout, o.prefix
		cfg.FlowLogID, cfg.TGWFlowLogID = o.flowLogID, o.tgwFlowLogID
		s, err := text.New(cfg, store, reg)
		if err != nil {
			return nil, fmt.Errorf("--text: %w", err)
		}
		out = append(out, s)
	}
	if o.lokiURL != "" {
		cfg := loki.DefaultConfig()
		cfg.URL, cfg.Tenant, cfg.StreamLabel = o.lokiURL, o.lokiTenant, o.lokiStreamName
		cfg.VPNTunnelLogGroup, cfg.VPNBGPLogGroup, cfg.ClientVPNLogGroup = o.lokiVPNTunnelGroup, o.lokiVPNBGPGroup, o.lokiClientVPNGroup
		s, err := loki.New(cfg, reg)
		if err != nil {
			return nil, fmt.Errorf("--loki-url: %w", err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no destination: give --parquet, --text and/or --loki-url")
	}
	return out, nil
}

// runner builds the consumer-group runner over the destinations. Destinations that take
// events (Loki) also get the VPN topic.
func (o *sinkOptions) runner(dest []sinks.Sink, reg prometheus.Registerer) (*kafka.Runner, error) {
	cfg := kafka.DefaultRunnerConfig()
	cfg.Brokers, cfg.Group, cfg.StateDir, cfg.MaxAge = o.brokers, o.group, o.stateDir, o.maxAge
	return kafka.NewRunner(cfg, dest, reg, slog.Default())
}

func newSinkCmd() *cobra.Command {
	var o sinkOptions
	cmd := &cobra.Command{
		Use:   "sink",
		Short: "Consume flow records and VPN logs from Kafka into Parquet, text files and Loki",
		Long: `sink reads the flow record topics (flowtap.vpc, flowtap.tgw) in a Kafka consumer group and
writes every batch to each destination:

  --parquet DIR|s3://bucket/prefix   Parquet files in AWS's S3 layout and naming (.log.parquet)
  --text DIR|s3://bucket/prefix      gzip text files with a header line (.log.gz), as AWS writes
  --loki-url URL                     a Loki push API (flowtap logstore, or Grafana Loki)

With --loki-url it also reads the VPN topic (flowtap.vpn, filled by the collector's producer
and 'flowtap generate --kind vpn-s2s|vpn-client --kafka-brokers …') and pushes each event as
CloudWatch Logs holds it: AWS's JSON line unchanged, at the event's time, labelled log_group
(--loki-vpn-tunnel-log-group, --loki-vpn-bgp-log-group, --loki-client-vpn-log-group),
log_stream (the tunnel, e.g. vpn-1234abcd_1.2.3.4, or Client VPN stream) and kind
(vpn-tunnel, vpn-bgp, client-vpn). Query them with e.g.
  flowtap query logs '{kind="vpn-bgp"} | json | type="BGPStatus"'

Offsets are committed only after every destination has made the batch durable (file fsynced
and renamed, S3 PUT acknowledged, push answered 2xx). Objects are named from the batch's
topic, partition and offsets, so a batch delivered twice rewrites the same objects. A
destination that fails is retried with backoff; one that refuses a batch for good (Loki
answering 400 or 413: a line over its size limit, a stream limit) gets it no more: the batch
goes to the dead-letter topic (flowtap.deadletter) with a flowtap-dlq-reason header naming
the destination and its error, counted in flowtap_consumer_deadlettered_total, and the
partition goes on. Undecodable messages go there too. S3 credentials come from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			dest, err := o.build(reg)
			if err != nil {
				return err
			}
			defer closeSinks(dest)
			r, err := o.runner(dest, reg)
			if err != nil {
				return err
			}
			if o.metrics != "" {
				stop, err := serveHTTP(o.metrics, metricsMux(reg, nil))
				if err != nil {
					return err
				}
				defer stop()
			}
			return r.Run(cmd.Context())
		},
	}
	o.addFlags(cmd, true)
	f := cmd.Flags()
	f.StringVar(&o.parquet, "parquet", "", "Parquet destination: a directory or s3://bucket/prefix")
	f.StringVar(&o.text, "text", "", "gzip text destination: a directory or s3://bucket/prefix")
	f.StringVar(&o.lokiURL, "loki-url", "", "Loki base URL, e.g. http://127.0.0.1:3100")
	f.StringVar(&o.stateDir, "state", filepath.Join("data", "sink-state"), "directory for batch intents (crash-safe exactly-once)")
	f.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9109)")
	return cmd
}

func closeSinks(dest []sinks.Sink) {
	for _, s := range dest {
		if err := s.Close(); err != nil {
			slog.Warn("closing sink", "sink", s.Name(), "err", err)
		}
	}
}

// metricsMux serves /metrics from reg and, when health is set, /healthz from it.
func metricsMux(reg *prometheus.Registry, health http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if health != nil {
		mux.Handle("/healthz", health)
	}
	return mux
}

// serveHTTP serves h on addr in the background; stop shuts it down.
func serveHTTP(addr string, h http.Handler) (stop func(), err error) {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("http server", "addr", addr, "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
