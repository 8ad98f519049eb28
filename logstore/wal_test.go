package logstore

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/grafana/loki/pkg/push"
)

// A WAL write that fails half-way (disk full) must not leave its partial record in front
// of the records acknowledged after it: after a crash every acknowledged line replays.
// Once the partial record is cut off (truncate works, as it does on ENOSPC), and once the
// segment is sealed instead (truncate fails too, as on EIO).
func TestWALFailedWriteKeepsLaterRecords(t *testing.T) {
	for _, truncateFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("truncateFails=%v", truncateFails), func(t *testing.T) {
			cfg := testConfig()
			cfg.DataDir = t.TempDir()
			ts := startStore(t, cfg)
			acked := map[string]bool{}
			pushOne := func(i int) error {
				line := fmt.Sprintf("line %d %s", i, strings.Repeat("z", 40))
				err := ts.Push(t.Context(), DefaultTenant, []push.Stream{{Labels: `{job="wal"}`, Entries: entries(int64(i), line)}})
				if err == nil {
					acked[line] = true
				}
				return err
			}
			for i := 0; i < 10; i++ {
				if err := pushOne(i); err != nil {
					t.Fatal(err)
				}
			}
			w := ts.wal
			w.mu.Lock()
			failures := 2 // two failed pushes in a row, as a full disk gives
			w.write = func(f *os.File, b []byte) (int, error) {
				if failures > 0 {
					failures--
					n, _ := f.Write(b[:len(b)/2])
					return n, syscall.ENOSPC
				}
				return f.Write(b)
			}
			if truncateFails {
				w.truncate = func(*os.File, int64) error { return syscall.EIO }
			}
			w.mu.Unlock()
			for i := 10; i < 12; i++ {
				err := pushOne(i)
				var se *Error
				if !errors.As(err, &se) || se.Code != http.StatusInternalServerError || !strings.Contains(se.Msg, "no space left on device") {
					t.Fatalf("push during the full disk: %v, want a 500 naming ENOSPC", err)
				}
			}
			for i := 12; i < 40; i++ {
				if err := pushOne(i); err != nil {
					t.Fatalf("push after space came back: %v", err)
				}
			}
			crash := t.TempDir()
			copyDir(t, cfg.DataDir, crash) // what a SIGKILL now would leave on disk
			cfg2 := cfg
			cfg2.DataDir = crash
			ts2 := startStore(t, cfg2)
			got := selectAll(t, ts2.Store, DefaultTenant, `{job="wal"}`)[`{job="wal"}`]
			seen := map[string]bool{}
			for _, e := range got {
				seen[e.Line] = true
			}
			for l := range acked {
				if !seen[l] {
					t.Fatalf("acknowledged %q lost after the failed write and a crash (%d of %d replayed)", l, len(got), len(acked))
				}
			}
			if len(got) != len(acked) {
				t.Fatalf("replayed %d lines, acknowledged %d: a refused push was stored", len(got), len(acked))
			}
			if segs, _ := listSegments(filepath.Join(crash, "wal")); truncateFails && len(segs) < 2 {
				t.Fatalf("damaged segment not sealed: %d segments", len(segs))
			}
		})
	}
}
