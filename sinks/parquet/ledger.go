package parquet

import "sync"

// ledger remembers which objects of a batch an attempt that then failed already committed
// (and counted), so that the runner's retry, which commits them again under the same keys,
// does not count their rows and bytes a second time.
type ledger struct {
	mu     sync.Mutex
	failed map[string]map[string]bool // batch identity → keys committed by failed attempts
	order  []string                   // batch identities, oldest first, to bound the map
}

// maxFailedBatches bounds the memory: batches that never succeed are dead-lettered by the
// runner long before this many others fail.
const maxFailedBatches = 256

// seen reports whether key of batch id was committed by an earlier attempt.
func (l *ledger) seen(id, key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed[id][key]
}

// settle records the outcome of an attempt at batch id that committed keys: on success the
// batch is forgotten, on failure its committed keys are remembered for the retry.
func (l *ledger) settle(id string, keys []string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		if _, had := l.failed[id]; had {
			delete(l.failed, id)
		}
		return
	}
	if len(keys) == 0 {
		return
	}
	if l.failed == nil {
		l.failed = map[string]map[string]bool{}
	}
	m := l.failed[id]
	if m == nil {
		m = map[string]bool{}
		l.failed[id] = m
		l.order = append(l.order, id)
		for len(l.order) > maxFailedBatches {
			delete(l.failed, l.order[0])
			l.order = l.order[1:]
		}
	}
	for _, k := range keys {
		m[k] = true
	}
}
