package logstore

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/logstore/logql"
)

func pushStreams(t testing.TB, s *Store, tenant string, streams ...push.Stream) {
	t.Helper()
	if err := s.Push(context.Background(), tenant, streams); err != nil {
		t.Fatal(err)
	}
}

func entries(base int64, lines ...string) []push.Entry {
	out := make([]push.Entry, len(lines))
	for i, l := range lines {
		out[i] = push.Entry{Timestamp: time.Unix(0, base+int64(i)), Line: l}
	}
	return out
}

// Out-of-order entries and duplicates, spread over head, blocks and chunk files, come
// back sorted and de-duplicated, and survive a restart.
func TestOutOfOrderAndDuplicatesAcrossBlocksAndRestart(t *testing.T) {
	cfg := testConfig()
	cfg.BlockSize = 200 // a few lines per block
	cfg.ChunkTargetSize = 600
	cfg.DataDir = t.TempDir()
	ts := startStore(t, cfg)
	const lbl = `{app="x", env="prod"}`
	var want []logql.Entry
	// 200 entries pushed in a shuffled order, each batch also re-pushing the previous one.
	perm := make([]int, 200)
	for i := range perm {
		perm[i] = (i * 73) % 200
	}
	var prev []push.Entry
	for i := 0; i < 200; i += 10 {
		var batch []push.Entry
		for _, k := range perm[i : i+10] {
			batch = append(batch, push.Entry{Timestamp: time.Unix(1000, int64(k)*1000), Line: fmt.Sprintf("line %03d", k)})
		}
		pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: lbl, Entries: append(append([]push.Entry{}, prev...), batch...)})
		prev = batch
	}
	for k := 0; k < 200; k++ {
		want = append(want, logql.Entry{Timestamp: time.Unix(1000, int64(k)*1000).UnixNano(), Line: fmt.Sprintf("line %03d", k)})
	}
	got := selectAll(t, ts.Store, DefaultTenant, `{app="x"}`)
	key := `{app="x", env="prod"}`
	if entriesString(got[key]) != entriesString(want) {
		t.Fatalf("before restart:\n%s", entriesString(got[key]))
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "chunks", DefaultTenant, "*.chunk"))
	if len(files) < 2 {
		t.Fatalf("expected several chunk files with tiny chunks, got %d", len(files))
	}
	ts.stop()
	ts2 := startStore(t, cfg)
	got = selectAll(t, ts2.Store, DefaultTenant, `{env=~"pr.*"}`)
	if entriesString(got[key]) != entriesString(want) {
		t.Fatalf("after restart:\n%s", entriesString(got[key]))
	}
	// A clean stop flushed everything: the WAL holds no records.
	segs, _ := listSegments(filepath.Join(cfg.DataDir, "wal"))
	var walBytes int64
	for _, sg := range segs {
		st, _ := os.Stat(sg.path)
		walBytes += st.Size()
	}
	if walBytes != 0 {
		t.Fatalf("WAL holds %d bytes after a clean stop", walBytes)
	}
}

// copyDir snapshots a running store's directory: what a crash would leave on disk.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A crash (a copy of the directory taken while running) recovers every pushed line from
// WAL and chunk files, without duplicating lines that were both flushed and in the WAL;
// a torn record at the WAL tail is dropped.
func TestCrashRecoveryFromWAL(t *testing.T) {
	cfg := testConfig()
	cfg.BlockSize = 300
	cfg.ChunkTargetSize = 1000
	cfg.DataDir = t.TempDir()
	ts := startStore(t, cfg)
	var want []logql.Entry
	for i := 0; i < 300; i++ {
		line := fmt.Sprintf("entry %d %s", i, strings.Repeat("x", i%17))
		pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{job="a"}`, Entries: entries(int64(i)*10, line)})
		want = append(want, logql.Entry{Timestamp: int64(i) * 10, Line: line})
	}
	crash := t.TempDir()
	copyDir(t, cfg.DataDir, crash)
	if files, _ := filepath.Glob(filepath.Join(crash, "chunks", DefaultTenant, "*.chunk")); len(files) == 0 {
		t.Fatal("no chunk was flushed during the load; the test would not cover the replay skip")
	}
	// Append a torn record: a header that promises more bytes than were written.
	segs, _ := listSegments(filepath.Join(crash, "wal"))
	f, err := os.OpenFile(segs[len(segs)-1].path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9})
	f.Close()

	cfg2 := cfg
	cfg2.DataDir = crash
	ts2 := startStore(t, cfg2)
	got := selectAll(t, ts2.Store, DefaultTenant, `{job="a"}`)
	if entriesString(got[`{job="a"}`]) != entriesString(want) {
		t.Fatalf("recovered entries differ: got %d want %d", len(got[`{job="a"}`]), len(want))
	}
	if n := testutilCounter(ts2.m.walCorrupt); n != 1 {
		t.Fatalf("torn records counted: %v, want 1", n)
	}
}

// Retention deletes whole chunk files older than the cutoff, and the stream leaves the
// index once it has no data.
func TestRetentionDeletesOldChunks(t *testing.T) {
	cfg := testConfig()
	cfg.Retention = time.Hour
	ts := startStore(t, cfg)
	now := time.Now()
	pushStreams(t, ts.Store, DefaultTenant,
		push.Stream{Labels: `{age="old"}`, Entries: []push.Entry{{Timestamp: now.Add(-3 * time.Hour), Line: "old"}}},
		push.Stream{Labels: `{age="new"}`, Entries: []push.Entry{{Timestamp: now, Line: "new"}}})
	ts.FlushAll()
	// Streams stay indexed while active (pushed within chunk_idle_period).
	ts.tenant(DefaultTenant).deactivateIdle(now.Add(time.Hour), cfg.ChunkIdlePeriod)
	ts.applyRetention(now)
	got := selectAll(t, ts.Store, DefaultTenant, `{age=~".+"}`)
	if len(got) != 1 || len(got[`{age="new"}`]) != 1 {
		t.Fatalf("after retention: %v", got)
	}
	files, _ := filepath.Glob(filepath.Join(ts.cfg.DataDir, "chunks", DefaultTenant, "*.chunk"))
	if len(files) != 1 {
		t.Fatalf("chunk files after retention: %v", files)
	}
	if ts.tenant(DefaultTenant).streams[`{age="old"}`] != nil {
		t.Fatal("empty stream still indexed")
	}
}

// Run cuts chunks by age and then deletes the WAL segments they cover.
func TestRunFlushesByAgeAndTruncatesWAL(t *testing.T) {
	cfg := testConfig()
	cfg.MaxChunkAge = 40 * time.Millisecond
	cfg.WALSegmentSize = 64 // one record per segment
	ts := startStore(t, cfg)
	for i := 0; i < 5; i++ {
		pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{a="1"}`, Entries: entries(int64(i), fmt.Sprintf("line %d", i))})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(ts.cfg.DataDir, "chunks", DefaultTenant, "*.chunk"))
		segs, _ := listSegments(filepath.Join(ts.cfg.DataDir, "wal"))
		if len(files) > 0 && len(segs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %d chunk files, %d WAL segments", len(files), len(segs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := selectAll(t, ts.Store, DefaultTenant, `{a="1"}`); len(got[`{a="1"}`]) != 5 {
		t.Fatalf("got %v", got)
	}
}

// A protobuf push is logged as sent and a JSON or in-process push as decoded streams:
// after a crash both replay to what the store answered before it, with the same stream
// (labels as pushed in any order) taking the lines of both, duplicates dropped, and a
// stream pushed without entries not created.
func TestWALReplaysProtobufAndDecodedPushes(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	ts := startStore(t, cfg)
	ts0 := time.Unix(t0, 0)
	body := protoBody(t,
		push.Stream{Labels: `{job="a", x="1"}`, Entries: []push.Entry{{Timestamp: ts0.Add(2), Line: "b"}, {Timestamp: ts0.Add(2), Line: "b"}, {Timestamp: ts0, Line: "a"}}},
		push.Stream{Labels: `{job="c"}`},
		push.Stream{Labels: `{x="1",job="a"}`, Entries: []push.Entry{{Timestamp: ts0.Add(1), Line: "c"}, {Timestamp: ts0, Line: "a"}}},
	)
	if code, msg := do(t, "POST", ts.url+"/loki/api/v1/push", "", "application/x-protobuf", body); code != http.StatusNoContent {
		t.Fatalf("protobuf push: %d %s", code, msg)
	}
	js := fmt.Sprintf(`{"streams":[{"stream":{"job":"a","x":"1"},"values":[["%d","d"]]}]}`, ts0.Add(3).UnixNano())
	if code, msg := do(t, "POST", ts.url+"/loki/api/v1/push", "", "application/json", []byte(js)); code != http.StatusNoContent {
		t.Fatalf("JSON push: %d %s", code, msg)
	}
	pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{job="b"}`, Entries: []push.Entry{{Timestamp: ts0, Line: "e"}}})
	before := selectAll(t, ts.Store, DefaultTenant, `{job=~".+"}`)
	if len(before) != 2 || len(before[`{job="a", x="1"}`]) != 4 {
		t.Fatalf("before the crash: %v", before)
	}
	crash := t.TempDir()
	copyDir(t, cfg.DataDir, crash)
	asSent := 0
	if _, _, err := replayWAL(filepath.Join(crash, "wal"), func(_ uint64, p []byte) error {
		if p[0] == walBodyRecord {
			asSent++
		}
		return nil
	}); err != nil || asSent != 1 {
		t.Fatalf("WAL records of pushes as sent: %d (%v), want 1", asSent, err)
	}
	cfg2 := cfg
	cfg2.DataDir = crash
	ts2 := startStore(t, cfg2)
	after := selectAll(t, ts2.Store, DefaultTenant, `{job=~".+"}`)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("replayed\n%v\nanswered before the crash\n%v", after, before)
	}
	if n := len(ts2.tenant(DefaultTenant).all()); n != 2 {
		t.Fatalf("%d streams after replay, want 2", n)
	}
	if n := testutilCounter(ts2.m.walReplayed); n != 3 {
		t.Fatalf("replayed %v records, want 3", n)
	}
}
