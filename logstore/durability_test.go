package logstore

import (
	"bufio"
	"context"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/internal/component"
)

// TestMain doubles as the store process of the durability test: with
// FLOWTAP_LOGSTORE_CHILD_DIR set, the test binary serves a store on that directory and
// prints its address, until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("FLOWTAP_LOGSTORE_CHILD_DIR"); dir != "" {
		os.Exit(runChildStore(dir))
	}
	code := m.Run()
	if queryStore != nil {
		os.RemoveAll(queryStore.cfg.DataDir) // the benchmark data set
	}
	os.Exit(code)
}

func runChildStore(dir string) int {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.Listen = ""
	cfg.Fsync = FsyncPolicy(os.Getenv("FLOWTAP_LOGSTORE_CHILD_FSYNC"))
	if c := os.Getenv("FLOWTAP_LOGSTORE_CHILD_CODEC"); c != "" {
		cfg.ChunkEncoding = c
	}
	if os.Getenv("FLOWTAP_LOGSTORE_CHILD_SIZES") != "default" {
		cfg.BlockSize = 2048
		cfg.ChunkTargetSize = 8192 // chunk files are cut during the load
	}
	no := false
	cfg.RejectOldSamples = &no // the lines carry fixed 2023 timestamps
	cfg.IngestionRateMB = 0
	if v := os.Getenv("FLOWTAP_LOGSTORE_CHILD_STREAMS"); v != "" {
		fmt.Sscan(v, &cfg.MaxGlobalStreamsPerUser)
	}
	s, err := New(cfg, component.Deps{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// SIGTERM stops the store as `flowtap logstore` does: a clean shutdown, then exit.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if path := os.Getenv("FLOWTAP_LOGSTORE_CHILD_CPUPROFILE"); path != "" {
		// A CPU profile of the store until SIGTERM (BenchmarkIngestSink's load).
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			go func() {
				<-ctx.Done()
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	go func() {
		err := s.Run(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}()
	<-s.Ready()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	http.Serve(ln, s.Handler())
	return 0
}

// durableLine is line seq of writer w; it carries its own checksum so that a stored line
// can be recognised as complete.
func durableLine(w, seq int) string {
	body := fmt.Sprintf("w=%d seq=%d %s", w, seq, strings.Repeat("abcdefgh", 1+seq%9))
	return fmt.Sprintf("%s crc=%08x", body, crc32.ChecksumIEEE([]byte(body)))
}

// Kill the store process (SIGKILL) while several clients push; after a restart every
// acknowledged line is there exactly once, and every stored line is complete.
func TestDurabilitySIGKILLDuringLoad(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOWTAP_LOGSTORE_CHILD_DIR="+dir, "FLOWTAP_LOGSTORE_CHILD_FSYNC=interval")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				addrc <- a
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(30 * time.Second):
		t.Fatal("child store did not start")
	}
	url := "http://" + addr + "/loki/api/v1/push"

	const writers, batch, maxBatches = 4, 40, 400
	acked := make([][]int, writers) // per writer: acknowledged batch numbers
	var wg sync.WaitGroup
	var ackCount sync.WaitGroup
	ackCount.Add(1)
	var once sync.Once
	var total int
	var mu sync.Mutex
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < maxBatches; b++ {
				es := make([]push.Entry, batch)
				for i := range es {
					seq := b*batch + i
					// Timestamps interleave out of order between batches.
					es[i] = push.Entry{Timestamp: time.Unix(t0, int64((seq*7919)%100000)*1000+int64(w)), Line: durableLine(w, seq)}
				}
				body := protoBody(t, push.Stream{Labels: fmt.Sprintf(`{writer="%d"}`, w), Entries: es})
				resp, err := client.Post(url, "application/x-protobuf", strings.NewReader(string(body)))
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					return
				}
				mu.Lock()
				acked[w] = append(acked[w], b)
				total++
				if total == 150 {
					once.Do(ackCount.Done)
				}
				mu.Unlock()
			}
			once.Do(ackCount.Done)
		}(w)
	}
	ackCount.Wait() // kill mid-load, once a good part has been acknowledged
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	wg.Wait()
	mu.Lock()
	ackedLines := 0
	for _, bs := range acked {
		ackedLines += len(bs) * batch
	}
	mu.Unlock()
	if ackedLines < 150*batch {
		t.Fatalf("only %d lines acknowledged before the kill", ackedLines)
	}

	if files, _ := filepath.Glob(filepath.Join(dir, "chunks", DefaultTenant, "*.chunk")); len(files) == 0 {
		t.Fatal("no chunk file was cut during the load: replay over flushed chunks is not covered")
	}
	cfg := testConfig()
	cfg.DataDir = dir
	ts := startStore(t, cfg)
	got := selectAll(t, ts.Store, DefaultTenant, `{writer=~".+"}`)
	stored := 0
	for w := 0; w < writers; w++ {
		es := got[fmt.Sprintf(`{writer="%d"}`, w)]
		seen := map[int]bool{}
		for i, e := range es {
			if i > 0 && e.Timestamp < es[i-1].Timestamp {
				t.Fatalf("writer %d: entries not in time order at %d", w, i)
			}
			var ww, seq int
			if _, err := fmt.Sscanf(e.Line, "w=%d seq=%d", &ww, &seq); err != nil || ww != w || durableLine(w, seq) != e.Line {
				t.Fatalf("writer %d: half-written or foreign line %q", w, e.Line)
			}
			if seen[seq] {
				t.Fatalf("writer %d: line %d stored twice", w, seq)
			}
			seen[seq] = true
		}
		for _, b := range acked[w] {
			for i := 0; i < batch; i++ {
				if !seen[b*batch+i] {
					t.Fatalf("writer %d: acknowledged line %d lost", w, b*batch+i)
				}
			}
		}
		stored += len(es)
	}
	t.Logf("acknowledged %d lines, recovered %d (in flight at the kill: %d)", ackedLines, stored, stored-ackedLines)
	if stored < ackedLines {
		t.Fatalf("recovered %d < acknowledged %d", stored, ackedLines)
	}
}
