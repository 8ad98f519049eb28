package logql

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchLines is the size of the generated VPC data set (the figure is over 10 M
// lines through the store; this measures the engine alone over 1 M in memory).
const benchLines = 1_000_000

var (
	benchOnce sync.Once
	benchQ    *MemQuerier
)

// benchData spreads benchLines default-format VPC lines over one hour in 10 streams
// (two accounts x five ENIs), 1000 source addresses, about 10% REJECT.
func benchData() *MemQuerier {
	benchOnce.Do(func() {
		benchQ = NewMemQuerier()
		const streams = 10
		per := benchLines / streams
		step := time.Hour.Nanoseconds() / int64(per)
		buf := make([]byte, 0, 160)
		for s := 0; s < streams; s++ {
			ls := Labels{{"kind", "vpc"}, {"account", strconv.Itoa(123456789010 + s%2)}, {"eni", fmt.Sprintf("eni-%017x", s)}}
			entries := make([]Entry, per)
			for i := 0; i < per; i++ {
				n := s*per + i
				action, status := "ACCEPT", "OK"
				if n%10 == 3 {
					action = "REJECT"
				}
				buf = buf[:0]
				buf = append(buf, "2 "...)
				buf = append(buf, ls[1].Value...)
				buf = append(buf, ' ')
				buf = append(buf, ls[2].Value...)
				buf = fmt.Appendf(buf, " 10.0.%d.%d 52.95.128.179 443 %d 6 %d %d 1620000000 1620000060 %s %s",
					(n*7)%1000/250, (n*7)%250, 32768+n%28000, 1+n%50, 40+n%9000, action, status)
				entries[i] = Entry{Timestamp: base.UnixNano() + int64(i)*step, Line: string(buf)}
			}
			benchQ.Push(ls, entries...)
		}
	})
	return benchQ
}

func benchQuery(b *testing.B, query string, instant bool, step time.Duration) {
	q := benchData()
	eng := NewEngine(q, Limits{})
	p := Params{Query: query, Start: base, End: base.Add(time.Hour), Step: step, Instant: instant, Limit: 100}
	if instant {
		p.Start = base.Add(time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var lines int64
	for i := 0; i < b.N; i++ {
		r, err := eng.Exec(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		lines += r.Stats.TotalLinesProcessed
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
}

// BenchmarkScanBaseline walks every entry through the Querier and does nothing else: the
// floor the other benchmarks compare against.
func BenchmarkScanBaseline(b *testing.B) {
	benchScan(b, func(it EntryIterator) (lines, n int) {
		for it.Next() {
			n += len(it.At().Line)
			lines++
		}
		return lines, n
	})
}

// BenchmarkScanContains is the baseline plus strings.Contains(line, "REJECT"): the least a
// line filter can cost.
func BenchmarkScanContains(b *testing.B) {
	benchScan(b, func(it EntryIterator) (lines, n int) {
		for it.Next() {
			if strings.Contains(it.At().Line, "REJECT") {
				n++
			}
			lines++
		}
		return lines, n
	})
}

// benchScan selects every stream of benchData and hands each one's iterator to walk, which
// reads it to the end and returns how many lines it read and how many it counted (none
// counted in all fails the benchmark). The loop over the lines is walk's own, so that the
// scan benchmarks measure it without a call per line.
func benchScan(b *testing.B, walk func(it EntryIterator) (lines, n int)) {
	q := benchData()
	ms, _ := ParseMatchers(`{kind="vpc"}`)
	b.ReportAllocs()
	b.ResetTimer()
	var lines int64
	for i := 0; i < b.N; i++ {
		var n int
		err := q.Select(context.Background(), ms, base.UnixNano(), base.Add(time.Hour+time.Second).UnixNano(), func(_ Labels, it EntryIterator) error {
			l, c := walk(it)
			lines += int64(l)
			n += c
			return nil
		})
		if err != nil || n == 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
}

func BenchmarkLineFilter(b *testing.B) {
	benchQuery(b, `{kind="vpc"} |= "REJECT"`, false, 0)
}

func BenchmarkCountLineFilter(b *testing.B) {
	benchQuery(b, `sum(count_over_time({kind="vpc"} |= "REJECT" [1h]))`, true, 0)
}

func BenchmarkPattern(b *testing.B) {
	benchQuery(b, `sum by (action) (count_over_time({kind="vpc"} | pattern "`+vpcPattern+`" [1h]))`, true, 0)
}

func BenchmarkTopRejectedInstant(b *testing.B) {
	benchQuery(b, `topk(10, sum by (srcaddr) (count_over_time({kind="vpc"} | pattern "`+vpcPattern+`" | action="REJECT" [1h])))`, true, 0)
}

func BenchmarkTopRejectedRange(b *testing.B) {
	benchQuery(b, `topk(10, sum by (srcaddr) (count_over_time({kind="vpc"} | pattern "`+vpcPattern+`" | action="REJECT" [5m])))`, false, time.Minute)
}

func BenchmarkJSONCountByLevel(b *testing.B) {
	benchQuery(b, `sum by (action) (count_over_time({kind="vpc", eni="eni-00000000000000000"} | line_format "{\"action\":\"{{.kind}}\"}" | json [1h]))`, true, 0)
}
