package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/internal/component"
)

// OutputConfig is how a command (generate, collect) sends its records to Kafka.
type OutputConfig struct {
	Brokers  []string
	SASL     SASL
	Topic    string        // every record kind to this topic when set
	SpillDir string        // the spill root (a directory per cluster is made under it)
	Timeout  time.Duration // how long Close waits for Kafka to take everything written
	// Block makes writers wait up to a minute for Kafka before records spill: a backfill
	// should wait for Kafka rather than fill the disk spill at generator speed.
	Block bool
}

// Output is a running producer of one command: it counts what was written by topic, and
// Close stops it after it has sent (or spilled) everything written, reporting what is left.
type Output struct {
	*Producer
	cfg    OutputConfig
	topics Topics
	log    *slog.Logger
	cancel context.CancelFunc
	errc   chan error

	mu      sync.Mutex
	written map[string]int64 // records accepted by the producer, by topic
}

// StartOutput starts a producer for cfg in the background.
func StartOutput(cfg OutputConfig, log *slog.Logger) (*Output, error) {
	if log == nil {
		log = slog.Default()
	}
	pc := DefaultProducerConfig()
	pc.Brokers, pc.SASL = cfg.Brokers, cfg.SASL
	if cfg.Topic != "" {
		pc.Topics.VPC, pc.Topics.TGW = cfg.Topic, cfg.Topic
	}
	pc.Spill.Dir = cfg.SpillDir
	if cfg.Block {
		pc.BlockTimeout = time.Minute
	}
	p, err := NewProducer(pc, component.Deps{Log: log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Output{Producer: p, cfg: cfg, topics: pc.Topics, log: log, cancel: cancel, errc: make(chan error, 1), written: map[string]int64{}}
	go func() { o.errc <- p.Run(ctx) }()
	return o, nil
}

// WriteRecords queues recs and counts them by topic for the report.
func (o *Output) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	if err := o.Producer.WriteRecords(ctx, recs); err != nil {
		return err
	}
	var tgw int64
	for i := range recs {
		if recs[i].Kind == flowlog.KindTGW {
			tgw++
		}
	}
	o.mu.Lock()
	o.written[o.topics.VPC] += int64(len(recs)) - tgw
	o.written[o.topics.TGW] += tgw
	o.mu.Unlock()
	return nil
}

// WriteVPN queues VPN events and counts them for the report.
func (o *Output) WriteVPN(ctx context.Context, kind, stream string, events [][]byte) error {
	if err := o.Producer.WriteVPN(ctx, kind, stream, events); err != nil {
		return err
	}
	o.mu.Lock()
	o.written[o.topics.VPN] += int64(len(events))
	o.mu.Unlock()
	return nil
}

// WriteVPNEvents sends generated VPN events to the VPN topic (see VPNEventWriter).
func (o *Output) WriteVPNEvents(ctx context.Context, events []generate.VPNEvent) error {
	return WriteVPNEvents(ctx, o, events)
}

// ErrUndelivered is returned by Close when records written were not all delivered.
var ErrUndelivered = errors.New("records not delivered to Kafka")

// Close waits up to the configured timeout for Kafka to take everything written, stops the
// producer (what it still holds goes to the disk spill) and logs a failure. It fails with
// ErrUndelivered when records remain in the spill or were dropped or dead-lettered.
func (o *Output) Close() error {
	err := o.CloseReport(nil)
	if err != nil {
		o.log.Warn("kafka producer stopped", "err", err)
	}
	return err
}

// CloseReport is Close that also writes a human summary of what was sent where to w
// (when not nil).
func (o *Output) CloseReport(w io.Writer) error {
	o.mu.Lock()
	var total int64
	for _, n := range o.written {
		total += n
	}
	o.mu.Unlock()
	deadline := time.Now().Add(o.cfg.Timeout)
	for time.Now().Before(deadline) {
		st := o.Stats()
		if r, _ := o.SpillDepth(); r == 0 && st.Produced+st.DeadLettered+st.Dropped >= total {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.cancel()
	err := <-o.errc
	st := o.Stats()
	waiting, _ := o.SpillDepth()
	if w != nil {
		o.summary(w, total, st)
	}
	var problems []string
	if waiting > 0 {
		problems = append(problems, fmt.Sprintf("%d wait in the spill %s for the next run to these brokers", waiting, o.SpillDir()))
	}
	if st.DeadLettered > 0 {
		problems = append(problems, fmt.Sprintf("%d can never be produced (e.g. their topic does not exist) and were moved to %s", st.DeadLettered, o.DeadLetterDir()))
	}
	if st.Dropped > 0 {
		problems = append(problems, fmt.Sprintf("%d were dropped (spill full or failing)", st.Dropped))
	}
	if len(problems) > 0 {
		uerr := fmt.Errorf("%w within %v: %s", ErrUndelivered, o.cfg.Timeout, strings.Join(problems, "; "))
		return errors.Join(err, uerr)
	}
	return err
}

// summary writes "kafka BROKERS: N records written (n to topic, …); M delivered".
func (o *Output) summary(w io.Writer, total int64, st Stats) {
	var parts []string
	o.mu.Lock()
	for _, t := range slices.Sorted(maps.Keys(o.written)) {
		if o.written[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", o.written[t], t))
		}
	}
	o.mu.Unlock()
	fmt.Fprintf(w, "kafka %s: %d records written (%s); %d delivered", strings.Join(o.cfg.Brokers, ","), total, strings.Join(parts, ", "), st.Produced)
	if st.Produced > total {
		fmt.Fprintf(w, " (%d of them left in the spill by an earlier run)", st.Produced-total)
	}
	fmt.Fprintln(w)
}
