// Package sinktest holds the checks that the tests of every sink writing to an object store
// make the same way, and the generated data the sink benchmarks share.
package sinktest

import (
	"context"
	"testing"

	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
)

// Redeliver writes b through s twice, as the runner does when it crashed after the first
// write but before committing the batch's offsets, and checks that the second write
// leaves the same objects in store: the same keys, none added. It returns the objects.
func Redeliver(t testing.TB, s sinks.Sink, store objstore.Store, b *sinks.Batch) []objstore.Object {
	t.Helper()
	ctx := context.Background()
	list := func() []objstore.Object {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		objs, err := store.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	first := list()
	second := list()
	if len(first) == 0 || len(first) != len(second) {
		t.Fatalf("%d objects, then %d after redelivery; want some, unchanged", len(first), len(second))
	}
	for i := range first {
		if first[i].Key != second[i].Key {
			t.Fatalf("redelivery wrote %s instead of %s", second[i].Key, first[i].Key)
		}
	}
	return second
}
