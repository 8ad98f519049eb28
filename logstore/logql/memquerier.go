package logql

import (
	"context"
	"slices"
)

// MemQuerier is an in-memory Querier for tests and examples: streams of entries kept
// sorted by time. It is not safe for concurrent Push and Select.
type MemQuerier struct {
	streams []*memStream
	index   map[string]*memStream
}

type memStream struct {
	labels  Labels
	entries []Entry
	sorted  bool
}

// NewMemQuerier returns an empty MemQuerier.
func NewMemQuerier() *MemQuerier { return &MemQuerier{index: map[string]*memStream{}} }

// Push appends entries to the stream with labels ls (copied and sorted).
func (m *MemQuerier) Push(ls Labels, entries ...Entry) {
	key := string(labelsKey(nil, sortedCopy(ls)))
	s, ok := m.index[key]
	if !ok {
		s = &memStream{labels: sortedCopy(ls), sorted: true}
		m.index[key] = s
		m.streams = append(m.streams, s)
	}
	for _, e := range entries {
		if n := len(s.entries); n > 0 && e.Timestamp < s.entries[n-1].Timestamp {
			s.sorted = false
		}
		s.entries = append(s.entries, e)
	}
}

func sortedCopy(ls Labels) Labels {
	c := append(Labels{}, ls...)
	c.Sort()
	return c
}

// Select implements Querier.
func (m *MemQuerier) Select(ctx context.Context, matchers []*Matcher, start, end int64, fn func(Labels, EntryIterator) error) error {
	for _, s := range m.streams {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !matchAll(matchers, s.labels) {
			continue
		}
		if !s.sorted {
			slices.SortStableFunc(s.entries, func(a, b Entry) int {
				switch {
				case a.Timestamp < b.Timestamp:
					return -1
				case a.Timestamp > b.Timestamp:
					return 1
				}
				return 0
			})
			s.sorted = true
		}
		lo, _ := slices.BinarySearchFunc(s.entries, start, func(e Entry, t int64) int { return cmpInt(e.Timestamp, t) })
		hi, _ := slices.BinarySearchFunc(s.entries, end, func(e Entry, t int64) int { return cmpInt(e.Timestamp, t) })
		if lo >= hi {
			continue
		}
		if err := fn(s.labels, &sliceIterator{entries: s.entries[lo:hi], i: -1}); err != nil {
			return err
		}
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func matchAll(ms []*Matcher, ls Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

type sliceIterator struct {
	entries []Entry
	i       int
}

func (it *sliceIterator) Next() bool { it.i++; return it.i < len(it.entries) }
func (it *sliceIterator) At() Entry  { return it.entries[it.i] }
func (it *sliceIterator) Err() error { return nil }
