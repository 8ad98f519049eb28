package logstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/logstore/logql"
)

// TestMergeRuns checks mergeRuns against a plain sort on random sorted runs ordered by
// first timestamp, with edge overlaps, full overlaps, empty runs and duplicates.
func TestMergeRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var scratch []logql.Entry
	for iter := 0; iter < 2000; iter++ {
		nRuns := 1 + rng.IntN(6)
		type run []logql.Entry
		runs := make([]run, nRuns)
		for r := range runs {
			n := rng.IntN(40)
			base := int64(r*20 + rng.IntN(30))
			for i := 0; i < n; i++ {
				ts := base + int64(rng.IntN(25))
				runs[r] = append(runs[r], logql.Entry{Timestamp: ts, Line: fmt.Sprint("l", rng.IntN(4))})
			}
			slices.SortFunc(runs[r], compareEntries)
		}
		slices.SortStableFunc(runs, func(a, b run) int {
			if len(a) == 0 || len(b) == 0 {
				return 0
			}
			return compareEntries(a[0], b[0])
		})
		var es []logql.Entry
		var bounds []int
		for _, r := range runs {
			bounds = append(bounds, len(es))
			es = append(es, r...)
		}
		bounds = append(bounds, len(es))
		want := slices.Clone(es)
		slices.SortFunc(want, compareEntries)
		scratch = mergeRuns(es, bounds, scratch)
		if !slices.Equal(es, want) {
			t.Fatalf("iteration %d: runs %v\nmerged %v\nwant   %v", iter, runs, es, want)
		}
	}
}

// forwardOnly hides SelectReverse, so the engine reads every stream forward in full.
type forwardOnly struct{ q logql.Querier }

func (f forwardOnly) Select(ctx context.Context, ms []*logql.Matcher, start, end int64, fn func(logql.Labels, logql.EntryIterator) error) error {
	return f.q.Select(ctx, ms, start, end, fn)
}

// TestSelectReverse checks that reading streams newest first gives exactly the reverse of
// reading them forward, and that backward log queries answer the same either way, over
// out-of-order pushes with duplicates and equal timestamps spread over chunk files,
// memory blocks and heads.
func TestSelectReverse(t *testing.T) {
	for _, sortedPushes := range []bool{false, true} {
		t.Run(fmt.Sprint("sorted_pushes=", sortedPushes), func(t *testing.T) { testSelectReverse(t, sortedPushes) })
	}
}

// testSelectReverse is TestSelectReverse with pushes in random order or each sorted (then
// a head is a few sorted runs, which queries merge).
func testSelectReverse(t *testing.T, sortedPushes bool) {
	cfg := testConfig()
	cfg.BlockSize = 2 << 10
	cfg.ChunkTargetSize = 8 << 10
	ts := startStore(t, cfg)
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	for batch := 0; batch < 60; batch++ {
		var streams []push.Stream
		for s := 0; s < 3; s++ {
			ps := push.Stream{Labels: fmt.Sprintf(`{app="a", s="%d"}`, s)}
			for i := 0; i < 20; i++ {
				sec := int64(batch*10 + rng.IntN(40)) // overlaps earlier batches
				line := fmt.Sprintf("line %d %s", rng.IntN(30), []string{"ok", "REJECT"}[rng.IntN(2)])
				ps.Entries = append(ps.Entries, push.Entry{Timestamp: time.Unix(t0+sec, 0), Line: line})
			}
			if sortedPushes {
				slices.SortFunc(ps.Entries, func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
			}
			streams = append(streams, ps)
		}
		if err := ts.Push(ctx, DefaultTenant, streams); err != nil {
			t.Fatal(err)
		}
		if batch == 30 {
			ts.FlushAll()
		}
	}
	q := ts.Querier(DefaultTenant)
	rq, ok := q.(logql.ReverseQuerier)
	if !ok {
		t.Fatal("the store's querier does not read in reverse")
	}
	ms, _ := logql.ParseMatchers(`{app="a"}`)
	collect := func(sel func(context.Context, []*logql.Matcher, int64, int64, func(logql.Labels, logql.EntryIterator) error) error, start, end int64) map[string][]logql.Entry {
		out := map[string][]logql.Entry{}
		if err := sel(ctx, ms, start, end, func(ls logql.Labels, it logql.EntryIterator) error {
			for it.Next() {
				out[ls.String()] = append(out[ls.String()], it.At())
			}
			return it.Err()
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, r := range [][2]int64{{0, 1000}, {100, 300}, {250, 251}} {
		start, end := (t0+r[0])*1e9, (t0+r[1])*1e9
		fwd, rev := collect(q.Select, start, end), collect(rq.SelectReverse, start, end)
		if len(fwd) != 3 || len(rev) != len(fwd) {
			t.Fatalf("range %v: %d streams forward, %d reverse", r, len(fwd), len(rev))
		}
		for k, es := range fwd {
			back := slices.Clone(rev[k])
			slices.Reverse(back)
			if !slices.Equal(es, back) {
				t.Fatalf("range %v stream %s: reverse is not the reverse of forward (%d vs %d entries)", r, k, len(es), len(back))
			}
			if !slices.IsSortedFunc(es, compareEntries) {
				t.Fatalf("range %v stream %s: forward not sorted", r, k)
			}
		}
	}
	fast, full := logql.NewEngine(q, logql.Limits{}), logql.NewEngine(forwardOnly{q}, logql.Limits{})
	for _, query := range []string{`{app="a"}`, `{app="a"} |= "REJECT"`, `{s="1"} != "line 3"`} {
		for _, limit := range []int{1, 7, 100, 5000} {
			p := logql.Params{Query: query, Start: time.Unix(t0, 0), End: time.Unix(t0+700, 0), Limit: limit}
			a, err := fast.Exec(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			b, err := full.Exec(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Streams) == 0 || fmt.Sprint(a.Streams) != fmt.Sprint(b.Streams) {
				t.Fatalf("%s limit %d: reverse read answers\n%v\nforward read\n%v", query, limit, a.Streams, b.Streams)
			}
			if limit < 100 && a.Stats.TotalLinesProcessed >= b.Stats.TotalLinesProcessed {
				t.Errorf("%s limit %d: reverse read processed %d lines, forward %d", query, limit, a.Stats.TotalLinesProcessed, b.Stats.TotalLinesProcessed)
			}
		}
	}
}
