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
