package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/ingest"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/pipeline"
)

type collectOptions struct {
	cfg          pipeline.CollectConfig
	sup          pipeline.SupervisorConfig
	output       string
	format       string
	kafkaBrokers []string
	spillDir     string
	kafkaTopic   string
}

func newCollectCmd() *cobra.Command {
	o := collectOptions{cfg: pipeline.DefaultCollectConfig(), sup: pipeline.DefaultSupervisorConfig()}
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Receive VPC Traffic Mirroring (VXLAN) and emit VPC Flow Log records",
		Long: `collect is a VPC Traffic Mirroring target: point an NLB's UDP 4789 listener (or a mirror
target ENI) at it. It decodes the VXLAN packets (GENEVE too, with --listen-geneve, for Gateway
Load Balancer targets), aggregates the mirrored traffic into flows per source ENI (one per
VNI) and at every --interval writes VPC Flow Log records: packets, bytes, start/end of the
first/last packet, tcp-flags as AWS reports them, flow-direction, pkt-srcaddr/pkt-dstaddr and
the ENI's metadata from --sessions.

Sessions file (YAML), one entry per mirror session (VNI = the session's VirtualNetworkId):
  sessions:
    - vni: 4660
      account-id: "123456789012"
      interface-id: eni-1235b8ca123456789
      vpc-id: vpc-abcdefab012345678
      subnet-id: subnet-aaaaaaaa012345678
      instance-id: i-0c50d5961bcb2d47b
      region: ap-southeast-2
      az-id: apse2-az3
      ips: [10.0.0.71, 10.0.0.72]     # first IPv4 = primary; decides flow-direction
Packets of a VNI missing from the file still yield records, with interface-id
eni-vni<8 hex digits of the VNI> and "-" for the other ENI fields (counted in
flowtap_ingest_unknown_vni_*).

Records go to stdout, one per line: --output text in --format (default AWS's default
format), or --output json (all fields the collector fills, or --format's fields).
SIGTERM/SIGINT stop receiving and flush every open window before exit; --health answers
GET /healthz with 200 while receiving and 503 while draining (TCP checks work on the same
port).`,
		Example: `  flowtap collect --listen 0.0.0.0:4789 --sessions sessions.yaml --health :8080 --metrics :9090
  flowtap collect --listen 127.0.0.1:4789 --output json
  flowtap collect --format '${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${tcp-flags} ${flow-direction} ${log-status}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCollect(cmd.Context(), cmd.OutOrStdout(), &o)
		},
	}
	f := cmd.Flags()
	c := &o.cfg.Collector
	f.StringVar(&c.Listen, "listen", c.Listen, "UDP address for VXLAN, HOST:PORT (AWS sends to port 4789)")
	f.StringVar(&c.ListenGENEVE, "listen-geneve", "", "also receive GENEVE (Gateway Load Balancer targets) on this HOST:PORT, e.g. :6081")
	f.IntVar(&c.Sockets, "sockets", 0, "SO_REUSEPORT sockets per address (0 = one per CPU; one on non-Linux kernels)")
	f.IntVar(&c.Shards, "shards", 0, "flow-table goroutines (0 = one per CPU)")
	f.IntVar(&o.cfg.IntervalSeconds, "interval", o.cfg.IntervalSeconds, "aggregation interval in seconds: 60 or 600")
	f.StringVar(&o.cfg.Sessions, "sessions", "", "YAML file mapping VNIs to source ENI metadata (see above)")
	f.StringVar(&o.cfg.Health, "health", "", "HOST:PORT for the NLB health check (GET /healthz; also /metrics and /debug/pprof)")
	f.StringVar(&o.cfg.Metrics, "metrics", "", "HOST:PORT serving Prometheus metrics at /metrics (the same server as --health, which may share its port)")
	f.StringVar(&o.output, "output", "text", "where records go: text or json (stdout, one per line), or kafka")
	f.StringVar(&o.format, "format", "", "record format (${field} …); default AWS's default format for text, all fields for json")
	f.IntVar(&c.MaxFlows, "max-flows", c.MaxFlows, "flows per shard per window; at the cap records are cut early and the window gets SKIPDATA records")
	f.IntVar(&c.ReceiveBuffer, "receive-buffer", c.ReceiveBuffer, "SO_RCVBUF per socket in bytes (a warning is logged when the kernel grants less)")
	f.IntVar(&c.ReadBatch, "read-batch", c.ReadBatch, "datagrams per recvmmsg call")
	f.StringSliceVar(&o.kafkaBrokers, "kafka-brokers", nil, "with --output kafka: Kafka brokers (host:port,…)")
	f.StringVar(&o.kafkaTopic, "kafka-topic", "", "with --output kafka: send every record to this topic (default: flowtap.vpc / flowtap.tgw by kind)")
	f.StringVar(&o.spillDir, "spill-dir", defaultSpillDir("collect"), "with --output kafka: where records wait while Kafka is unreachable (a directory per cluster under it)")
	addSupervisorFlags(cmd, &o.sup)
	validate("flowtap collect", func() error {
		if o.cfg.IntervalSeconds != 60 && o.cfg.IntervalSeconds != 600 {
			return fmt.Errorf("--interval %d: must be 60 or 600 seconds", o.cfg.IntervalSeconds)
		}
		if o.output != "text" && o.output != "json" && o.output != "kafka" {
			return fmt.Errorf("--output %q: must be text, json or kafka", o.output)
		}
		if o.output == "kafka" && len(o.kafkaBrokers) == 0 {
			return errors.New("--output kafka: --kafka-brokers is required")
		}
		return nil
	})
	return cmd
}

// recordWriter picks the output: a stdout writer, or a Kafka producer.
func (o *collectOptions) recordWriter(stdout io.Writer) (flowlog.RecordWriter, error) {
	var format *flowlog.Format
	if o.format != "" {
		f, err := flowlog.ParseFormat(o.format)
		if err != nil {
			return nil, fmt.Errorf("--format: %w", err)
		}
		if f.Kind() != flowlog.KindVPC {
			return nil, errors.New("--format: the collector writes VPC records; Transit Gateway fields do not apply")
		}
		format = f
	}
	switch o.output {
	case "text":
		if format == nil {
			format = flowlog.DefaultVPC
		}
		return ingest.NewTextWriter(stdout, format), nil
	case "json":
		return ingest.NewJSONWriter(stdout, format), nil
	case "kafka":
		if len(o.kafkaBrokers) == 0 {
			return nil, errors.New("--output kafka: --kafka-brokers is required")
		}
		// A receiver must not block on Kafka: records spill to disk after a short wait.
		w, err := kafka.StartOutput(kafka.OutputConfig{Brokers: o.kafkaBrokers, Topic: o.kafkaTopic, SpillDir: o.spillDir, Timeout: 5 * time.Second}, nil)
		if err != nil {
			return nil, fmt.Errorf("--output kafka: %w", err)
		}
		return w, nil
	}
	return nil, fmt.Errorf("--output %q: must be text, json or kafka", o.output)
}

func runCollect(ctx context.Context, stdout io.Writer, o *collectOptions) error {
	w, err := o.recordWriter(stdout)
	if err != nil {
		return err
	}
	if c, ok := w.(io.Closer); ok {
		defer c.Close() // after the collector has flushed its windows into it
	}
	return pipeline.RunCollect(ctx, o.cfg, o.sup, pipeline.Deps{}, w)
}
