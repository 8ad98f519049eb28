package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/testenv"
)

// TestLogstoreLimitFlags starts `flowtap logstore` with every per-tenant limit set by flag
// and pushes past each: the store must refuse with Loki's status and wording, so a flag
// that is parsed but not applied fails here.
func TestLogstoreLimitFlags(t *testing.T) {
	addr := testenv.FreeTCP(t)
	ctx, cancel := context.WithCancel(context.Background())
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetArgs([]string{"logstore", "--listen", addr, "--data", filepath.Join(t.TempDir(), "logs"), "--fsync", "never",
		"--max-streams-per-tenant", "2", "--max-label-name-length", "8", "--max-label-value-length", "9",
		"--max-label-names-per-series", "2", "--max-line-size", "20", "--reject-old-samples=true",
		"--reject-old-samples-max-age", "1h", "--creation-grace-period", "1m",
		"--ingestion-rate-mb", "0.0001", "--ingestion-burst-size-mb", "0.0001"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("logstore not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	now := time.Now()
	push := func(labels string, ts time.Time, line string) (int, string) {
		t.Helper()
		body := fmt.Sprintf(`{"streams":[{"stream":%s,"values":[["%d",%q]]}]}`, labels, ts.UnixNano(), line)
		resp, err := http.Post(base+"/loki/api/v1/push", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(msg)
	}
	for _, c := range []struct {
		labels string
		ts     time.Time
		line   string
		code   int
		want   string
	}{
		{`{"a":"1"}`, now, "ok", 204, ""},
		{`{"a":"1","b":"2","c":"3"}`, now, "x", 400, "has 3 label names; limit 2"},
		{`{"longername":"1"}`, now, "x", 400, "label name too long"},
		{`{"a":"0123456789"}`, now, "x", 400, "label value too long"},
		{`{"a":"1"}`, now, strings.Repeat("x", 21), 400, "Max entry size '20' bytes exceeded"},
		{`{"a":"1"}`, now.Add(-2 * time.Hour), "x", 400, "timestamp too old"},
		{`{"a":"1"}`, now.Add(5 * time.Minute), "x", 400, "timestamp too new"},
		{`{"a":"2"}`, now, "ok", 204, ""},
		{`{"a":"3"}`, now, "x", 429, "Maximum active stream limit exceeded"},
		{`{"a":"1"}`, now, strings.Repeat("y", 20), 204, ""},
	} {
		code, msg := push(c.labels, c.ts, c.line)
		if code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("push %s %q: %d %q, want %d containing %q", c.labels, c.line, code, msg, c.code, c.want)
		}
	}
	// the ingestion rate (0.0001 MiB/s, burst ~104 bytes): a few more 20-byte lines exhaust it
	refused := false
	for i := 0; i < 10 && !refused; i++ {
		code, msg := push(`{"a":"1"}`, now, strings.Repeat("z", 20))
		refused = code == 429 && strings.Contains(msg, "Ingestion rate limit exceeded")
	}
	if !refused {
		t.Error("--ingestion-rate-mb never refused a push")
	}
}
