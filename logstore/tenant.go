package logstore

import (
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/flowtap/flowtap/logstore/logql"
)

// tenant is one X-Scope-OrgID's streams and their inverted label index.
type tenant struct {
	name string
	dir  string // chunk directory

	mu       sync.RWMutex
	streams  map[string]*stream // by canonical label string
	aliases  map[string]*stream // by label string as pushed, to skip parsing
	postings map[string]map[string][]*stream
	active   int // streams counted against the stream limit (stream.active)
}

// maxAliases bounds the cache of pushed label strings.
const maxAliases = 1 << 16

func newTenant(name, dir string) *tenant {
	return &tenant{name: name, dir: dir, streams: map[string]*stream{}, aliases: map[string]*stream{},
		postings: map[string]map[string][]*stream{}}
}

// streamFor returns the stream of a label string as pushed, creating it if new.
func (t *tenant) streamFor(raw string) (*stream, error) {
	t.mu.RLock()
	s := t.aliases[raw]
	t.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	ls, err := ParseLabels(raw)
	if err != nil {
		return nil, err
	}
	key := ls.String()
	t.mu.Lock()
	defer t.mu.Unlock()
	s = t.addLocked(ls, key)
	if len(t.aliases) >= maxAliases {
		t.aliases = map[string]*stream{}
	}
	t.aliases[raw] = s
	return s, nil
}

// resolve finds the stream of a label string as pushed without creating it: st is nil
// for a new stream, whose parsed labels and canonical key are returned instead.
func (t *tenant) resolve(raw string) (st *stream, ls logql.Labels, key string, err error) {
	t.mu.RLock()
	st = t.aliases[raw]
	t.mu.RUnlock()
	if st != nil {
		return st, st.labels, st.key, nil
	}
	if ls, err = ParseLabels(raw); err != nil {
		return nil, nil, "", err
	}
	key = ls.String()
	t.mu.RLock()
	st = t.streams[key]
	t.mu.RUnlock()
	return st, ls, key, nil
}

// acquire binds every stream of a push to its index entry, creating new ones, and counts
// them as active. When that would take more than limit (> 0) active streams it creates
// nothing and returns the canonical labels of the first stream that does not fit: memory
// stays bounded however many new streams a client sends.
func (t *tenant) acquire(ps []pendingStream, limit int, now time.Time) (refused string) {
	t.mu.RLock()
	fast := true
	for i := range ps {
		if st := ps[i].st; st == nil || !st.active || t.streams[ps[i].key] != st {
			fast = false
			break
		}
	}
	t.mu.RUnlock()
	if fast {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	need := 0
	var counted map[string]bool // a stream may come twice in one push
	for i := range ps {
		st := t.streams[ps[i].key]
		ps[i].st = st
		if (st == nil || !st.active) && !counted[ps[i].key] {
			if counted == nil {
				counted = map[string]bool{}
			}
			counted[ps[i].key] = true
			need++
			if limit > 0 && t.active+need > limit {
				return ps[i].key
			}
		}
	}
	for i := range ps {
		p := &ps[i]
		if p.st == nil {
			p.st = t.addLocked(p.ls, p.key)
		}
		if !p.st.active {
			p.st.active, p.st.activeSince = true, now
			t.active++
		}
		if t.aliases[p.raw] == nil {
			if len(t.aliases) >= maxAliases {
				t.aliases = map[string]*stream{}
			}
			t.aliases[p.raw] = p.st
		}
	}
	return ""
}

// activate counts a replayed stream as active (replay is never refused).
func (t *tenant) activate(st *stream, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !st.active {
		st.active, st.activeSince = true, now
		t.active++
	}
}

// deactivateIdle stops counting streams that hold nothing unflushed and had no push for
// idle: they no longer take memory beyond their index entry.
func (t *tenant) deactivateIdle(now time.Time, idle time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.streams {
		if !st.active || now.Sub(st.activeSince) < idle {
			continue
		}
		st.mu.Lock()
		quiet := now.Sub(st.lastAppend) >= idle && st.firstSeq == 0 && len(st.head) == 0 && len(st.cut) == 0 && len(st.open) == 0
		st.mu.Unlock()
		if quiet {
			st.active = false
			t.active--
		}
	}
}

// activeStreams is the number of streams counted against the stream limit.
func (t *tenant) activeStreams() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.active
}

// addLocked returns the stream with canonical key, adding it to the index if new.
func (t *tenant) addLocked(ls logql.Labels, key string) *stream {
	if s := t.streams[key]; s != nil {
		return s
	}
	s := newStream(xxhash.Sum64String(key), ls, key)
	t.streams[key] = s
	for _, l := range ls {
		vals := t.postings[l.Name]
		if vals == nil {
			vals = map[string][]*stream{}
			t.postings[l.Name] = vals
		}
		vals[l.Value] = append(vals[l.Value], s)
	}
	return s
}

// remove drops an empty, inactive stream from the index.
func (t *tenant) remove(s *stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.streams[s.key] != s || s.active {
		// An active stream may be about to take a push it was acquired for; it leaves
		// the index once idle (deactivateIdle) and still empty.
		return
	}
	delete(t.streams, s.key)
	for k, v := range t.aliases {
		if v == s {
			delete(t.aliases, k)
		}
	}
	for _, l := range s.labels {
		vals := t.postings[l.Name]
		list := vals[l.Value]
		for i, x := range list {
			if x == s {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(vals, l.Value)
		} else {
			vals[l.Value] = list
		}
		if len(vals) == 0 {
			delete(t.postings, l.Name)
		}
	}
}

// match returns the streams whose labels satisfy every matcher, sorted by labels. The
// smallest posting list of an equality matcher narrows the scan.
func (t *tenant) match(ms []*logql.Matcher) []*stream {
	t.mu.RLock()
	var cand []*stream
	narrowed := false
	for _, m := range ms {
		if m.Type != logql.MatchEqual || m.Value == "" {
			continue
		}
		list := t.postings[m.Name][m.Value]
		if !narrowed || len(list) < len(cand) {
			cand, narrowed = list, true
		}
	}
	if !narrowed {
		cand = make([]*stream, 0, len(t.streams))
		for _, s := range t.streams {
			cand = append(cand, s)
		}
	} else {
		cand = append([]*stream(nil), cand...)
	}
	t.mu.RUnlock()
	out := cand[:0]
	for _, s := range cand {
		ok := true
		for _, m := range ms {
			if !m.Matches(s.labels.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// all returns every stream of the tenant.
func (t *tenant) all() []*stream {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Collect(maps.Values(t.streams))
}
