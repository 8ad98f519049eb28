package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/procstat"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks/parquet"
)

var flowtapBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	flowtapBin = filepath.Join(dir, "flowtap")
	build := exec.Command("go", "build", "-o", flowtapBin, "github.com/flowtap/flowtap/cmd/flowtap")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: build flowtap:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mode sizes a run: short for `make test`, long with CHAOS_LONG=1.
type mode struct {
	rate    int // records per second of log time
	minutes int // windows generated
	kills   int // SIGKILLs per kill fault
}

func currentMode() mode {
	if os.Getenv("CHAOS_LONG") != "" {
		return mode{rate: 200, minutes: 10, kills: 6}
	}
	return mode{rate: 15, minutes: 3, kills: 2}
}

// proc is one flowtap process the suite can kill and restart.
type proc struct {
	t    *testing.T
	name string
	args []string
	log  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(flowtapBin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
}

// signal sends sig to the process and returns the channel closed once it is gone; nil
// when no process was started.
func (p *proc) signal(sig syscall.Signal) <-chan struct{} {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(sig)
	return done
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *proc) kill() {
	if done := p.signal(syscall.SIGKILL); done != nil {
		<-done
	}
}

// stop ends the process with SIGTERM (SIGKILL after 10 s).
func (p *proc) stop() {
	done := p.signal(syscall.SIGTERM)
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

func waitTCP(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %v", addr, within)
}

// lokiProxy sits between the sink and the log store: it can delay pushes and fail a share
// of them, as a slow or overloaded Loki does.
type lokiProxy struct {
	delay    atomic.Int64 // nanoseconds per push
	failEach atomic.Int64 // answer 503 to every n-th push (0: never)
	pushes   atomic.Int64
	failed   atomic.Int64
	srv      *http.Server
	addr     string
}

func startProxy(t *testing.T, target string) *lokiProxy {
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &lokiProxy{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/push") {
			n := p.pushes.Add(1)
			time.Sleep(time.Duration(p.delay.Load()))
			if k := p.failEach.Load(); k > 0 && n%k == 0 {
				p.failed.Add(1)
				io.Copy(io.Discard, r.Body)
				http.Error(w, "injected overload", http.StatusServiceUnavailable)
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(l)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// pipeline is one broker, log store (behind the proxy) and sink, each its own process.
type pipeline struct {
	t                      *testing.T
	dir                    string
	kafkaAddr, lokiAddr    string
	broker, logstore, sink *proc
	proxy                  *lokiProxy
	lake                   string
}

func startPipeline(t *testing.T, lake string) *pipeline {
	dir := t.TempDir()
	p := &pipeline{t: t, dir: dir, kafkaAddr: testenv.FreeTCP(t), lokiAddr: testenv.FreeTCP(t), lake: lake}
	if p.lake == "" {
		p.lake = filepath.Join(dir, "lake")
	}
	p.broker = &proc{t: t, name: "broker", log: filepath.Join(dir, "broker.log"),
		args: []string{"broker", "--listen", p.kafkaAddr, "--data", filepath.Join(dir, "kafka")}}
	p.logstore = &proc{t: t, name: "logstore", log: filepath.Join(dir, "logstore.log"),
		args: []string{"logstore", "--listen", p.lokiAddr, "--data", filepath.Join(dir, "logs")}}
	p.broker.start()
	p.logstore.start()
	waitTCP(t, p.kafkaAddr, 10*time.Second)
	waitTCP(t, p.lokiAddr, 10*time.Second)
	p.proxy = startProxy(t, p.lokiAddr)
	p.sink = &proc{t: t, name: "sink", log: filepath.Join(dir, "sink.log"),
		args: []string{"sink", "--kafka-brokers", p.kafkaAddr, "--parquet", p.lake, "--loki-url", "http://" + p.proxy.addr,
			"--state", filepath.Join(dir, "sink-state"), "--batch-age", "1s"}}
	p.sink.start()
	t.Cleanup(func() {
		p.sink.stop()
		p.logstore.stop()
		p.broker.stop()
		if t.Failed() {
			for _, pr := range []*proc{p.broker, p.logstore, p.sink} {
				b, _ := os.ReadFile(pr.log)
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("--- %s log (tail):\n%s", pr.name, b)
			}
		}
	})
	return p
}

// genArgs are the generator flags of a fault: recent log time (the log store refuses old
// samples, as Loki does), a seed per fault, so every fault has its own truth.
func genArgs(m mode, seed int, start time.Time) []string {
	return []string{"generate", "--start", start.Format(time.RFC3339), "--end", start.Add(time.Duration(m.minutes) * time.Minute).Format(time.RFC3339),
		"--rate", strconv.Itoa(m.rate), "--seed", strconv.Itoa(seed), "--header=false"}
}

// truth is what the generator writes with these flags: the records (default VPC format
// text, the projection the lake is compared on) and how often each occurs.
func truth(t *testing.T, args []string) map[string]int {
	out, err := exec.Command(flowtapBin, args...).Output()
	if err != nil {
		t.Fatalf("generate (truth): %v", err)
	}
	want := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r flowlog.Record
		if err := flowlog.DefaultVPC.Parse(&r, sc.Text()); err != nil {
			t.Fatalf("truth line %q: %v", sc.Text(), err)
		}
		want[recordKey(&r)]++
	}
	return want
}

// recordKey is a record's default-format text without the version field (the text writer
// says 2, the record read back from Parquet its own version).
func recordKey(r *flowlog.Record) string {
	_, rest, _ := strings.Cut(string(flowlog.DefaultVPC.AppendText(nil, r)), " ")
	return rest
}

// lakeRecords reads every Parquet object of the lake (staged files are hidden).
func lakeRecords(t *testing.T, lake string) map[string]int {
	got := map[string]int{}
	filepath.WalkDir(lake, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".parquet") || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		st, _ := f.Stat()
		recs, _, err := parquet.ReadRecords(f, st.Size())
		if err != nil {
			t.Errorf("lake object %s: %v", p, err)
			return nil
		}
		for i := range recs {
			got[recordKey(&recs[i])]++
		}
		return nil
	})
	return got
}

// logStoreCount asks the log store (directly, not through the proxy) how many flow log
// lines it holds.
func logStoreCount(addr string) (int, error) {
	q := url.Values{"query": {`sum(count_over_time({log_group="vpc-flow-logs"}[6h]))`}, "time": {strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}}
	resp, err := http.Get("http://" + addr + "/loki/api/v1/query?" + q.Encode())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if len(body.Data.Result) == 0 {
		return 0, nil
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	n, err := strconv.ParseFloat(s, 64)
	return int(n), err
}

// row is one line of the suite's table.
type row struct {
	fault                      string
	sent, lake, logs           int
	lost, dup, logLost, logDup int
	note                       string
}

var (
	tableMu sync.Mutex
	table   []row
)

func record(r row) {
	tableMu.Lock()
	table = append(table, r)
	tableMu.Unlock()
}

// settle waits until the lake and the log store hold every record, or stop changing.
func settle(t *testing.T, p *pipeline, want map[string]int, within time.Duration) (lake map[string]int, logs int) {
	total := 0
	for _, n := range want {
		total += n
	}
	deadline := time.Now().Add(within)
	lastChange, lastSum := time.Now(), -1
	for {
		lake = lakeRecords(t, p.lake)
		n, missing := 0, 0
		for _, c := range lake {
			n += c
		}
		for k, c := range want {
			if lake[k] < c {
				missing += c - lake[k]
			}
		}
		logs, _ = logStoreCount(p.lokiAddr)
		// Duplicates must not end the wait early: every record has to be there (the log store
		// keeps identical entries once).
		if missing == 0 && logs >= len(want) {
			time.Sleep(1500 * time.Millisecond) // let a duplicate land before counting
			lake = lakeRecords(t, p.lake)
			logs, _ = logStoreCount(p.lokiAddr)
			return lake, logs
		}
		if n+logs != lastSum {
			lastSum, lastChange = n+logs, time.Now()
		}
		if time.Now().After(deadline) || time.Since(lastChange) > within/2 {
			return lake, logs
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func compare(fault string, want, lake map[string]int, logs int, note string) row {
	r := row{fault: fault, logs: logs, note: note}
	for k, n := range want {
		r.sent += n
		if lake[k] < n {
			r.lost += n - lake[k]
		}
	}
	for k, n := range lake {
		r.lake += n
		if n > want[k] {
			r.dup += n - want[k]
		}
	}
	// The log store keeps one of identical entries (same stream, timestamp and line), as
	// Loki does, so it should hold each distinct record once.
	if distinct := len(want); logs < distinct {
		r.logLost = distinct - logs
	} else {
		r.logDup = logs - distinct
	}
	return r
}

// runFault runs one fault: a pipeline, a generator to it while inject does its harm, then
// the comparison.
func runFault(t *testing.T, fault string, seed int, lake string, inject func(p *pipeline, gen *proc)) {
	m := currentMode()
	start := time.Now().Add(-time.Duration(m.minutes+2) * time.Minute).Truncate(time.Minute)
	args := genArgs(m, seed, start)
	want := truth(t, args)
	p := startPipeline(t, lake)
	gen := &proc{t: t, name: "generate", log: filepath.Join(p.dir, "generate.log"),
		args: append(args, "--kafka-brokers", p.kafkaAddr, "--spill-dir", filepath.Join(p.dir, "spill"), "--kafka-timeout", "120s")}
	gen.start()
	inject(p, gen)
	<-gen.done
	if code := gen.cmd.ProcessState.ExitCode(); code != 0 {
		b, _ := os.ReadFile(gen.log)
		t.Fatalf("generate exited %d:\n%s", code, b)
	}
	lakeGot, logs := settle(t, p, want, 90*time.Second)
	r := compare(fault, want, lakeGot, logs, "")
	record(r)
	if r.lost+r.dup+r.logLost+r.logDup > 0 || r.sent == 0 {
		t.Errorf("%s: sent %d, lake %d (lost %d, duplicated %d), log store %d (lost %d, duplicated %d)",
			fault, r.sent, r.lake, r.lost, r.dup, r.logs, r.logLost, r.logDup)
	}
}

// waitGrowth waits until the record segments (*.dat) under dir grow (polling every few
// milliseconds), or within passes; it reports whether they grew.
func waitGrowth(dir string, within time.Duration) bool {
	size := func() (n int64) {
		filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(e.Name(), ".dat") {
				if fi, err := e.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
	base := size()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if size() > base {
			return true
		}
	}
	return false
}

// killAtRandom SIGKILLs pr n times at random moments within the first spread, restarting it
// after a short pause (its data directory is kept).
func killAtRandom(pr *proc, n int, spread, pause time.Duration, rng *rand.Rand) {
	for range n {
		time.Sleep(time.Duration(rng.Int64N(int64(spread))))
		pr.kill()
		time.Sleep(pause)
		pr.start()
	}
}

func TestChaos(t *testing.T) {
	m := currentMode()
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill moments from seed %d", seed)
	faults := []struct {
		name   string
		lake   func(t *testing.T) (string, bool)
		inject func(p *pipeline, gen *proc)
	}{
		{name: "none", inject: func(p *pipeline, gen *proc) {}},
		{name: "sigkill-sink", inject: func(p *pipeline, gen *proc) {
			killAtRandom(p.sink, m.kills, 1500*time.Millisecond, 200*time.Millisecond, rand.New(rand.NewPCG(seed, 1)))
		}},
		{name: "sigkill-logstore", inject: func(p *pipeline, gen *proc) {
			killAtRandom(p.logstore, m.kills, 1500*time.Millisecond, 300*time.Millisecond, rand.New(rand.NewPCG(seed, 2)))
		}},
		{name: "sigkill-broker", inject: func(p *pipeline, gen *proc) {
			killAtRandom(p.broker, m.kills, 800*time.Millisecond, 300*time.Millisecond, rand.New(rand.NewPCG(seed, 3)))
		}},
		{name: "sigkill-broker-producing", inject: func(p *pipeline, gen *proc) {
			// The moment the broker's log grows, produce calls are in flight: a kill then
			// leaves calls the broker stored but never answered, which the producer sends again.
			for range m.kills {
				if !waitGrowth(filepath.Join(p.dir, "kafka", "partitions"), 10*time.Second) {
					return
				}
				p.broker.kill()
				time.Sleep(300 * time.Millisecond)
				p.broker.start()
			}
		}},
		{name: "broker-outage", inject: func(p *pipeline, gen *proc) {
			p.broker.kill()
			time.Sleep(2500 * time.Millisecond)
			p.broker.start()
		}},
		{name: "loki-slow", inject: func(p *pipeline, gen *proc) {
			p.proxy.delay.Store(int64(300 * time.Millisecond))
			time.AfterFunc(8*time.Second, func() { p.proxy.delay.Store(0) })
		}},
		{name: "loki-failing", inject: func(p *pipeline, gen *proc) {
			p.proxy.failEach.Store(3)
			time.AfterFunc(8*time.Second, func() { p.proxy.failEach.Store(0) })
		}},
		{name: "disk-full", lake: tmpfsLake, inject: func(p *pipeline, gen *proc) {
			time.AfterFunc(6*time.Second, func() {
				if out, err := exec.Command("mount", "-o", "remount,size=256m", p.lake).CombinedOutput(); err != nil {
					p.t.Errorf("grow tmpfs: %v %s", err, out)
				}
			})
		}},
	}
	// The faults run in parallel: each mostly waits (restarts, backoff, rebalances).
	t.Run("faults", func(t *testing.T) {
		for i, f := range faults {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				lake := ""
				if f.lake != nil {
					var ok bool
					if lake, ok = f.lake(t); !ok {
						return
					}
				}
				runFault(t, f.name, 100+i, lake, f.inject)
			})
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "chaos (%d records/s × %d min per fault, %d kills)\n", m.rate, m.minutes, m.kills)
	fmt.Fprintf(&b, "%-24s %7s %7s %6s %5s %9s %6s %6s\n", "fault", "sent", "lake", "lost", "dup", "logstore", "lost", "dup")
	for _, r := range table {
		fmt.Fprintf(&b, "%-24s %7d %7d %6d %5d %9d %6d %6d\n", r.fault, r.sent, r.lake, r.lost, r.dup, r.logs, r.logLost, r.logDup)
	}
	t.Log("\n" + b.String())
	if f := os.Getenv("CHAOS_REPORT"); f != "" {
		os.WriteFile(f, []byte(b.String()), 0o640)
	}
}

// tmpfsLake mounts a 64 KiB tmpfs for the lake (it fills with the first objects); the
// fault grows it later. Without root or mount(8) the fault is skipped, saying why.
func tmpfsLake(t *testing.T) (string, bool) {
	if os.Geteuid() != 0 {
		t.Skip("disk-full: needs root to mount a size-limited tmpfs; skipped")
		return "", false
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("disk-full: mount tmpfs failed (%v %s); skipped", err, strings.TrimSpace(string(out)))
		return "", false
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir, true
}

// BenchmarkStreamFlood pushes 100 000 new streams (issue 16's stream flood) to `flowtap
// logstore` and to the log store of `flowtap up`, as one push and as 100 pushes of 1 000,
// and reports the process's peak RSS (VmHWM) and how long it takes to exit after SIGTERM
// (the bounds: 1 GB, 10 s).
//
//	go test -run '^$' -bench StreamFlood -benchtime 1x ./bench/chaos/
func BenchmarkStreamFlood(b *testing.B) {
	for _, command := range []string{"logstore", "up"} {
		for _, perPush := range []int{100_000, 1_000} {
			b.Run(fmt.Sprintf("%s/streams-per-push=%d", command, perPush), func(b *testing.B) {
				for range b.N {
					rss, stop, codes := flood(b, command, 100_000, perPush)
					b.ReportMetric(float64(rss)/(1<<20), "peakRSS-MiB")
					b.ReportMetric(stop.Seconds(), "shutdown-s")
					b.Logf("%s: push answers %v, peak RSS %d MiB, SIGTERM to exit %v", command, codes, rss>>20, stop.Round(10*time.Millisecond))
				}
			})
		}
	}
}

func flood(b *testing.B, command string, streams, perPush int) (rss int64, stop time.Duration, codes map[int]int) {
	dir, loki := b.TempDir(), testenv.FreeTCP(b)
	args := []string{"logstore", "--listen", loki, "--data", filepath.Join(dir, "logs")}
	if command == "up" {
		args = []string{"up", "--data", dir, "--logstore-listen", loki, "--broker-listen", testenv.FreeTCP(b),
			"--listen", testenv.FreeTCP(b), "--http", testenv.FreeTCP(b)}
	}
	cmd := exec.Command(flowtapBin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + loki + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: log store not ready", command)
		}
	}
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	codes = map[int]int{}
	for start := 0; start < streams; start += perPush {
		var body struct {
			Streams []stream `json:"streams"`
		}
		now := strconv.FormatInt(time.Now().UnixNano(), 10)
		for i := start; i < min(start+perPush, streams); i++ {
			body.Streams = append(body.Streams, stream{Stream: map[string]string{"job": "flood", "id": strconv.Itoa(i)},
				Values: [][2]string{{now, fmt.Sprintf("level=info msg=\"flood line\" n=%d", i)}}})
		}
		data, _ := json.Marshal(body)
		resp, err := http.Post("http://"+loki+"/loki/api/v1/push", "application/json", strings.NewReader(string(data)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	rss, err := procstat.PeakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return rss, procstat.Terminate(cmd), codes
}
