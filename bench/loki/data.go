package main

import (
	"context"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/flowlog/generate"
	"github.com/flowtap/flowtap/flowlog/generate/topology"
	"github.com/flowtap/flowtap/internal/component"
	lokisink "github.com/flowtap/flowtap/sinks/loki"
)

// entry is one generated line with what the reference answers need.
type entry struct {
	stream int32  // index into dataset.streams
	ts     int64  // Unix seconds (the record's start, as the Loki sink stamps it)
	line   string // default-format VPC text line
}

// dataset is the generated data: the lines, their streams, and the push bodies that
// carry them (snappy protobuf, built once and sent to both servers).
type dataset struct {
	entries    []entry
	streams    []string // label strings
	logStreams []string // log_stream label value of each stream
	bodies     [][]byte
	bodyBytes  int64 // compressed
	minT, maxT int64
	dropped    int // exact duplicates (stream, ts, line) left out, as both stores would drop them
}

// collector is the flowlog.RecordWriter the generator fills.
type collector struct {
	sink     *lokisink.Sink
	ds       *dataset
	byLabels map[string]int32
	seen     map[uint64]struct{}
	seed     maphash.Seed
	buf      []byte
}

func (c *collector) WriteRecords(_ context.Context, recs []flowlog.Record) error {
	for i := range recs {
		r := &recs[i]
		if r.Kind != flowlog.KindVPC {
			continue
		}
		labels := c.sink.Labels(r)
		si, ok := c.byLabels[labels]
		if !ok {
			si = int32(len(c.ds.streams))
			c.byLabels[labels] = si
			c.ds.streams = append(c.ds.streams, labels)
			c.ds.logStreams = append(c.ds.logStreams, r.StreamName())
		}
		c.buf = flowlog.DefaultVPC.AppendText(c.buf[:0], r)
		ts := lokisink.Timestamp(r).Unix()
		var h maphash.Hash
		h.SetSeed(c.seed)
		fmt.Fprintf(&h, "%d %d ", si, ts)
		h.Write(c.buf)
		k := h.Sum64()
		if _, dup := c.seen[k]; dup {
			c.ds.dropped++
			continue
		}
		c.seen[k] = struct{}{}
		c.ds.entries = append(c.ds.entries, entry{stream: si, ts: ts, line: string(c.buf)})
	}
	return nil
}

// generateData draws n VPC records from flowlog/generate over [from, to) (Unix seconds,
// multiples of 60) at a rate that fills the span, and builds push bodies of batch lines.
func generateData(ctx context.Context, n int, from, to int64, batch int, seed uint64) (*dataset, error) {
	topo, err := topology.Build(topology.DefaultSpec(), seed)
	if err != nil {
		return nil, err
	}
	// The generator's rate follows a diurnal curve: scale it so that the span holds n.
	var weight float64
	for w := from; w < to; w += 60 {
		weight += 60 * generate.Diurnal(w+30)
	}
	scfg := lokisink.DefaultConfig()
	scfg.URL = "http://127.0.0.1:3100" // only Labels is used
	sink, err := lokisink.New(scfg, component.Deps{})
	if err != nil {
		return nil, err
	}
	// The model emits more records than its rate says (both directions, both ENIs, flows
	// spanning windows): generate the whole span, raise the rate if it fell short, and
	// thin the result evenly to n.
	rate := 1.05 * float64(n) / weight
	var ds *dataset
	for try := 0; ; try++ {
		fg, err := generate.NewFlowGen(topo, generate.FlowConfig{Interval: 60, Rate: rate, VPC: true, Seed: seed, BatchSize: 4096})
		if err != nil {
			return nil, err
		}
		ds = &dataset{entries: make([]entry, 0, n)}
		c := &collector{sink: sink, ds: ds, byLabels: map[string]int32{}, seen: make(map[uint64]struct{}, n), seed: maphash.MakeSeed()}
		for w := from; w < to; w += 60 {
			if err := fg.Window(ctx, w, c); err != nil {
				return nil, err
			}
		}
		if len(ds.entries) >= n {
			break
		}
		if len(ds.entries) == 0 || try == 3 {
			return nil, fmt.Errorf("generator produced %d of %d VPC records", len(ds.entries), n)
		}
		rate *= 1.1 * float64(n) / float64(len(ds.entries))
	}
	m := len(ds.entries)
	kept := ds.entries[:0]
	for i, e := range ds.entries {
		if (i+1)*n/m > i*n/m { // keeps exactly n of m, evenly spread
			kept = append(kept, e)
		}
	}
	ds.entries = kept
	ds.minT, ds.maxT = ds.entries[0].ts, ds.entries[0].ts
	for _, e := range ds.entries {
		ds.minT, ds.maxT = min(ds.minT, e.ts), max(ds.maxT, e.ts)
	}
	for lo := 0; lo < len(ds.entries); lo += batch {
		body, err := ds.pushBody(ds.entries[lo:min(lo+batch, len(ds.entries))])
		if err != nil {
			return nil, err
		}
		ds.bodies = append(ds.bodies, body)
		ds.bodyBytes += int64(len(body))
	}
	return ds, nil
}

// pushBody encodes es as one push request, grouped by stream and in time order within
// each stream, the way the Loki sink sends a batch.
func (ds *dataset) pushBody(es []entry) ([]byte, error) {
	per := map[int32]*push.Stream{}
	var order []int32
	for _, e := range es {
		s := per[e.stream]
		if s == nil {
			s = &push.Stream{Labels: ds.streams[e.stream]}
			per[e.stream] = s
			order = append(order, e.stream)
		}
		s.Entries = append(s.Entries, push.Entry{Timestamp: unixTime(e.ts), Line: e.line})
	}
	req := push.PushRequest{Streams: make([]push.Stream, 0, len(order))}
	for _, si := range order {
		s := per[si]
		sort.SliceStable(s.Entries, func(i, j int) bool { return s.Entries[i].Timestamp.Before(s.Entries[j].Timestamp) })
		req.Streams = append(req.Streams, *s)
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode push: %w", err)
	}
	return snappy.Encode(nil, raw), nil
}

// field returns the i-th (0-based) space-separated field of a line.
func field(line string, i int) string {
	for ; i > 0; i-- {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return ""
		}
		line = line[sp+1:]
	}
	if sp := strings.IndexByte(line, ' '); sp >= 0 {
		return line[:sp]
	}
	return line
}
