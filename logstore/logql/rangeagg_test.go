package logql

import (
	"context"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRangeAggMatchesBruteForce checks count, bytes and unwrap-sum windows (list and
// histogram accumulation, unsorted merges of several streams) against a direct count over
// random data, grids, ranges and offsets: every window is (T-offset-range, T-offset].
func TestRangeAggMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	type sample struct {
		ts         int64
		bytes, val int
	}
	for iter := 0; iter < 30; iter++ {
		q := NewMemQuerier()
		var all []sample
		for s := 0; s < 1+rng.Intn(4); s++ {
			n := rng.Intn(2000)
			for i := 0; i < n; i++ {
				ts := base.UnixNano() + rng.Int63n(int64(10*time.Minute))
				val := 1 + rng.Intn(20)
				line := "v=" + strconv.Itoa(val) + " " + strings.Repeat("x", val)
				q.Push(Labels{{"app", "x"}, {"s", strconv.Itoa(s)}}, Entry{ts, line})
				all = append(all, sample{ts, len(line), val})
			}
		}
		step := time.Duration(1+rng.Intn(120)) * time.Second
		win := time.Duration(1+rng.Intn(300)) * time.Second
		off := time.Duration(rng.Intn(3)) * 30 * time.Second
		start := base.Add(time.Duration(rng.Intn(300)) * time.Second)
		end := start.Add(time.Duration(rng.Intn(600)) * time.Second)
		rangeStr := " [" + formatDuration(win) + "]"
		if off > 0 {
			rangeStr += " offset " + formatDuration(off)
		}
		eng := NewEngine(q, Limits{})
		for _, op := range []string{"count_over_time", "bytes_over_time", "sum_over_time"} {
			sel := `{app="x"} | drop s`
			if op == "sum_over_time" {
				sel = `{app="x"} | drop s | logfmt | unwrap v`
			}
			// sum() is pushed down (one series fed by every stream); max() is not.
			for _, c := range []struct {
				agg     string
				instant bool
			}{{"sum", false}, {"max", false}, {"sum", true}} {
				query := c.agg + "(" + op + "(" + sel + rangeStr + "))"
				r, err := eng.Exec(context.Background(), Params{Query: query, Start: start, End: end, Step: step, Instant: c.instant})
				if err != nil {
					t.Fatal(err)
				}
				got := map[int64]float64{}
				for _, s := range r.Matrix {
					for _, p := range s.Points {
						got[p.T] = p.V
					}
				}
				for _, s := range r.Vector {
					got[s.T] = s.V
				}
				npts := 0
				// range queries run on the step grid (start rounded down, end up), as Loki's
				first, last := start.UnixNano(), end.UnixNano()
				first -= first % step.Nanoseconds()
				if m := last % step.Nanoseconds(); m != 0 {
					last += step.Nanoseconds() - m
				}
				if c.instant {
					first, last = end.UnixNano(), end.UnixNano()
				}
				for T := first; T <= last; T += step.Nanoseconds() {
					hi := T - off.Nanoseconds()
					lo := hi - win.Nanoseconds()
					var n, bytes, vals int
					for _, s := range all {
						if s.ts > lo && s.ts <= hi {
							n, bytes, vals = n+1, bytes+s.bytes, vals+s.val
						}
					}
					want := map[string]int{"count_over_time": n, "bytes_over_time": bytes, "sum_over_time": vals}[op]
					v, ok := got[T/1e6]
					if n == 0 {
						if ok {
							t.Fatalf("%s at %v: got %v for an empty window", query, time.Unix(0, T), v)
						}
						continue
					}
					npts++
					if !ok || v != float64(want) {
						t.Fatalf("%s (start %v step %v) at %v: got %v (present %v), want %v", query, start, step, time.Unix(0, T), v, ok, want)
					}
				}
				if npts != len(got) {
					t.Fatalf("%s: %d points, want %d", query, len(got), npts)
				}
			}
		}
	}
}
