package logstore

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/internal/procstat"
)

// sinkGen produces pushes shaped like flowtap's Loki sink sends them in the pipeline
// benchmark: ~8 000 lines per push over 140 ENI streams (log_stream per ENI), entry times
// at whole seconds (a record's start), mostly equal to or after the stream's previous
// entry and now and then a second or two before it.
type sinkGen struct {
	vpc  *vpcGen
	secs []int64 // each stream's current second
}

func newSinkGen(seed uint64) *sinkGen {
	g := &sinkGen{vpc: newVPCGen(seed)}
	// 140 streams as in `flowtap generate`'s default topology.
	base := g.vpc.streams
	g.vpc.streams = nil
	for i := 0; i < 140; i++ {
		s := base[i%len(base)]
		s.eni = fmt.Sprintf("eni-%017x", 0x70f5310fcf88cf6+uint64(i)*7919)
		s.labels = fmt.Sprintf(`{account="%s", kind="vpc", log_group="/aws/vpc/flowlogs", log_stream="%s-all", region="us-east-1"}`, s.account, s.eni)
		g.vpc.streams = append(g.vpc.streams, s)
		g.secs = append(g.secs, t0)
	}
	return g
}

// push returns n lines spread over the streams as one push.
func (g *sinkGen) push(n int) []push.Stream {
	r := g.vpc.rng
	per := make([]*push.Stream, len(g.vpc.streams))
	var order []int
	for i := 0; i < n; i++ {
		si := r.IntN(len(g.vpc.streams))
		ps := per[si]
		if ps == nil {
			ps = &push.Stream{Labels: g.vpc.streams[si].labels}
			per[si] = ps
			order = append(order, si)
		}
		sec := g.secs[si]
		switch x := r.IntN(8); {
		case x == 0:
			g.secs[si]++
			sec = g.secs[si]
		case x == 1:
			sec -= 1 + int64(r.IntN(2))
		}
		ps.Entries = append(ps.Entries, push.Entry{Timestamp: time.Unix(sec, 0), Line: string(g.vpc.line(nil, &g.vpc.streams[si], sec))})
	}
	out := make([]push.Stream, 0, len(order))
	for _, si := range order {
		out = append(out, *per[si])
	}
	return out
}

// BenchmarkIngestSink pushes what the pipeline benchmark's sink pushes (see sinkGen) from
// 2 concurrent clients to a store in a child process (as the pipeline benchmark runs it)
// with the default config (fsync per push, default block and chunk sizes) and reports
// the child's CPU per line and lines/s. Below about 100 pushes no stream fills a head
// block (256 KiB), so nothing is compressed: use 200x. FLOWTAP_LOGSTORE_BENCH_CODEC picks
// the chunk encoding (zstd or s2).
//
//	go test -run '^$' -bench IngestSink -benchtime 200x ./logstore/
func BenchmarkIngestSink(b *testing.B) {
	cmd, addr := startChildStore(b, "FLOWTAP_LOGSTORE_CHILD_FSYNC=always", "FLOWTAP_LOGSTORE_CHILD_SIZES=default",
		"FLOWTAP_LOGSTORE_CHILD_CODEC="+os.Getenv("FLOWTAP_LOGSTORE_BENCH_CODEC"))
	defer procstat.Terminate(cmd)
	g := newSinkGen(1)
	const perPush = 8000
	bodies := make([][]byte, min(b.N, 400))
	for i := range bodies {
		bodies[i] = protoBody(b, g.push(perPush)...)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), childCPU(b, cmd.Process.Pid)
	failed := postBodies("http://"+addr, bodies, b.N, 2)
	el, cpu := time.Since(start), childCPU(b, cmd.Process.Pid)-cpu0
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d pushes failed", failed)
	}
	lines := float64(b.N * perPush)
	b.ReportMetric(float64(cpu.Nanoseconds())/lines, "cpu-ns/line")
	b.ReportMetric(lines/el.Seconds(), "lines/s")
}

// childCPU is the user and system CPU time of process pid (Linux, 100 ticks a second).
func childCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is field 3, utime 14.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
