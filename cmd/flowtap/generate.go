package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks/text"
)

type generateOptions struct {
	kind, format, trafficType, start, end, topology, out, layout, prefix string
	interval                                                             int64
	live, header, printTopology                                          bool
	rate                                                                 float64
	seed                                                                 uint64
	spec                                                                 topology.Spec
	kafkaBrokers                                                         []string
	kafkaTopic, spillDir                                                 string
	kafkaTimeout                                                         time.Duration
	kafkaSASL                                                            kafka.SASL
}

func newGenerateCmd() *cobra.Command {
	o := generateOptions{spec: topology.DefaultSpec()}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate realistic VPC, Transit Gateway and VPN logs",
		Long: `generate writes synthetic AWS logs that look like the real ones: VPC and Transit Gateway
flow logs from a traffic model over a network topology (both directions on every ENI, NAT
gateway legs, TGW attachments with the same 5-tuples and counters, REJECTed scans, NODATA for
idle ENIs), Site-to-Site VPN tunnel and BGP logs, and Client VPN connection logs.

Modes:
  backfill  --start 2024-05-01T00:00:00Z --end 2024-05-02T00:00:00Z   as fast as possible
  live      --live --rate 5000                                       each window as it closes
--rate is the mean number of flow log records per second of log time (a diurnal curve moves
it between 0.4x and 1.6x). The same --seed, topology and flags give byte-identical output.

Topology: --topology FILE (YAML; see --print-topology for the schema filled in), or built from
--accounts --vpcs --subnets --enis --regions --vpn-connections --client-vpn-endpoints.

Output: stdout by default (text with a header line for flow logs, JSON lines for VPN logs);
--out DIR writes flow logs as AWS delivers them to S3 (gzip text, header line, one file per
account, region and 5-minute bucket of end times, --layout plain|hourly|hive|hive-hourly) and
VPN logs as DIR/{tunnel,bgp,client}/{stream}.log; --kafka-brokers sends records to Kafka.`,
		Example: `  flowtap generate --start 2024-05-01T00:00:00Z --end 2024-05-01T01:00:00Z | head
  flowtap generate --kind tgw --start 2024-05-01T00:00:00Z --end 2024-05-01T06:00:00Z --out ./logs --layout hive
  flowtap generate --format '${version} ${vpc-id} ${srcaddr} ${dstaddr} ${tcp-flags} ${flow-direction} ${traffic-path}' --live --rate 200
  flowtap generate --kind vpn-s2s --start 2024-05-01T00:00:00Z --end 2024-05-03T00:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGenerate(cmd.Context(), cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.kind, "kind", "vpc", "log to generate: vpc, tgw, vpn-s2s or vpn-client")
	f.StringVar(&o.format, "format", "", "flow log format (${field} …); default AWS's default format of the kind")
	f.Int64Var(&o.interval, "interval", 60, "aggregation interval in seconds: 60 or 600 (VPC); TGW is fixed at 60")
	f.StringVar(&o.trafficType, "traffic-type", "ALL", "VPC records to keep: ACCEPT, REJECT or ALL")
	f.StringVar(&o.start, "start", "", "backfill start, RFC 3339 (e.g. 2024-05-01T00:00:00Z)")
	f.StringVar(&o.end, "end", "", "backfill end, RFC 3339")
	f.BoolVar(&o.live, "live", false, "generate in real time: each window is written once it has closed")
	f.Float64Var(&o.rate, "rate", 1000, "mean flow log records per second of log time")
	f.Uint64Var(&o.seed, "seed", 1, "random seed; the same seed gives the same output")
	f.StringVar(&o.topology, "topology", "", "topology YAML file (default: built from the counts below)")
	f.BoolVar(&o.printTopology, "print-topology", false, "print the completed topology as YAML and exit")
	f.IntVar(&o.spec.Accounts, "accounts", o.spec.Accounts, "accounts (without --topology)")
	f.IntVar(&o.spec.VPCs, "vpcs", o.spec.VPCs, "VPCs per account (without --topology)")
	f.IntVar(&o.spec.Subnets, "subnets", o.spec.Subnets, "subnets per VPC (without --topology)")
	f.IntVar(&o.spec.ENIs, "enis", o.spec.ENIs, "instance ENIs per subnet (without --topology)")
	f.StringSliceVar(&o.spec.Regions, "regions", o.spec.Regions, "regions to spread VPCs over (without --topology)")
	f.IntVar(&o.spec.VPNs, "vpn-connections", o.spec.VPNs, "Site-to-Site VPN connections (without --topology)")
	f.IntVar(&o.spec.ClientVPNs, "client-vpn-endpoints", o.spec.ClientVPNs, "Client VPN endpoints (without --topology)")
	f.BoolVar(&o.spec.TransitGW, "transit-gateway", o.spec.TransitGW, "attach VPCs to a transit gateway per region (without --topology)")
	f.StringVar(&o.out, "out", "-", "output: - for stdout, or a directory for AWS's S3 file layout")
	f.StringVar(&o.layout, "layout", "plain", "S3 key layout with --out DIR: plain, hourly, hive or hive-hourly")
	f.StringVar(&o.prefix, "prefix", "", "folder in front of AWSLogs/ with --out DIR")
	f.BoolVar(&o.header, "header", true, "stdout: start flow logs with the header line, as in AWS's S3 files")
	f.StringSliceVar(&o.kafkaBrokers, "kafka-brokers", nil, "send flow records to these Kafka brokers (host:port,…)")
	f.StringVar(&o.kafkaTopic, "kafka-topic", "", "Kafka topic with --kafka-brokers (default: flowtap.vpc / flowtap.tgw by kind)")
	f.StringVar(&o.spillDir, "spill-dir", defaultSpillDir("generate"), "with --kafka-brokers: where records wait while Kafka is unreachable (a directory per cluster under it; the next run to those brokers sends them first)")
	f.StringVar(&o.kafkaSASL.Mechanism, "kafka-sasl-mechanism", "", "authenticate to Kafka with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (password: $FLOWTAP_KAFKA_PASSWORD)")
	f.StringVar(&o.kafkaSASL.Username, "kafka-user", "", "SASL user name with --kafka-sasl-mechanism")
	f.DurationVar(&o.kafkaTimeout, "kafka-timeout", time.Minute, "with --kafka-brokers: how long to wait at the end for Kafka to take every record; generate fails if some are still undelivered then")
	return cmd
}

func runGenerate(ctx context.Context, cmd *cobra.Command, o *generateOptions) error {
	kind, err := generate.ParseKind(o.kind)
	if err != nil {
		return err
	}
	var topo *topology.Topology
	if o.topology != "" {
		topo, err = topology.Load(o.topology, o.seed)
	} else {
		topo, err = topology.Build(o.spec, o.seed)
	}
	if err != nil {
		return err
	}
	stdout := cmd.OutOrStdout()
	if o.printTopology {
		b, err := topo.Marshal()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	if kind == generate.KindTGW && cmd.Flags().Changed("interval") && o.interval != 60 {
		return fmt.Errorf("--interval %d: Transit Gateway flow logs are fixed at 60 s", o.interval)
	}
	cfg := generate.Config{Kind: kind, Interval: o.interval, TrafficType: o.trafficType, Live: o.live,
		Rate: o.rate, Seed: o.seed}
	if !o.live {
		if o.start == "" || o.end == "" {
			return errors.New("give --start and --end (RFC 3339) for a backfill, or --live")
		}
		if cfg.Start, err = time.Parse(time.RFC3339, o.start); err != nil {
			return fmt.Errorf("--start: %w", err)
		}
		if cfg.End, err = time.Parse(time.RFC3339, o.end); err != nil {
			return fmt.Errorf("--end: %w", err)
		}
	} else if o.start != "" || o.end != "" {
		return errors.New("--live runs from now on: drop --start/--end")
	}
	var format *flowlog.Format
	switch {
	case kind == generate.KindVPNS2S || kind == generate.KindVPNClient:
		if o.format != "" {
			return fmt.Errorf("--format applies to flow logs, not %s", kind)
		}
	case o.format != "":
		if format, err = flowlog.ParseFormat(o.format); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		if err := generate.CheckFormat(format, kind); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	case kind == generate.KindTGW:
		format = flowlog.DefaultTGW
	default:
		format = flowlog.DefaultVPC
	}

	var (
		rw      flowlog.RecordWriter
		vw      generate.VPNWriter
		finish  func() error
		flushes []func() error
	)
	switch {
	case len(o.kafkaBrokers) > 0:
		// A backfill waits for Kafka (Block) rather than fill the disk spill at generator speed.
		out, err := kafka.StartOutput(kafka.OutputConfig{Brokers: o.kafkaBrokers, SASL: o.kafkaSASL, Topic: o.kafkaTopic,
			SpillDir: o.spillDir, Timeout: o.kafkaTimeout, Block: true}, nil)
		if err != nil {
			return fmt.Errorf("--kafka-brokers: %w", err)
		}
		finish = func() error { return out.CloseReport(cmd.ErrOrStderr()) }
		if format == nil { // VPN events go to the VPN topic as AWS's JSON
			vw = out
		} else {
			rw = out
		}
	case o.out == "-" || o.out == "":
		bw := bufio.NewWriterSize(stdout, 1<<20)
		flushes = append(flushes, bw.Flush)
		if format != nil {
			rw = generate.NewTextWriter(bw, format, o.header)
		} else {
			vw = generate.NewJSONLines(bw)
		}
		if o.live {
			rw, vw = flushingWriters(rw, vw, bw)
		}
	default:
		if format == nil {
			sf := generate.NewStreamFiles(o.out)
			vw, finish = sf, sf.Close
			break
		}
		style, err := lake.ParseStyle(o.layout)
		if err != nil {
			return fmt.Errorf("--layout: %w", err)
		}
		store, err := objstore.NewDir(o.out)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		rc := text.DefaultRotatorConfig()
		rc.Layout, rc.Prefix = style, o.prefix
		if kind == generate.KindTGW {
			rc.TGWFormat = format
		} else {
			rc.VPCFormat = format
		}
		rot, err := text.NewRotator(rc, store)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		rw, finish = rot, func() error { return rot.Close(context.WithoutCancel(ctx)) }
	}

	g, err := generate.New(cfg, topo, rw, vw, component.Deps{})
	if err != nil {
		return err
	}
	var bar *progressBar
	if !o.live && term.IsTerminal(int(os.Stderr.Fd())) {
		bar = &progressBar{w: os.Stderr, began: time.Now()}
		g.OnProgress = bar.update
	}
	runErr := g.Run(ctx)
	if bar != nil {
		bar.done(g.Records())
	}
	for _, fl := range flushes {
		if err := fl(); err != nil && runErr == nil {
			runErr = fmt.Errorf("generate: write: %w", err)
		}
	}
	if finish != nil {
		if err := finish(); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// flushingWriters flush stdout after every batch in live mode, so records show up as their
// windows close rather than when a buffer fills.
func flushingWriters(rw flowlog.RecordWriter, vw generate.VPNWriter, bw *bufio.Writer) (flowlog.RecordWriter, generate.VPNWriter) {
	f := flushAfter{rw, vw, bw}
	if rw != nil {
		rw = f
	}
	if vw != nil {
		vw = f
	}
	return rw, vw
}

// flushAfter writes to rw or vw and then flushes bw.
type flushAfter struct {
	rw flowlog.RecordWriter
	vw generate.VPNWriter
	bw *bufio.Writer
}

func (f flushAfter) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	return f.flush(f.rw.WriteRecords(ctx, recs))
}

func (f flushAfter) WriteVPNEvents(ctx context.Context, evs []generate.VPNEvent) error {
	return f.flush(f.vw.WriteVPNEvents(ctx, evs))
}

func (f flushAfter) flush(writeErr error) error {
	if writeErr != nil {
		return writeErr
	}
	return f.bw.Flush()
}

// progressBar draws records, rate and ETA on a terminal, at most a few times a second.
type progressBar struct {
	w     io.Writer
	began time.Time
	last  time.Time
}

func (p *progressBar) update(records int64, done float64) {
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	el := now.Sub(p.began).Seconds()
	rate := float64(records) / max(el, 1e-3)
	eta := "?"
	if done > 0 {
		eta = (time.Duration(el*(1-done)/done) * time.Second / time.Second).Truncate(time.Second).String()
	}
	const width = 30
	n := int(done * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	fmt.Fprintf(p.w, "\r[%s] %5.1f%%  %s records  %s/s  ETA %s   ", bar, done*100, human(float64(records)), human(rate), eta)
}

func (p *progressBar) done(records int64) {
	el := time.Since(p.began).Seconds()
	fmt.Fprintf(p.w, "\r%s records in %.1fs (%s/s)%s\n", human(float64(records)), el, human(float64(records)/max(el, 1e-3)), strings.Repeat(" ", 40))
}

func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
