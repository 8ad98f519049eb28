package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/sinks"
)

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := newBudget(10)
	if !b.take(ctx, 7, 0) || b.take(ctx, 4, 10*time.Millisecond) || b.tryTake(4) {
		t.Fatal("took more than the budget holds")
	}
	got := make(chan bool)
	go func() { got <- b.take(ctx, 4, 0) }()
	needsOneMore(t, b, got, "take")
	if b.take(ctx, 1, time.Millisecond) {
		t.Fatal("budget should be empty")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if b.take(cctx, 1, 0) {
		t.Fatal("take on a canceled context succeeded")
	}
}

// A fetch larger than the whole budget waits until the budget is entirely free and then
// takes it all; the records come back as usual.
func TestBudgetLargerThanItself(t *testing.T) {
	ctx := context.Background()
	b := newBudget(10)
	if !b.take(ctx, 3, 0) || b.tryTake(25) {
		t.Fatal("took 25 records while 3 of 10 were held")
	}
	b.give(3)
	if !b.tryTake(25) || b.available() != 0 || b.tryTake(1) {
		t.Fatalf("after taking 25 of a free budget of 10: available %d", b.available())
	}
	b.give(25)
	if !b.tryTake(10) {
		t.Fatal("the budget did not come back whole")
	}
}

// A takeWhole waiting for room goes before every take, so that the partitions cutting
// their batches fill the budget up for it, and it ends once the budget holds all that its
// caller does not (a batch larger than the budget waits for nothing more).
func TestBudgetTakeWhole(t *testing.T) {
	ctx := context.Background()
	b := newBudget(10)
	if !b.take(ctx, 6, 0) {
		t.Fatal("take from a free budget failed")
	}
	got := make(chan bool)
	go func() { got <- b.takeWhole(ctx, 12, 2) }() // its caller holds 2 of the 6
	waitFor(t, 5*time.Second, "takeWhole to wait", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.waitingWhole
	})
	if b.tryTake(1) {
		t.Fatal("tryTake got records while a takeWhole waits")
	}
	b.give(3) // 7 free, 8 wanted (all the budget but the caller's 2)
	needsOneMore(t, b, got, "takeWhole")
	if b.available() != 0 || b.tryTake(1) {
		t.Fatalf("after takeWhole: %d available", b.available())
	}
	b.give(12)
	if !b.tryTake(8) {
		t.Fatal("records did not come back after takeWhole")
	}
	b.give(2)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if b.takeWhole(cctx, 5, 0) || !b.tryTake(2) || b.tryTake(1) {
		t.Fatal("a canceled takeWhole took records or left the budget blocked")
	}
}

// needsOneMore checks that the call reporting on got still waits 20 ms on, and that it
// succeeds once one more record is given back to b.
func needsOneMore(t *testing.T, b *budget, got <-chan bool, call string) {
	t.Helper()
	select {
	case <-got:
		t.Fatalf("%s ended before the budget had room for it", call)
	case <-time.After(20 * time.Millisecond):
	}
	b.give(1)
	if !<-got {
		t.Fatalf("%s did not get the records given back", call)
	}
}

// TestFetchBudgetSmallerThanAResponse runs a runner whose fetch budget is smaller than any
// response: the partitions' readers then fetch one at a time, and every record must still
// reach the lake once; when the runner has stopped, every byte taken was given back.
func TestFetchBudgetSmallerThanAResponse(t *testing.T) {
	seq := map[string]uint64{}
	b, total := brokerHolding(t, seq, 4, 1000, 64)

	cfg := testRunnerConfig(t, b.Addr(), t.TempDir())
	cfg.Group = "g-fetch-budget"
	cfg.MaxFetchedBytes = 1
	lake := t.TempDir()
	r, err := NewRunner(cfg, []sinks.Sink{&fileSink{dir: lake}}, component.Deps{Log: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	stop := runRunner(t, r)
	waitLake(t, lake, total, seq, 30*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := r.fetchBudget.available(); got != cfg.MaxFetchedBytes {
		t.Fatalf("after the run the fetch budget holds %d of %d bytes: fetched messages were not given back", got, cfg.MaxFetchedBytes)
	}
}
