// Command loki compares flowtap's log store with Grafana Loki on the same data in the same
// run (DESIGN budget: logstore ingest ≥ 300 k lines/s on 2 cores; queries faster than
// Grafana Loki on the same data).
//
//	go run ./bench/loki [-lines 1000000] [-rounds 5] [-loki-bin PATH] [-cpuprofile /tmp/ft]
//
// It starts a single-binary Grafana Loki (filesystem storage, TSDB index, schema v13, auth
// off, raised rate limits, no results cache) and a flowtap logstore (this program again, in
// child mode, with logstore's default config) on free 127.0.0.1 ports, generates N VPC
// flow-log lines with flowlog/generate spread over the last few hours and labelled as
// sinks/loki labels them, and pushes the same snappy protobuf bodies (batches of 1000) to
// each in turn from a few concurrent clients. Once both count all N lines it runs the same
// LogQL queries on both, interleaved, for several rounds, and prints the median latency of
// each and the ratio flowtap/Loki (below 1: flowtap is faster). Every answer is checked
// against counts computed from the generated data, so a wrong answer from either server is
// reported, not timed silently. Server CPU seconds are read from /proc so that figures on a
// shared machine can be judged; compare ratios, not absolute times.
//
// # Compatibility corpus
//
//	go run ./bench/loki -compat [-rounds 3] [-record]
//
// With -compat the program instead pushes the small fixed data set of compatdata.go to
// both servers and runs the corpus of corpus.go (over 500 LogQL queries built from Loki's
// LogQL and HTTP API documentation) on each. It prints every query whose canonical
// answers differ (with the reason from differences.go when the difference is deliberate),
// the agreement, and the corpus's total time on each server over the rounds. With -record
// it writes Loki's answers to testdata/compat_golden.json, which TestCompatGolden checks
// flowtap against in `make test`, without Loki. Answers compare with times relative to the
// data set's base, so goldens recorded once stay valid.
//
// The same run then sends the metadata endpoints Grafana's Explore, Logs Drilldown and
// logcli call (endpoints.go: status/buildinfo, drilldown-limits, index/volume and
// volume_range by series, target labels and aggregateBy=labels, detected_labels,
// detected_fields, detected_field/NAME/values, patterns, format_query) to both servers, and
// opens live tails on both (tailcompat.go: websocket frames, delay_for, limit, start, new
// lines pushed after the socket opens). Answers compare as their JSON shape (keys and value
// types) and, where Loki's are deterministic, their values; the program prints every
// difference (with its reason from endpoint_differences.go), the agreement, and how long
// each tail took to deliver a new line. -record-endpoints (or -record) writes Loki's
// answers to testdata/endpoints_golden.json, which TestEndpointGolden checks flowtap
// against without Loki. -hold pushes the data and keeps both servers running, printing
// their URLs, to compare answers by hand.
//
// With -cpuprofile PATH the flowtap process writes PATH.ingest.pprof and PATH.query.pprof.
//
// Lines span two hours by default. With -hours 3, Loki's ingesters flush chunks whose data
// spans more than max_chunk_age (2h) right after the push, and lines of flushed chunks
// drop out of its answers until its index catches up: in one run 17 k of 1 M lines were
// still missing after 10 minutes (the program waits at most that long and says so).
//
// # Building Grafana Loki from the Go module proxy
//
// Loki's repository is a Go module but not go-installable as is (replace directives, a
// vendor directory, and pkg/push as a nested module). The binary used here was built so:
//
//	go mod download -json github.com/grafana/loki/v3@v3.5.0   # prints Dir in the module cache
//	cp -r $(go env GOMODCACHE)/github.com/grafana/loki/v3@v3.5.0 /tmp/lokisrc
//	chmod -R u+w /tmp/lokisrc && rm -rf /tmp/lokisrc/vendor
//	# pkg/push is its own module; Loki's go.mod replaces it with ./pkg/push, which the
//	# module zip leaves out: add it back from its own module, at the version go.mod requires.
//	go mod download -json github.com/grafana/loki/pkg/push@v0.0.0-20240924133635-758364c7775f
//	mkdir -p /tmp/lokisrc/pkg/push && cp -r <its Dir>/. /tmp/lokisrc/pkg/push/
//	chmod -R u+w /tmp/lokisrc/pkg/push
//	cd /tmp/lokisrc && GOFLAGS=-mod=mod go build -o /tmp/lokibin/loki ./cmd/loki
//
// The program looks for `loki` on PATH, then /tmp/lokibin/loki, unless -loki-bin is set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"time"
)

// options are the command line.
type options struct {
	lokiBin       string
	lines         int
	rounds        int
	clients       int
	batch         int
	hours         int
	step          time.Duration
	seed          uint64
	fsync         string
	chunkEncoding string
	cpuprofile    string
	keep          bool
	settle        time.Duration
	// compatibility mode
	compat bool
	record bool
	// recordEndpoints records only the endpoint goldens
	recordEndpoints bool
	hold            bool
	goldenDir       string
	answers         string
	// child mode
	serve string
	data  string
}

func main() {
	var o options
	flag.StringVar(&o.lokiBin, "loki-bin", "", "Grafana Loki binary (default: loki on PATH, else /tmp/lokibin/loki)")
	flag.IntVar(&o.lines, "lines", 1_000_000, "VPC flow-log lines pushed to each server")
	flag.IntVar(&o.rounds, "rounds", 5, "times each query runs on each server; the median is reported")
	flag.IntVar(&o.clients, "clients", 4, "concurrent push clients")
	flag.IntVar(&o.batch, "batch", 1000, "lines per push request")
	flag.IntVar(&o.hours, "hours", 2, "hours of log time the lines span, ending a few minutes ago (beyond Loki's max_chunk_age of 2h its ingesters flush the backfill while queries run, and some lines vanish from its answers for minutes)")
	flag.DurationVar(&o.step, "step", 10*time.Minute, "step of the range queries")
	flag.Uint64Var(&o.seed, "seed", 1, "generator seed")
	flag.StringVar(&o.fsync, "fsync", "always", "flowtap WAL fsync policy (always is its default; Loki's WAL does not fsync per push)")
	flag.StringVar(&o.chunkEncoding, "chunk-encoding", "zstd", "flowtap chunk encoding: zstd (its default) or s2")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "flowtap process CPU profiles: PATH.ingest.pprof and PATH.query.pprof")
	flag.DurationVar(&o.settle, "settle", 40*time.Second, "how long each server's count must stay complete before queries start (Loki flushes backfilled chunks every 30 s)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory with both servers' data and logs")
	flag.BoolVar(&o.compat, "compat", false, "run the LogQL compatibility corpus (corpus.go) on both servers instead of the load benchmark")
	flag.BoolVar(&o.record, "record", false, "with -compat: write Loki's answers to <golden-dir>/"+goldenFile)
	flag.BoolVar(&o.recordEndpoints, "record-endpoints", false, "with -compat: write only Loki's endpoint and tail answers to <golden-dir>/"+endpointGoldenFile)
	flag.BoolVar(&o.hold, "hold", false, "with -compat: push the data, print both servers' URLs and keep them running until interrupted (to compare by hand)")
	flag.StringVar(&o.goldenDir, "golden-dir", "bench/loki", "with -compat -record: the bench/loki directory")
	flag.StringVar(&o.answers, "answers", "", "with -compat: write both servers' canonical answers to DIR/loki.txt and DIR/flowtap.txt")
	flag.StringVar(&o.serve, "serve-logstore", "", "child mode: serve a flowtap logstore on this address (used by the benchmark itself)")
	flag.StringVar(&o.data, "data", "", "child mode: logstore data directory")
	flag.Parse()
	if o.serve != "" {
		if err := serveLogstore(o.serve, &o); err != nil {
			fmt.Fprintln(os.Stderr, "bench/loki: logstore:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.compat {
		if err := runCompat(ctx, &o); err != nil {
			fmt.Fprintln(os.Stderr, "bench/loki:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, &o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/loki:", err)
		os.Exit(1)
	}
}

// findLoki resolves -loki-bin.
func findLoki(flagValue string) (string, error) {
	if flagValue != "" {
		if _, err := os.Stat(flagValue); err != nil {
			return "", fmt.Errorf("-loki-bin %s: %w", flagValue, err)
		}
		return flagValue, nil
	}
	if p, err := exec.LookPath("loki"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/tmp/lokibin/loki"); err == nil {
		return "/tmp/lokibin/loki", nil
	}
	return "", errors.New("no Grafana Loki binary: not on PATH nor at /tmp/lokibin/loki; build it as the doc comment of bench/loki says and pass -loki-bin")
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func run(ctx context.Context, o *options) error {
	if o.lines <= 0 || o.rounds <= 0 || o.clients <= 0 || o.batch <= 0 || o.hours <= 0 || o.step < time.Second {
		return errors.New("-lines, -rounds, -clients, -batch, -hours must be positive and -step at least 1s")
	}
	bin, err := findLoki(o.lokiBin)
	if err != nil {
		return err
	}
	version, _ := exec.Command(bin, "-version").Output()
	fmt.Printf("flowtap logstore vs Grafana Loki (%s, %s)\n", bin, strings.TrimSpace(strings.SplitN(string(version), "\n", 2)[0]))
	fmt.Printf("load average at start: %s (2-core machine shared with other work: compare ratios)\n", loadavg())

	loki, ft, stop, err := startBoth(bin, "bench-loki-", o)
	if err != nil {
		return err
	}
	defer stop()

	genStart := time.Now()
	to := (time.Now().Unix() - 300) / 60 * 60
	ds, err := generateData(ctx, o.lines, to-int64(o.hours)*3600, to, o.batch, o.seed)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	n := len(ds.entries)
	fmt.Printf("data: %d VPC lines (%d duplicates left out) in %d streams over %s .. %s, %d push bodies of ≤ %d lines, %.1f MB snappy (generated in %v)\n",
		n, ds.dropped, len(ds.streams), unixTime(ds.minT).UTC().Format(time.TimeOnly), unixTime(ds.maxT).UTC().Format(time.TimeOnly),
		len(ds.bodies), o.batch, float64(ds.bodyBytes)/1e6, time.Since(genStart).Round(time.Millisecond))
	tr := newTruth(ds)

	for _, s := range []*server{ft, loki} {
		if err := s.waitReady(ctx, 3*time.Minute); err != nil {
			return err
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.clients}, Timeout: 10 * time.Minute}

	// Ingest, one server at a time so that they do not compete for the two cores.
	step := int64(o.step / time.Second)
	rangeStart := ds.minT / step * step
	rangeEnd := (ds.maxT/step + 1) * step
	ingests := map[string]ingestResult{}
	ready := map[string]time.Duration{}
	for _, s := range []*server{ft, loki} {
		if s == ft && o.cpuprofile != "" {
			s.signalProfile(true)
		}
		res, err := s.ingest(ctx, client, ds.bodies, o.clients)
		if s == ft && o.cpuprofile != "" {
			s.signalProfile(false)
		}
		if err != nil {
			return err
		}
		ingests[s.name] = res
		fmt.Printf("ingest %-8s %8.0f lines/s  (%v wall, %.1f server CPU-s, %.0f lines per CPU-s, %d retried pushes)\n",
			s.name, float64(n)/res.wall.Seconds(), res.wall.Round(time.Millisecond), res.cpu, float64(n)/res.cpu, res.retries)
		d, err := waitComplete(ctx, s, client, n, rangeEnd, o.hours+1, o.settle)
		if err != nil {
			return err
		}
		ready[s.name] = d
		fmt.Printf("        %-8s counts all %d lines %v after the last push (and still %v later)\n", s.name, n, d.Round(time.Millisecond), o.settle)
	}

	// Queries, interleaved per round so that load changes hit both alike.
	qs := queries()
	type stat struct {
		lat      map[string][]time.Duration
		cpu      map[string]float64
		mismatch map[string]string
		values   map[string]string
	}
	stats := make([]stat, len(qs))
	for i := range stats {
		stats[i] = stat{lat: map[string][]time.Duration{}, cpu: map[string]float64{}, mismatch: map[string]string{}, values: map[string]string{}}
	}
	if o.cpuprofile != "" {
		ft.signalProfile(true)
	}
	for round := 0; round < o.rounds; round++ {
		for qi := range qs {
			q := &qs[qi]
			path, params := q.request(rangeStart, rangeEnd, step)
			order := []*server{ft, loki}
			if round%2 == 1 {
				order = []*server{loki, ft}
			}
			for _, s := range order {
				c0 := s.cpuSeconds()
				body, lat, err := s.get(ctx, client, path, params)
				if err != nil {
					return fmt.Errorf("%s: %w", q.name, err)
				}
				st := &stats[qi]
				st.lat[s.name] = append(st.lat[s.name], lat)
				st.cpu[s.name] += s.cpuSeconds() - c0
				if round == 0 {
					r, err := decodeResult(body, q)
					if err != nil {
						st.mismatch[s.name] = err.Error()
						continue
					}
					start := rangeStart
					if q.instant {
						start = rangeEnd
					}
					st.mismatch[s.name] = tr.check(q, r, start, rangeEnd, step, 100)
					st.values[s.name] = summary(q, r)
				}
			}
		}
	}
	if o.cpuprofile != "" {
		ft.signalProfile(false)
	}

	fmt.Printf("\n%d lines, %d rounds, range queries over %s with step %v, instant queries at the end with [1h]\n",
		n, o.rounds, time.Duration(rangeEnd-rangeStart)*time.Second, o.step)
	fmt.Printf("%-38s %12s %12s %8s %10s %10s  %s\n", "query (median latency)", "flowtap", "loki", "ratio", "ft CPU-s", "loki CPU-s", "answers")
	fr, lr := ingests["flowtap"], ingests["loki"]
	fmt.Printf("%-38s %10.0f/s %10.0f/s %8.2f %10.1f %10.1f  lines/s (ratio: loki time / flowtap time)\n", "ingest",
		float64(n)/fr.wall.Seconds(), float64(n)/lr.wall.Seconds(), lr.wall.Seconds()/fr.wall.Seconds(), fr.cpu, lr.cpu)
	var problems []string
	for qi, q := range qs {
		st := stats[qi]
		f, l := median(st.lat["flowtap"]), median(st.lat["loki"])
		ans := "both match the data: " + st.values["flowtap"]
		for _, name := range []string{"flowtap", "loki"} {
			if m := st.mismatch[name]; m != "" {
				problems = append(problems, fmt.Sprintf("%s / %s: %s", q.name, name, m))
				ans = "MISMATCH (see below)"
			}
		}
		fmt.Printf("%-38s %12s %12s %8.2f %10.2f %10.2f  %s\n", q.name, fmtDur(f), fmtDur(l), f.Seconds()/l.Seconds(),
			st.cpu["flowtap"]/float64(o.rounds), st.cpu["loki"]/float64(o.rounds), ans)
	}
	fmt.Printf("query ratio = flowtap/Loki median latency (< 1: flowtap faster); CPU-s = server CPU per query\n")
	fmt.Printf("load average at end: %s\n", loadavg())
	if len(problems) > 0 {
		fmt.Println("\nanswers that differ from the generated data:")
		for _, p := range problems {
			fmt.Println("  " + p)
		}
	}
	if o.cpuprofile != "" {
		fmt.Printf("flowtap profiles: %[1]s.ingest.pprof %[1]s.query.pprof (go tool pprof -top %[1]s.query.pprof)\n", o.cpuprofile)
	}
	return nil
}

// request returns the API path and parameters of q over [start, end].
func (q *query) request(start, end, step int64) (string, url.Values) {
	v := url.Values{"query": {q.logql}}
	switch {
	case q.logs:
		v.Set("start", strconv.FormatInt(start, 10))
		v.Set("end", strconv.FormatInt(end, 10))
		v.Set("limit", "100")
		v.Set("direction", "backward")
		return "/loki/api/v1/query_range", v
	case q.instant:
		v.Set("time", strconv.FormatInt(end, 10))
		return "/loki/api/v1/query", v
	}
	v.Set("start", strconv.FormatInt(start, 10))
	v.Set("end", strconv.FormatInt(end, 10))
	v.Set("step", strconv.FormatInt(step, 10))
	return "/loki/api/v1/query_range", v
}

// waitComplete polls a count over everything until it has been n for settle. Loki
// flushes backfilled chunks whose data spans more than max_chunk_age, and lines of a
// chunk being flushed are invisible until the index that names it is shipped: a count can
// reach n and dip again, so one match is not enough.
func waitComplete(ctx context.Context, s *server, client *http.Client, n int, at int64, hours int, settle time.Duration) (time.Duration, error) {
	q := &query{logql: fmt.Sprintf(`sum(count_over_time({kind="vpc"}[%dh]))`, hours), instant: true}
	path, params := q.request(0, at, 0)
	start := time.Now()
	var complete time.Time // when the count became n, zero while it is not
	last, lastErr := -1.0, ""
	for {
		body, _, err := s.get(ctx, client, path, params)
		if err != nil && err.Error() != lastErr {
			lastErr = err.Error()
			fmt.Printf("        %-8s count: %v\n", s.name, err)
		}
		if err == nil {
			r, derr := decodeResult(body, q)
			if derr != nil {
				return 0, fmt.Errorf("%s: count: %w", s.name, derr)
			}
			v := r.samples[at][""]
			if v != last {
				last = v
				fmt.Printf("        %-8s counts %.0f lines after %v\n", s.name, v, time.Since(start).Round(time.Millisecond))
			}
			switch {
			case int(v) > n:
				return 0, fmt.Errorf("%s counts %v lines, more than the %d pushed", s.name, v, n)
			case int(v) < n:
				complete = time.Time{}
			case complete.IsZero():
				complete = time.Now()
			}
			if !complete.IsZero() && time.Since(complete) >= settle {
				return complete.Sub(start), nil
			}
		}
		if time.Since(start) > 10*time.Minute {
			return 0, fmt.Errorf("%s counts %v of %d lines after 10 minutes (last error: %v)", s.name, last, n, err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// summary is a short description of an answer for the table.
func summary(q *query, r *result) string {
	if q.logs {
		return fmt.Sprintf("%d lines", len(r.lines))
	}
	series := map[string]bool{}
	var total float64
	var maxV float64
	for _, m := range r.samples {
		for k, v := range m {
			series[k] = true
			total += v
			maxV = max(maxV, v)
		}
	}
	if q.instant && q.topk == 0 {
		return fmt.Sprintf("%.0f", total)
	}
	return fmt.Sprintf("%d steps, %d series, max %.0f", len(r.samples), len(series), maxV)
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
}
