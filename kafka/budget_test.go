package kafka

import (
	"context"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := newBudget(10)
	if !b.take(ctx, 7, 0) || b.take(ctx, 4, 10*time.Millisecond) || b.tryTake(4) {
		t.Fatal("took more than the budget holds")
	}
	got := make(chan bool)
	go func() { got <- b.take(ctx, 4, 0) }()
	select {
	case <-got:
		t.Fatal("take did not wait for room")
	case <-time.After(20 * time.Millisecond):
	}
	b.give(1)
	if !<-got {
		t.Fatal("take did not get the records given back")
	}
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
