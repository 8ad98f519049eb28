package logstore

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/internal/procstat"
)

// BenchmarkStreamFlood pushes pushes of many new streams (issue 16: two pushes of 700 000
// streams) to a store in a child process and reports the child's peak RSS (VmHWM) and how
// long SIGTERM takes to stop it. streams=5000 is Loki's default limit (the flood is refused
// with 429); limit=0 accepts every stream, the baseline (run with fewer streams: it holds
// them all). FLOOD_STREAMS overrides the stream count of a push.
//
//	go test -run '^$' -bench 'StreamFlood/limit=5000' -benchtime 1x ./logstore/
func BenchmarkStreamFlood(b *testing.B) {
	n := 700000
	if v := os.Getenv("FLOOD_STREAMS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, limit := range []int{5000, 0} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rss, stop, codes := floodChild(b, limit, n)
				b.ReportMetric(float64(rss)/(1<<20), "peakRSS-MiB")
				b.ReportMetric(stop.Seconds(), "shutdown-s")
				b.Logf("streams per push %d, limit %d: push answers %v, peak RSS %d MiB, shutdown %v", n, limit, codes, rss>>20, stop)
			}
		})
	}
}

// startChildStore runs the test binary as a store process (see runChildStore) on a new
// directory with env added, and returns it and its address once it serves.
func startChildStore(b *testing.B, env ...string) (*exec.Cmd, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(append(os.Environ(), "FLOWTAP_LOGSTORE_CHILD_DIR="+b.TempDir()), env...)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			return cmd, addr
		}
	}
	cmd.Process.Kill()
	b.Fatal("child store did not start")
	return nil, ""
}

func floodChild(b *testing.B, limit, n int) (rss int64, stop time.Duration, codes []int) {
	cmd, addr := startChildStore(b, "FLOWTAP_LOGSTORE_CHILD_FSYNC=always", fmt.Sprintf("FLOWTAP_LOGSTORE_CHILD_STREAMS=%d", limit))
	defer cmd.Process.Kill()
	for p := 0; p < 2; p++ {
		streams := make([]push.Stream, n)
		for i := range streams {
			streams[i] = push.Stream{Labels: fmt.Sprintf(`{job="flood", push="%d", id="%d"}`, p, i),
				Entries: []push.Entry{{Timestamp: time.Now(), Line: "level=info msg=\"flood line\" n=" + strconv.Itoa(i)}}}
		}
		body := protoBody(b, streams...)
		streams = nil
		resp, err := http.Post("http://"+addr+"/loki/api/v1/push", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	rss, err := procstat.PeakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return rss, procstat.Terminate(cmd), codes
}
