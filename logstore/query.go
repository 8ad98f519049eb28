package logstore

import (
	"context"
	"fmt"
	"sort"

	"github.com/flowtap/flowtap/logstore/logql"
)

// tenantQuerier is the logql.Querier of one tenant.
type tenantQuerier struct {
	s      *Store
	tenant string
}

// Querier returns the logql.Querier over one tenant's streams.
func (s *Store) Querier(tenant string) logql.Querier { return tenantQuerier{s: s, tenant: tenant} }

// Select implements logql.Querier.
func (q tenantQuerier) Select(ctx context.Context, ms []*logql.Matcher, start, end int64, fn func(logql.Labels, logql.EntryIterator) error) error {
	t := q.s.tenantIfExists(q.tenant)
	if t == nil || start >= end {
		return nil
	}
	for _, st := range t.match(ms) {
		if err := ctx.Err(); err != nil {
			return err
		}
		srcs := st.sources(start, end)
		if len(srcs) == 0 {
			continue
		}
		it := &entryIter{ctx: ctx, srcs: srcs, start: start, end: end}
		err := fn(st.labels, it)
		it.release()
		if err != nil {
			return err
		}
	}
	return nil
}

// entryIter merges a stream's sources in time order. Sources whose time ranges overlap
// (out-of-order pushes, redelivered batches) are decoded together, sorted and freed of
// exact duplicates; disjoint ones are decoded one at a time.
type entryIter struct {
	ctx        context.Context
	srcs       []source
	start, end int64
	buf        []logql.Entry
	cur        []logql.Entry
	i          int
	err        error
	pooled     *[]logql.Entry
}

func (it *entryIter) Next() bool {
	for {
		if it.i+1 < len(it.cur) {
			it.i++
			return true
		}
		if it.err != nil || len(it.srcs) == 0 {
			return false
		}
		if err := it.ctx.Err(); err != nil {
			it.err = err
			return false
		}
		it.loadGroup()
	}
}

func (it *entryIter) loadGroup() {
	n := 1
	hi := it.srcs[0].maxT
	for n < len(it.srcs) && it.srcs[n].minT <= hi {
		hi = max(hi, it.srcs[n].maxT)
		n++
	}
	group := it.srcs[:n]
	it.srcs = it.srcs[n:]
	if it.pooled == nil {
		it.pooled = entryPool.Get().(*[]logql.Entry)
	}
	es := (*it.pooled)[:0]
	sorted := len(group) == 1 && group[0].blk != nil
	var err error
	for _, src := range group {
		if src.blk != nil {
			if es, err = src.blk.entries(es); err != nil {
				it.err = fmt.Errorf("logstore: %w", err)
				return
			}
		} else {
			es = append(es, src.head...)
		}
	}
	*it.pooled = es
	if !sorted {
		es, _ = sortDedup(es, false)
	}
	lo := sort.Search(len(es), func(i int) bool { return es[i].Timestamp >= it.start })
	hiIdx := sort.Search(len(es), func(i int) bool { return es[i].Timestamp >= it.end })
	it.cur, it.i = es[lo:hiIdx], -1
}

func (it *entryIter) At() logql.Entry { return it.cur[it.i] }
func (it *entryIter) Err() error      { return it.err }

// release returns the decode buffer; the engine copies what it keeps (lines alias the
// decompressed block, which stays alive as long as a line refers to it).
func (it *entryIter) release() {
	if it.pooled != nil && cap(*it.pooled) <= 1<<20 {
		*it.pooled = (*it.pooled)[:0]
		entryPool.Put(it.pooled)
	}
	it.pooled, it.cur = nil, nil
}
