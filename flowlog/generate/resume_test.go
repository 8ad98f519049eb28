package generate

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
	g, err := New(cfg, topo, &w, nil, component.Deps{})
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
	g, _ := New(cfg, topo, &collect{}, nil, component.Deps{})
	if err := g.Run(context.Background()); err == nil {
		t.Fatal("a corrupt resume point was accepted")
	}
}

// TestRecordsCounter: the generator's records counter, in the registry of its Deps, says
// how many records its writer took.
func TestRecordsCounter(t *testing.T) {
	topo, err := topology.Build(topology.DefaultSpec(), 7)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Start, cfg.End, cfg.Rate = time.Unix(t0, 0), time.Unix(t0+5*60, 0), 50
	reg := prometheus.NewRegistry()
	var c collect
	g, err := New(cfg, topo, &c, nil, component.Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := testutil.GatherAndCount(reg, "flowtap_generator_records_total")
	if err != nil || got != 1 {
		t.Fatalf("counter families %d, %v", got, err)
	}
	if v := testutil.ToFloat64(g.written); len(c.recs) == 0 || v != float64(len(c.recs)) {
		t.Fatalf("counter says %v records, the writer took %d", v, len(c.recs))
	}
	if _, err := New(cfg, topo, &c, nil, component.Deps{Registry: reg}); err == nil {
		t.Fatal("a second generator registered the same counter in one registry")
	}
}
