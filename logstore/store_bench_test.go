package logstore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/logstore/logql"
)

// benchLines is the data set size of the query benchmarks: FLOWTAP_LOGSTORE_BENCH_LINES
// (e.g. 10000000), default 200000 so that `make bench` stays quick.
// FLOWTAP_LOGSTORE_BENCH_CODEC picks the chunk encoding of that store (zstd or s2).
func benchLines() int {
	if v, err := strconv.Atoi(os.Getenv("FLOWTAP_LOGSTORE_BENCH_LINES")); err == nil && v > 0 {
		return v
	}
	return 200_000
}

// vpcGen produces realistic default-format VPC flow log lines for a fleet of ENIs, one
// stream per (account, region, ENI) with labels as the CloudWatch stand-in uses them.
type vpcGen struct {
	rng     *rand.Rand
	streams []vpcStream
}

type vpcStream struct {
	labels  string
	account string
	eni     string
	subnet  int
}

func newVPCGen(seed uint64) *vpcGen {
	g := &vpcGen{rng: rand.New(rand.NewPCG(seed, 7))}
	accounts := []string{"123456789012", "210987654321", "555566667777", "111122223333"}
	regions := []string{"us-east-1", "eu-west-1"}
	for ai, acct := range accounts {
		for ri, region := range regions {
			for e := 0; e < 8; e++ {
				eni := fmt.Sprintf("eni-%08x%09x", ai*131+ri*17+e, e*977+ai)
				g.streams = append(g.streams, vpcStream{
					labels: fmt.Sprintf(`{account="%s", kind="vpc", log_group="/aws/vpc/flowlogs", log_stream="%s-all", region="%s"}`,
						acct, eni, region),
					account: acct, eni: eni, subnet: ai*16 + ri*8 + e,
				})
			}
		}
	}
	return g
}

var dports = []int{443, 80, 22, 53, 3306, 5432, 6379, 8080, 9092, 123}

// line renders one record at unix second sec for stream s.
func (g *vpcGen) line(dst []byte, s *vpcStream, sec int64) []byte {
	r := g.rng
	action, status := "ACCEPT", "OK"
	if r.IntN(10) == 0 {
		action = "REJECT"
	}
	proto, dport := 6, dports[r.IntN(len(dports))]
	if dport == 53 || dport == 123 {
		proto = 17
	}
	pkts := 1 + r.IntN(200)
	dst = fmt.Appendf(dst, "2 %s %s 10.%d.%d.%d 172.31.%d.%d %d %d %d %d %d %d %d %s %s",
		s.account, s.eni, s.subnet/8, s.subnet%8*32+r.IntN(32), 1+r.IntN(254), r.IntN(16), 1+r.IntN(254),
		32768+r.IntN(28000), dport, proto, pkts, pkts*(40+r.IntN(1400)), sec-60, sec, action, status)
	return dst
}

// batch returns n lines spread over the streams, at second sec and later, as push streams.
func (g *vpcGen) batch(n int, sec int64) []push.Stream {
	per := map[int]*push.Stream{}
	var order []int
	for i := 0; i < n; i++ {
		si := g.rng.IntN(len(g.streams))
		ps := per[si]
		if ps == nil {
			ps = &push.Stream{Labels: g.streams[si].labels}
			per[si] = ps
			order = append(order, si)
		}
		ts := time.Unix(sec, int64(i)*1000+int64(si))
		ps.Entries = append(ps.Entries, push.Entry{Timestamp: ts, Line: string(g.line(nil, &g.streams[si], sec))})
	}
	out := make([]push.Stream, 0, len(order))
	for _, si := range order {
		out = append(out, *per[si])
	}
	return out
}

// BenchmarkIngestHTTP pushes protobuf+snappy batches of 1000 VPC lines through the HTTP
// API from 4 concurrent clients, WAL fsync per push (group commit), and reports lines/s
// and the bytes per line on disk once everything is flushed.
func BenchmarkIngestHTTP(b *testing.B) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncNever} {
		b.Run("fsync="+string(policy), func(b *testing.B) {
			cfg := testConfig()
			cfg.Fsync = policy
			ts := startStore(b, cfg)
			g := newVPCGen(1)
			const perBatch = 1000
			nBodies := min(b.N, 400)
			bodies := make([][]byte, nBodies)
			for i := range bodies {
				bodies[i] = protoBody(b, g.batch(perBatch, t0+int64(i))...)
			}
			b.SetBytes(int64(len(bodies[0])))
			b.ResetTimer()
			start := time.Now()
			failed := postBodies(ts.url, bodies, b.N, 4)
			el := time.Since(start)
			b.StopTimer()
			if failed > 0 {
				b.Fatalf("%d pushes failed", failed)
			}
			b.ReportMetric(float64(b.N*perBatch)/el.Seconds(), "lines/s")
			ts.FlushAll()
			if b.N <= nBodies { // every line unique: bytes on disk are meaningful
				// Chunk files only: the WAL is transient (deleted once its records are in chunks).
				b.ReportMetric(float64(ts.diskBytes.Load())/float64(b.N*perBatch), "chunk-B/line")
				b.ReportMetric(float64(rawBytes(bodies[:b.N]))/float64(b.N*perBatch), "raw-B/line")
			}
		})
	}
}

var (
	queryStoreOnce sync.Once
	queryStore     *Store
	queryStoreURL  string
	queryEnd       int64
)

// loadQueryStore fills a store with benchLines() VPC lines spread over one hour, pushed
// in process in batches of 1000 and flushed to chunk files. It lives for the process.
func loadQueryStore(b *testing.B) {
	queryStoreOnce.Do(func() {
		n := benchLines()
		dir, err := os.MkdirTemp("", "logstore-bench-")
		if err != nil {
			b.Fatal(err)
		}
		cfg := testConfig()
		cfg.DataDir = dir
		cfg.Fsync = FsyncNever
		if c := os.Getenv("FLOWTAP_LOGSTORE_BENCH_CODEC"); c != "" {
			cfg.ChunkEncoding = c // zstd (default) or s2
		}
		cfg.MaxQuerySeries = 0 // the pattern query groups by a high-cardinality field
		s, err := New(cfg, component.Deps{})
		if err != nil {
			b.Fatal(err)
		}
		go s.Run(context.Background())
		<-s.Ready()
		g := newVPCGen(2)
		start := time.Now()
		batches := n / 1000
		for i := 0; i < batches; i++ {
			sec := t0 + int64(i)*3600/int64(batches)
			if err := s.Push(context.Background(), DefaultTenant, g.batch(1000, sec)); err != nil {
				b.Fatal(err)
			}
		}
		s.FlushAll()
		queryEnd = t0 + 3600
		b.Logf("loaded %d lines in %v; %.1f chunk bytes/line on disk (%s)", batches*1000, time.Since(start),
			float64(s.diskBytes.Load())/float64(batches*1000), dir)
		queryStore = s
		srv := &http.Server{Handler: s.Handler()}
		ln, err := netListen()
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(ln)
		queryStoreURL = "http://" + ln.Addr().String()
	})
}

// postBodies posts n pushes from workers concurrent clients, cycling through bodies
// (past the first round a body is all duplicates, as a client's retry is), and returns
// how many failed.
func postBodies(base string, bodies [][]byte, n, workers int) int64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * workers}}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				resp, err := client.Post(base+"/loki/api/v1/push", "application/x-protobuf", bytes.NewReader(bodies[i%int64(len(bodies))]))
				if err != nil || resp.StatusCode != http.StatusNoContent {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	return failed.Load()
}

// BenchmarkQuery times queries over benchLines() lines through the HTTP API.
func BenchmarkQuery(b *testing.B) {
	loadQueryStore(b)
	end := fmt.Sprint(queryEnd)
	cases := []struct {
		name, path string
		params     url.Values
	}{
		{"line_filter_logs", "/loki/api/v1/query_range", url.Values{"query": {`{kind="vpc"} |= "REJECT"`},
			"start": {fmt.Sprint(t0 - 60)}, "end": {end}, "limit": {"100"}}},
		{"line_filter_count", "/loki/api/v1/query", url.Values{"query": {`sum(count_over_time({kind="vpc"} |= "REJECT" [1h]))`}, "time": {end}}},
		{"topk_sum_by_count", "/loki/api/v1/query", url.Values{
			"query": {`topk(10, sum by (log_stream) (count_over_time({kind="vpc"} |= "REJECT" [1h])))`}, "time": {end}}},
		{"topk_rejected_sources_pattern", "/loki/api/v1/query", url.Values{
			"query": {`topk(10, sum by (srcaddr) (count_over_time({kind="vpc"} | pattern "<_> <_> <_> <srcaddr> <_> <_> <_> <_> <_> <_> <_> <_> <action> <_>" | action="REJECT" [1h])))`},
			"time":  {end}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			u := queryStoreURL + c.path + "?" + c.params.Encode()
			for i := 0; i < b.N; i++ {
				resp, err := http.Get(u)
				if err != nil {
					b.Fatal(err)
				}
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%d %s", resp.StatusCode, buf.String())
				}
			}
			b.ReportMetric(float64(benchLines()), "lines")
		})
	}
}

// BenchmarkSelect times the storage scan alone (decompress and iterate every line).
func BenchmarkSelect(b *testing.B) {
	loadQueryStore(b)
	ms, _ := logql.ParseMatchers(`{kind="vpc"}`)
	for i := 0; i < b.N; i++ {
		n := 0
		err := queryStore.Querier(DefaultTenant).Select(context.Background(), ms, 0, 1<<62, func(_ logql.Labels, it logql.EntryIterator) error {
			for it.Next() {
				n++
			}
			return it.Err()
		})
		if err != nil || n == 0 {
			b.Fatal(err, n)
		}
		b.ReportMetric(float64(n), "lines")
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// rawBytes sums the line bytes of protobuf push bodies.
func rawBytes(bodies [][]byte) int {
	n := 0
	for _, body := range bodies {
		streams, _ := DecodePush("application/x-protobuf", body, 1<<30)
		for _, s := range streams {
			for _, e := range s.Entries {
				n += len(e.Line)
			}
		}
	}
	return n
}
