// Command pipeline measures the Kafka path as a user runs it, each part its own process:
// `flowtap generate --kafka-brokers` into `flowtap broker`, then `flowtap sink --parquet DIR
// --loki-url URL` into the embedded log store, with a raw consume of the same topic in the
// same run as the baseline (kcat when installed, else a kafka-go connection reader, both
// writing every message to a pipe that counts them). It prints, per process, records/s,
// CPU µs per record and peak RSS, the sink/raw ratio, the producer's ratio to the same
// generate writing text to a pipe (with the broker's CPU while it took the records), and
// checks that the lake and the log
// store hold exactly the generated records (Parquet object ranges per partition disjoint
// and covering every offset, row and line counts equal to the messages in Kafka).
//
//	go run ./bench/pipeline [-minutes 5] [-rate 0] [-batch-age 1m] [-keep] [-mirror-flows 20000 -mirror-loops 10 -mirror-pps 50000] [-only-mirror]
//
// Then the mirror path, on its own broker: `flowtap replay` of many one-packet flows at a
// fixed rate → `flowtap collect --output kafka` → Kafka → `flowtap sink --parquet`, counting
// packets at every hop (sent, received, summed over the records in Kafka and in the lake).
//
// The data is `generate --interval 60 --seed 7` over the last -minutes of log time (recent,
// so the log store's one-week old-sample limit does not refuse it). The log store runs with
// Loki's rate limits raised (as bench/loki does) so that they do not shape the figures. Rates
// on a shared machine move with other processes' load; CPU µs per record moves less.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parquet-go/parquet-go"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowtap/flowtap/bench/internal/child"
	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/kafka"
	"github.com/flowtap/flowtap/logstore"
	"github.com/flowtap/flowtap/sinks/loki"
	pqsink "github.com/flowtap/flowtap/sinks/parquet"
)

type options struct {
	minutes  int
	rate     float64
	batchAge time.Duration
	keep     bool
	dir      string
	timeout  time.Duration
	raw      string // "kcat", "kafka-go" or "" (kcat when installed)
	sinkBin  string
	kill     time.Duration
	profile  string // CPU profile of the sink, written here
	sinkArgs string // more flags for the sink
	mirror   mirrorOptions
	onlyMirr bool
}

func main() {
	var o options
	flag.IntVar(&o.minutes, "minutes", 5, "minutes of generated VPC flow logs (the issue's figures use 60)")
	flag.Float64Var(&o.rate, "rate", 0, "generate --rate (0: generate's default)")
	flag.DurationVar(&o.batchAge, "batch-age", time.Minute, "flowtap sink --batch-age (the default is 1m)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory")
	flag.StringVar(&o.dir, "dir", "", "working directory (default: a new temp directory)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on each phase")
	flag.StringVar(&o.raw, "raw", "", "raw consumer: kcat or kafka-go (default: kcat when installed)")
	flag.StringVar(&o.sinkBin, "sink-bin", "", "flowtap binary to run the sink with (default: the one built from this tree), e.g. an older build for a before/after figure")
	flag.DurationVar(&o.kill, "kill-after", 0, "SIGKILL the sink this long after it started, then start it again on the same state: the lake and log store must still hold every record once")
	flag.StringVar(&o.sinkArgs, "sink-args", "", "more flags for flowtap sink, space-separated (e.g. \"--memory-limit-mib 0\")")
	flag.StringVar(&o.profile, "sink-profile", "", "write a CPU profile of the sink (from its /debug/pprof, over its first 4 s) to this file, and its allocations to FILE.allocs")
	flag.IntVar(&o.mirror.flows, "mirror-flows", 20000, "mirror path: distinct one-packet flows in the replayed capture (0 skips the mirror path)")
	flag.IntVar(&o.mirror.loops, "mirror-loops", 10, "mirror path: loops of the capture, each with new flows")
	flag.Float64Var(&o.mirror.pps, "mirror-pps", 50000, "mirror path: replay rate, packets per second")
	flag.BoolVar(&o.onlyMirr, "only-mirror", false, "run the mirror path only")
	serveLS := flag.String("serve-logstore", "", "child mode: run the log store on this address with data in -dir")
	rawTopic := flag.String("raw-consume", "", "child mode: read every partition of this topic from -brokers to stdout")
	brokers := flag.String("brokers", "", "child mode: brokers of -raw-consume")
	flag.Parse()
	var err error
	switch {
	case *serveLS != "":
		err = serveLogstore(*serveLS, o.dir)
	case *rawTopic != "":
		err = rawConsume(*brokers, *rawTopic, os.Stdout)
	default:
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		err = run(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/pipeline:", err)
		os.Exit(1)
	}
}

// figure is what one process did.
type figure struct {
	name    string
	records int64
	wall    time.Duration
	cpu     time.Duration
	rssKB   int64
	// firstCommit is when the sink first committed a batch, after it started (its start-up
	// and consumer-group join are in its wall time).
	firstCommit time.Duration
}

func (f figure) rate() float64 { return float64(f.records) / f.wall.Seconds() }
func (f figure) usPerRecord() float64 {
	return float64(f.cpu.Microseconds()) / float64(max(f.records, 1))
}

func run(ctx context.Context, o options) error {
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "flowtap-pipeline-"); err != nil {
			return err
		}
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ft := filepath.Join(dir, "flowtap")
	fmt.Printf("building flowtap into %s\n", dir)
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", ft, "./cmd/flowtap").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/flowtap (run from the repository root): %v\n%s", err, out)
	}

	if o.onlyMirr {
		return runMirror(ctx, dir, ft, o.mirror)
	}
	brokerAddr, lsAddr, metricsAddr := freeAddr(), freeAddr(), freeAddr()
	if brokerAddr == "" || lsAddr == "" || metricsAddr == "" {
		return errors.New("no free port on 127.0.0.1")
	}
	broker, err := startChild(ctx, dir, "broker", ft, "broker", "--listen", brokerAddr, "--data", filepath.Join(dir, "kafka"))
	if err != nil {
		return err
	}
	defer broker.Stop(stopGrace)
	ls, err := startChild(ctx, dir, "logstore", self, "-serve-logstore", lsAddr, "-dir", filepath.Join(dir, "logs"))
	if err != nil {
		return err
	}
	defer ls.Stop(stopGrace)
	if err := waitHTTP(ctx, "http://"+lsAddr+"/ready", 30*time.Second); err != nil {
		return fmt.Errorf("log store: %w", err)
	}
	if err := waitTCP(ctx, brokerAddr, 30*time.Second); err != nil {
		return fmt.Errorf("broker: %w", err)
	}

	end := time.Now().UTC().Truncate(time.Minute)
	start := end.Add(-time.Duration(o.minutes) * time.Minute)
	args := []string{"generate", "--interval", "60", "--seed", "7", "--start", start.Format(time.RFC3339),
		"--end", end.Format(time.RFC3339)}
	if o.rate > 0 {
		args = append(args, "--rate", strconv.FormatFloat(o.rate, 'f', -1, 64))
	}
	fmt.Printf("generate: %d minutes of VPC flow logs from %s\n", o.minutes, start.Format(time.RFC3339))
	// The producer's baseline: the same records as text to a pipe that only counts them.
	var textLines int64
	countText := func(r io.Reader) error {
		buf := make([]byte, 1<<20)
		for {
			k, err := r.Read(buf)
			textLines += int64(bytes.Count(buf[:k], []byte{'\n'}))
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	genText, err := runToEnd(ctx, dir, "generate-text (stdout, baseline)", countText, ft, args...)
	if err != nil {
		return err
	}
	genText.records = textLines - 1 // the header line
	brokerCPU0, _ := procUsage(broker)
	gen, err := runToEnd(ctx, dir, "generate --kafka-brokers", nil, ft,
		append(args, "--kafka-brokers", brokerAddr, "--spill-dir", filepath.Join(dir, "spill"))...)
	if err != nil {
		return err
	}
	brokerCPU1, brokerRSS := procUsage(broker)
	offsets, err := highWatermarks(ctx, brokerAddr, kafka.TopicVPC)
	if err != nil {
		return err
	}
	total := messages(offsets)
	gen.records = total
	if total == 0 {
		return errors.New("generate produced nothing")
	}
	if total != genText.records {
		return fmt.Errorf("generate wrote %d records as text but Kafka holds %d", genText.records, total)
	}
	brokerFig := figure{name: "broker (during generate)", records: total, wall: gen.wall, cpu: brokerCPU1 - brokerCPU0, rssKB: brokerRSS}

	var distinct int64
	raw, err := rawBaseline(ctx, o, dir, self, brokerAddr, total, &distinct)
	if err != nil {
		return err
	}

	lsCPU0, _ := procUsage(ls)
	brokerCPU2, _ := procUsage(broker)
	sink, err := runSink(ctx, o, dir, ft, brokerAddr, lsAddr, metricsAddr, total)
	if err != nil {
		return err
	}
	lsCPU1, lsRSS := procUsage(ls)
	brokerCPU3, _ := procUsage(broker)
	// What the sink's peers used while it ran: they share the machine's cores with it.
	lsFig := figure{name: "log store (during sink)", records: total, wall: sink.wall, cpu: lsCPU1 - lsCPU0, rssKB: lsRSS}
	brokerSinkFig := figure{name: "broker (during sink)", records: total, wall: sink.wall, cpu: brokerCPU3 - brokerCPU2, rssKB: brokerRSS}

	fmt.Println()
	fmt.Printf("%-34s %10s %9s %12s %9s %12s %10s\n", "process", "records", "wall", "records/s", "CPU", "CPU µs/rec", "peak RSS")
	for _, f := range []figure{genText, gen, brokerFig, raw, sink, lsFig, brokerSinkFig} {
		fmt.Printf("%-34s %10d %8.2fs %12.0f %8.2fs %12.2f %8d MB\n", f.name, f.records, f.wall.Seconds(), f.rate(),
			f.cpu.Seconds(), f.usPerRecord(), f.rssKB>>10)
	}
	fmt.Printf("generate → Kafka / generate → stdout (same run): %.2f× records/s, %.2f× CPU per record; with the broker's CPU %.2f µs/record (budget: ≥ 700 k records/s)\n",
		gen.rate()/genText.rate(), gen.usPerRecord()/genText.usPerRecord(), gen.usPerRecord()+brokerFig.usPerRecord())
	fmt.Printf("sink / raw consume (same run): %.2f× records/s, %.2f× CPU per record (budget: ≥ 0.6× and ≥ 400 k records/s, ≤ 2.5 µs/record, ≤ 300 MB)\n",
		sink.rate()/raw.rate(), sink.usPerRecord()/raw.usPerRecord())
	fmt.Printf("sink's first commit %.2fs after it started\n", sink.firstCommit.Seconds())

	rows, err := checkLake(filepath.Join(dir, "lake"), offsets)
	if err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	lines, err := countLines(ctx, lsAddr, start, end)
	if err != nil {
		return fmt.Errorf("log store: %w", err)
	}
	fmt.Printf("in Kafka %d records; lake %d rows (object ranges disjoint and complete); log store %d lines of %d distinct entries\n",
		total, rows, lines, distinct)
	if rows != total || lines != distinct {
		return fmt.Errorf("records lost or duplicated: Kafka %d, lake %d; distinct entries %d, log store %d", total, rows, distinct, lines)
	}
	if o.mirror.flows > 0 {
		return runMirror(ctx, dir, ft, o.mirror)
	}
	return nil
}

// rawBaseline reads the whole topic once, every message to a pipe this process counts.
func rawBaseline(ctx context.Context, o options, dir, self, brokers string, total int64, distinct *int64) (figure, error) {
	tool := o.raw
	if tool == "" {
		tool = "kafka-go"
		if _, err := exec.LookPath("kcat"); err == nil {
			tool = "kcat"
		}
	}
	var name string
	var args []string
	switch tool {
	case "kcat":
		name = "kcat"
		args = []string{"-b", brokers, "-C", "-t", kafka.TopicVPC, "-o", "beginning", "-e", "-q", "-f", "%s\n"}
	case "kafka-go":
		name = self
		args = []string{"-raw-consume", kafka.TopicVPC, "-brokers", brokers}
	default:
		return figure{}, fmt.Errorf("-raw %q: want kcat or kafka-go", tool)
	}
	// The pipe is only counted and copied to a file here, so that the consumer runs at its
	// own speed; the copy is read again afterwards for the log store's expected count.
	copyPath := filepath.Join(dir, "raw-values.jsonl")
	cf, err := os.Create(copyPath)
	if err != nil {
		return figure{}, err
	}
	defer os.Remove(copyPath)
	defer cf.Close()
	var n int64
	count := func(r io.Reader) error {
		w := bufio.NewWriterSize(cf, 1<<20)
		buf := make([]byte, 1<<20)
		for {
			k, err := r.Read(buf)
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			w.Write(buf[:k])
			if err == io.EOF {
				return w.Flush()
			}
			if err != nil {
				return err
			}
		}
	}
	f, err := runToEnd(ctx, dir, "raw consume ("+tool+")", count, name, args...)
	if err != nil {
		return f, err
	}
	f.records = n
	if n != total {
		return f, fmt.Errorf("raw consume read %d messages, Kafka holds %d", n, total)
	}
	*distinct, err = distinctEntries(copyPath)
	return f, err
}

// distinctEntries counts the distinct log-store entries (stream labels, time, line) the
// sink makes of the JSON records in path: the log store, as Loki, keeps one of identical
// entries.
func distinctEntries(path string) (int64, error) {
	lk, err := loki.New(func() loki.Config { c := loki.DefaultConfig(); c.URL = "http://127.0.0.1:1"; return c }(), component.Deps{})
	if err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	entries := map[uint64]struct{}{}
	var rec flowlog.Record
	var text []byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := flowlog.ParseJSON(sc.Bytes(), &rec); err != nil {
			return 0, err
		}
		h := fnv.New64a()
		io.WriteString(h, lk.Labels(&rec))
		text = flowlog.DefaultVPC.AppendText(text[:0], &rec)
		text = strconv.AppendInt(append(text, '@'), loki.Timestamp(&rec).UnixNano(), 10)
		h.Write(text)
		entries[h.Sum64()] = struct{}{}
	}
	return int64(len(entries)), sc.Err()
}

// runSink runs flowtap sink until its metrics say every record was committed, then stops it.
// With -kill-after, the first sink is killed (SIGKILL) after that long and a second one
// finishes the work from the same state; the figures are then the second one's.
func runSink(ctx context.Context, o options, dir, ft, brokers, lsAddr, metricsAddr string, total int64) (figure, error) {
	if o.sinkBin != "" {
		ft = o.sinkBin
	}
	args := []string{"sink", "--kafka-brokers", brokers, "--parquet", filepath.Join(dir, "lake"),
		"--loki-url", "http://" + lsAddr, "--state", filepath.Join(dir, "sink-state"), "--metrics", metricsAddr,
		"--batch-age", o.batchAge.String()}
	args = append(args, strings.Fields(o.sinkArgs)...)
	f := figure{name: "flowtap sink --parquet --loki-url", records: total}
	if o.kill > 0 {
		c, err := startChild(ctx, dir, "sink-killed", ft, args...)
		if err != nil {
			return f, err
		}
		time.Sleep(o.kill)
		n, _ := scrape(ctx, "http://"+metricsAddr+"/metrics", "flowtap_consumer_records_total")
		c.Cmd.Process.Kill()
		<-c.Done
		fmt.Printf("sink killed (SIGKILL) after %v with %.0f of %d records committed; starting it again\n", o.kill, n, total)
		f.name = "flowtap sink (after SIGKILL)"
	}
	c, err := startChild(ctx, dir, "sink", ft, args...)
	if err != nil {
		return f, err
	}
	defer c.Stop(stopGrace)
	profiled := make(chan error, 1)
	if o.profile != "" {
		go func() { profiled <- fetchProfile(ctx, "http://"+metricsAddr, o.profile) }()
	} else {
		profiled <- nil
	}
	deadline := time.Now().Add(o.timeout)
	for {
		n, _ := scrape(ctx, "http://"+metricsAddr+"/metrics", "flowtap_consumer_records_total")
		if n > 0 && f.firstCommit == 0 {
			f.firstCommit = time.Since(c.Started)
		}
		if int64(n) >= total || (o.kill > 0 && committedAll(ctx, brokers, total)) {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil || c.Exited() {
			return f, fmt.Errorf("sink committed %.0f of %d records (see %s)", n, total, c.LogPath)
		}
		// A scrape costs the sink CPU (its process collector reads /proc): poll slowly until
		// the end is near, then often, so that the wall time stays exact.
		if int64(n) < total*9/10 && n > 0 {
			time.Sleep(100 * time.Millisecond)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	f.wall = time.Since(c.Started)
	f.cpu, f.rssKB = procUsage(c)
	if o.profile != "" {
		if err := fetchTo(ctx, "http://"+metricsAddr+"/debug/pprof/allocs", o.profile+".allocs"); err != nil {
			return f, err
		}
	}
	return f, <-profiled
}

// fetchTo writes the body of a GET of url to path.
func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fetchProfile writes a 4-second CPU profile of the process serving base's /debug/pprof,
// once its server answers.
func fetchProfile(ctx context.Context, base, path string) error {
	for i := 0; i < 250; i++ { // the server may not be up yet
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		resp.Body.Close()
		return fetchTo(ctx, base+"/debug/pprof/profile?seconds=4", path)
	}
	return errors.New("sink profile: the metrics server never answered")
}

// committedAll reports whether the sink's group committed the end of every partition (a
// restarted sink counts only what it committed itself).
func committedAll(ctx context.Context, brokers string, total int64) bool {
	ends, err := highWatermarks(ctx, brokers, kafka.TopicVPC)
	if err != nil {
		return false
	}
	client := &kafkago.Client{Addr: kafkago.TCP(brokers), Timeout: 5 * time.Second}
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	resp, err := client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: "flowtap-sink",
		Topics: map[string][]int{kafka.TopicVPC: parts}})
	if err != nil {
		return false
	}
	var sum int64
	for _, p := range resp.Topics[kafka.TopicVPC] {
		if p.CommittedOffset != ends[p.Partition] {
			return false
		}
		sum += p.CommittedOffset
	}
	return sum == total
}

// stopGrace is how long a stopped child has, after SIGTERM, to drain before it is killed.
const stopGrace = 20 * time.Second

// startChild starts bin with its output in a log file, named after name, in dir.
func startChild(ctx context.Context, dir, name, bin string, args ...string) (*child.Process, error) {
	c, err := child.Start(filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".log"), bin, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// runToEnd runs a process to its end; stdout goes to consume when given.
func runToEnd(ctx context.Context, dir, name string, consume func(io.Reader) error, bin string, args ...string) (figure, error) {
	f := figure{name: name}
	cmd := exec.CommandContext(ctx, bin, args...)
	logPath := filepath.Join(dir, strings.Fields(name)[0]+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return f, err
	}
	defer lf.Close()
	cmd.Stderr = lf
	var out io.ReadCloser
	if consume != nil {
		if out, err = cmd.StdoutPipe(); err != nil {
			return f, err
		}
	} else {
		cmd.Stdout = lf
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return f, fmt.Errorf("%s: %w", name, err)
	}
	var cerr error
	if consume != nil {
		cerr = consume(out)
	}
	err = cmd.Wait()
	f.wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		f.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		f.rssKB = ru.Maxrss
	}
	if err != nil {
		return f, fmt.Errorf("%s: %w (see %s)", name, err, logPath)
	}
	return f, cerr
}

// procUsage reads a live process's CPU time and peak RSS from /proc.
func procUsage(p *child.Process) (time.Duration, int64) {
	cpu, _ := p.CPUTime()
	rss, _ := p.PeakRSSKiB()
	return cpu, rss
}

// scrape sums the samples of one metric family in a Prometheus text exposition.
// scrapeClient bounds a scrape: whatever answers on the address must not hang the bench.
var scrapeClient = &http.Client{Timeout: 10 * time.Second}

func scrape(ctx context.Context, u, name string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		fs := strings.Fields(line)
		v, _ := strconv.ParseFloat(fs[len(fs)-1], 64)
		sum += v
	}
	return sum, sc.Err()
}

// messages is how many messages partitions ending at ends hold (each starts at offset 0).
func messages(ends map[int]int64) int64 {
	var n int64
	for _, end := range ends {
		n += end
	}
	return n
}

// highWatermarks returns the end offset of every partition of topic.
func highWatermarks(ctx context.Context, brokers, topic string) (map[int]int64, error) {
	conn, err := kafkago.DialContext(ctx, "tcp", brokers)
	if err != nil {
		return nil, err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for _, p := range parts {
		c, err := kafkago.DialLeader(ctx, "tcp", brokers, topic, p.ID)
		if err != nil {
			return nil, err
		}
		last, err := c.ReadLastOffset()
		c.Close()
		if err != nil {
			return nil, err
		}
		out[p.ID] = last
	}
	return out, nil
}

// rawConsume is the kafka-go baseline: every partition read to its end with the
// connection API, one value per line.
func rawConsume(brokers, topic string, out io.Writer) error {
	ctx := context.Background()
	ends, err := highWatermarks(ctx, brokers, topic)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	for p, end := range ends {
		conn, err := kafkago.DialLeader(ctx, "tcp", brokers, topic, p)
		if err != nil {
			return err
		}
		for off := int64(0); off < end; {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := conn.ReadBatchWith(kafkago.ReadBatchConfig{MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 500 * time.Millisecond})
			for {
				m, err := b.ReadMessage()
				if err != nil {
					break
				}
				w.Write(m.Value)
				w.WriteByte('\n')
				off = m.Offset + 1
			}
			if err := b.Close(); err != nil {
				conn.Close()
				return err
			}
		}
		conn.Close()
	}
	return w.Flush()
}

var sourceRe = regexp.MustCompile(`^([^/]+)/(\d+)/(\d+)-(\d+)/`)

// checkLake reads every Parquet object's row count and source range; the distinct ranges
// of each partition must be disjoint and cover [0, end).
func checkLake(dir string, ends map[int]int64) (int64, error) {
	var rows int64
	ranges := map[int]map[[2]int64]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, pqsink.Ext) {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rows += pf.NumRows()
		src, _ := pf.Lookup(pqsink.SourceKey)
		m := sourceRe.FindStringSubmatch(src)
		if m == nil || m[1] != kafka.TopicVPC {
			return fmt.Errorf("%s: source %q", path, src)
		}
		p, _ := strconv.Atoi(m[2])
		first, _ := strconv.ParseInt(m[3], 10, 64)
		last, _ := strconv.ParseInt(m[4], 10, 64)
		if ranges[p] == nil {
			ranges[p] = map[[2]int64]bool{}
		}
		ranges[p][[2]int64{first, last}] = true
		return nil
	})
	if err != nil {
		return rows, err
	}
	for p, end := range ends {
		var rs [][2]int64
		for r := range ranges[p] {
			rs = append(rs, r)
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
		next := int64(0)
		for _, r := range rs {
			if r[0] != next {
				return rows, fmt.Errorf("partition %d: batch [%d,%d] follows offset %d (overlap or gap)", p, r[0], r[1], next-1)
			}
			next = r[1] + 1
		}
		if next != end {
			return rows, fmt.Errorf("partition %d: batches end at %d, the partition at %d", p, next, end)
		}
	}
	return rows, nil
}

// countLines asks the log store how many VPC flow log lines it holds for [start, end).
func countLines(ctx context.Context, addr string, start, end time.Time) (int64, error) {
	span := end.Sub(start) + 10*time.Minute
	q := fmt.Sprintf(`sum(count_over_time({kind="vpc"}[%dm]))`, int(span.Minutes()))
	u := fmt.Sprintf("http://%s/loki/api/v1/query?query=%s&time=%d", addr, url.QueryEscape(q), end.Add(5*time.Minute).UnixNano())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: HTTP %d: %s", q, resp.StatusCode, body)
	}
	m := regexp.MustCompile(`"value":\[[0-9.]+,"(\d+)"\]`).FindSubmatch(body)
	if m == nil {
		return 0, fmt.Errorf("%s: no value in %s", q, body)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// serveLogstore is the child mode: the embedded log store on addr until SIGTERM, with
// Loki's rate limits raised (as bench/loki sets them for both servers).
func serveLogstore(addr, dir string) error {
	cfg := logstore.DefaultConfig()
	cfg.Listen, cfg.DataDir = addr, dir
	cfg.IngestionRateMB, cfg.IngestionBurstSizeMB = 4096, 8192
	s, err := logstore.New(cfg, component.Deps{})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return s.Run(ctx)
}

// freeAddr returns a 127.0.0.1 port free at the time of asking ("" if none).
// handedOut holds the ports freeAddr returned: the kernel may offer a port again once its
// probe listener closed, before the child it was meant for binds it.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

func freeAddr() string {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for range 100 {
		port, err := child.FreePort()
		if err != nil {
			return ""
		}
		if !handedOut[port] {
			handedOut[port] = true
			return fmt.Sprintf("127.0.0.1:%d", port)
		}
	}
	return ""
}

func waitTCP(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitHTTP(ctx context.Context, u string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
