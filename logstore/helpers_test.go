package logstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/logstore/logql"
)

// testStore runs a Store on dir behind an httptest server until the test ends.
type testStore struct {
	*Store
	url  string
	stop func()
}

func startStore(t testing.TB, cfg Config) *testStore {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Listen = ""
	s, err := New(cfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	stopRun, err := component.Start(s, 20*time.Second)
	if err != nil {
		t.Fatalf("store did not start: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	ts := &testStore{Store: s, url: srv.URL}
	ts.stop = func() {
		srv.Close()
		if err := stopRun(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(ts.stop)
	return ts
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Retention = 0
	cfg.DataDir = "" // startStore uses a fresh temporary directory
	// The fixtures push fixed timestamps from 2023 and bursts far beyond 4 MB/s; the
	// limits have their own tests (limits_test.go).
	no := false
	cfg.RejectOldSamples = &no
	cfg.IngestionRateMB = 0
	return cfg
}

// protoBody encodes streams as loki-client-go does: protobuf, snappy block.
func protoBody(t testing.TB, streams ...push.Stream) []byte {
	t.Helper()
	req := push.PushRequest{Streams: streams}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func do(t testing.TB, method, u, tenant, ctype string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t testing.TB, base, path, tenant string, params url.Values) (int, string) {
	t.Helper()
	return do(t, "GET", base+path+"?"+params.Encode(), tenant, "", nil)
}

// mustJSON compares a response body with the expected JSON, ignoring formatting.
func mustJSON(t testing.TB, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("response mismatch\n got: %s\nwant: %s", gb, wb)
	}
}

// selectAll reads every entry of the tenant's streams matching selector.
func selectAll(t testing.TB, s *Store, tenant, selector string) map[string][]logql.Entry {
	t.Helper()
	ms, err := logql.ParseMatchers(selector)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]logql.Entry{}
	err = s.Querier(tenant).Select(context.Background(), ms, -1<<62, 1<<62, func(ls logql.Labels, it logql.EntryIterator) error {
		for it.Next() {
			out[ls.String()] = append(out[ls.String()], it.At())
		}
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func entriesString(es []logql.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%d %s\n", e.Timestamp, e.Line)
	}
	return b.String()
}
