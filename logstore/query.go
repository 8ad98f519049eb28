package logstore

import (
	"context"
	"fmt"
	"slices"
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
	return q.selectStreams(ctx, ms, start, end, false, fn)
}

// SelectReverse implements logql.ReverseQuerier: Select with every stream read newest
// first, so that a backward log query stops decoding once older lines cannot be kept.
func (q tenantQuerier) SelectReverse(ctx context.Context, ms []*logql.Matcher, start, end int64, fn func(logql.Labels, logql.EntryIterator) error) error {
	return q.selectStreams(ctx, ms, start, end, true, fn)
}

func (q tenantQuerier) selectStreams(ctx context.Context, ms []*logql.Matcher, start, end int64, reverse bool, fn func(logql.Labels, logql.EntryIterator) error) error {
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
		it := &entryIter{ctx: ctx, srcs: srcs, start: start, end: end, reverse: reverse}
		if reverse {
			sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].maxT > srcs[j].maxT })
		}
		err := fn(st.labels, it)
		it.release()
		if err != nil {
			return err
		}
	}
	return nil
}

// entryIter merges a stream's sources in time order. Forward, sources whose time ranges
// overlap (out-of-order pushes, redelivered batches) are decoded together, merged and
// freed of exact duplicates; disjoint ones are decoded one at a time. In reverse, sources
// are decoded newest maxT first, each merged into what is left of the previous ones, and
// an entry is returned once it is newer than every source not yet decoded: blocks that
// overlap only at their edges are then read one or two at a time, and a backward query
// that stops early decodes only the newest.
type entryIter struct {
	ctx        context.Context
	srcs       []source // reverse: by maxT, newest first
	start, end int64
	reverse    bool
	rev        []logql.Entry // reverse: decoded, sorted, not yet returned
	spare      []logql.Entry // reverse: the other buffer
	at         logql.Entry   // reverse: the current entry
	buf        []logql.Entry
	cur        []logql.Entry
	i          int
	err        error
	pooled     *[]logql.Entry
	bounds     []int         // run starts in the decoded group
	scratch    []logql.Entry // mergeRuns' buffer
	headBounds []int         // sortHead's runs
}

func (it *entryIter) Next() bool {
	if it.reverse {
		return it.nextReverse()
	}
	for {
		if it.i+1 < len(it.cur) {
			it.i++
			return true
		}
		if !it.more() {
			return false
		}
		it.loadGroup()
	}
}

// more reports whether sources are left to load and the query still runs.
func (it *entryIter) more() bool {
	if it.err != nil || len(it.srcs) == 0 {
		return false
	}
	if err := it.ctx.Err(); err != nil {
		it.err = err
		return false
	}
	return true
}

func (it *entryIter) nextReverse() bool {
	for {
		if n := len(it.rev); n > 0 && (len(it.srcs) == 0 || it.rev[n-1].Timestamp > it.srcs[0].maxT) {
			e := it.rev[n-1]
			it.rev = it.rev[:n-1]
			if e.Timestamp >= it.end {
				continue
			}
			if e.Timestamp < it.start { // everything left is older still
				it.rev, it.srcs = nil, nil
				return false
			}
			it.at = e
			return true
		}
		if !it.more() {
			return false
		}
		it.loadReverse()
	}
}

// loadReverse decodes the source with the newest maxT and merges it into it.rev.
func (it *entryIter) loadReverse() {
	src := it.srcs[0]
	it.srcs = it.srcs[1:]
	// The new run is (mostly) older than what is left: put it first, so that merging
	// moves only the overlap. rev and spare take turns as the storage.
	dst := it.spare[:0]
	var err error
	if src.blk != nil {
		if dst, err = src.blk.entries(dst); err != nil {
			it.err = fmt.Errorf("logstore: %w", err)
			return
		}
	} else {
		dst = append(dst, src.head...)
		it.sortHead(dst, src.headRuns)
	}
	runEnd := len(dst)
	dst = append(dst, it.rev...)
	if runEnd < len(dst) {
		it.bounds = append(it.bounds[:0], 0, runEnd, len(dst))
		it.scratch = mergeRuns(dst, it.bounds, it.scratch)
	}
	if len(it.rev) > 0 || src.blk == nil {
		dst, _ = sortDedup(dst, true)
	}
	it.spare, it.rev = it.rev[:0], dst
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
	bounds := it.bounds[:0]
	var err error
	for _, src := range group {
		bounds = append(bounds, len(es))
		if src.blk != nil {
			if es, err = src.blk.entries(es); err != nil {
				it.err = fmt.Errorf("logstore: %w", err)
				return
			}
		} else {
			lo := len(es)
			es = append(es, src.head...)
			it.sortHead(es[lo:], src.headRuns)
		}
	}
	it.bounds = append(bounds, len(es))
	*it.pooled = es
	if !(len(group) == 1 && group[0].blk != nil) { // a block alone is sorted and deduplicated
		it.scratch = mergeRuns(es, it.bounds, it.scratch)
		es, _ = sortDedup(es, true)
	}
	lo := sort.Search(len(es), func(i int) bool { return es[i].Timestamp >= it.start })
	hiIdx := sort.Search(len(es), func(i int) bool { return es[i].Timestamp >= it.end })
	it.cur, it.i = es[lo:hiIdx], -1
}

// sortHead sorts a copy of a head whose sorted runs start at 0 and at runs: by merging
// the runs when they are few (pushes that overlap at their edges), else by sorting.
func (it *entryIter) sortHead(es []logql.Entry, runs []int) {
	switch {
	case len(runs) == 0:
	case len(runs) <= 32:
		bounds := append(append(it.headBounds[:0], 0), runs...)
		it.headBounds = append(bounds, len(es))
		it.scratch = mergeRuns(es, it.headBounds, it.scratch)
	default:
		slices.SortFunc(es, compareEntries)
	}
}

// mergeRuns sorts es, made of sorted runs es[bounds[i]:bounds[i+1]], in place. Runs come
// ordered by first timestamp and usually overlap only at their edges (out-of-order pushes
// near a block cut), so each run is merged into the sorted prefix by moving only the
// overlapping tail of that prefix through scratch: close to linear where sorting the
// whole group would be N log N. It returns scratch for reuse.
func mergeRuns(es []logql.Entry, bounds []int, scratch []logql.Entry) []logql.Entry {
	if len(bounds) < 3 {
		return scratch
	}
	a := bounds[1] // es[:a] is sorted
	for r := 1; r+1 < len(bounds); r++ {
		b := bounds[r+1]
		run := es[a:b]
		if len(run) == 0 || a == 0 || compareEntries(es[a-1], run[0]) <= 0 {
			a = b
			continue
		}
		// Entries of the prefix after p and of the run before q interleave; the rest of
		// each is already where it belongs.
		p := sort.Search(a, func(i int) bool { return compareEntries(es[i], run[0]) > 0 })
		q := a + sort.Search(len(run), func(i int) bool { return compareEntries(run[i], es[a-1]) > 0 })
		scratch = append(scratch[:0], es[p:a]...)
		i, j, k := 0, a, p
		for i < len(scratch) && j < q { // k <= j: writes never pass the run's next read
			if compareEntries(es[j], scratch[i]) < 0 {
				es[k] = es[j]
				j++
			} else {
				es[k] = scratch[i]
				i++
			}
			k++
		}
		copy(es[k:], scratch[i:])
		a = b
	}
	if cap(scratch) > 1<<20 {
		scratch = nil // do not hold on to a huge buffer
	}
	return scratch[:0]
}

func (it *entryIter) At() logql.Entry {
	if it.reverse {
		return it.at
	}
	return it.cur[it.i]
}
func (it *entryIter) Err() error { return it.err }

// release returns the decode buffer; the engine copies what it keeps (lines alias the
// decompressed block, which stays alive as long as a line refers to it).
func (it *entryIter) release() {
	if it.pooled != nil && cap(*it.pooled) <= 1<<20 {
		*it.pooled = (*it.pooled)[:0]
		entryPool.Put(it.pooled)
	}
	it.pooled, it.cur, it.rev, it.spare = nil, nil, nil, nil
}
