package generate

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
)

// liveRun runs a live generator on a fake clock starting at now until it has written
// windows windows, and returns the window starts of what it wrote and the clock after.
func liveRun(t *testing.T, state string, now time.Time, windows int) (starts []int64, end time.Time) {
	t.Helper()
	topo, err := topology.Build(topology.DefaultSpec(), 7)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Live, cfg.Rate, cfg.StateFile = true, 20, state
	var c collect
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := map[int64]bool{}
	w := windowWriter{c: &c, onWindow: func(start int64) {
		if !seen[start] {
			seen[start] = true
			starts = append(starts, start)
		}
		if len(starts) == windows {
			cancel()
		}
	}}
	g, err := New(cfg, topo, &w, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Now = func() time.Time { return now }
	g.Sleep = func(_ context.Context, d time.Duration) { now = now.Add(d) }
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return starts, now
}

// windowWriter reports the window of every record written.
type windowWriter struct {
	c        *collect
	onWindow func(start int64)
}

func (w *windowWriter) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	for i := range recs {
		w.onWindow(recs[i].Start - recs[i].Start%60)
	}
	return w.c.WriteRecords(ctx, recs)
}

// TestLiveResumesAfterLastWindow: a live generator restarted within the same minute goes on
// with the next window instead of writing its last one again; one restarted after a few
// minutes catches up on the windows that closed meanwhile, without gaps.
func TestLiveResumesAfterLastWindow(t *testing.T) {
	state := filepath.Join(t.TempDir(), "generator.state")
	start := time.Unix(t0+30, 0)
	first, now := liveRun(t, state, start, 3)
	if len(first) != 3 || first[1] != first[0]+60 || first[2] != first[1]+60 {
		t.Fatalf("first run wrote windows %v", first)
	}
	again, now := liveRun(t, state, now.Add(10*time.Second), 1)
	if again[0] != first[2]+60 {
		t.Fatalf("restart wrote window %d again (last written %d); want %d next", again[0], first[2], first[2]+60)
	}
	later, _ := liveRun(t, state, now.Add(5*time.Minute), 3)
	if later[0] != again[0]+60 || later[2] != later[0]+120 {
		t.Fatalf("after a 5-minute stop: windows %v, want them to follow %d without a gap", later, again[0])
	}
	if b, _ := os.ReadFile(state); len(b) == 0 {
		t.Fatal("no resume point kept")
	}
	os.WriteFile(state, []byte("garbage"), 0o640)
	cfg := DefaultConfig()
	cfg.Live, cfg.StateFile = true, state
	topo, _ := topology.Build(topology.DefaultSpec(), 7)
	g, _ := New(cfg, topo, &collect{}, nil)
	if err := g.Run(context.Background()); err == nil {
		t.Fatal("a corrupt resume point was accepted")
	}
}
