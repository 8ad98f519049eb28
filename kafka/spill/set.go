package spill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Set is a spill divided into lanes, one Queue per lane, for a producer whose senders each own
// the keys that hash to their lane. The lanes of one run live in a set directory
// Dir/set-<seq>-lanes-<n>/lane-<i>. A set of another lane count, or segments directly in Dir
// (the single-queue layout), were left by earlier runs: their keys map to other lanes now, so
// they are handed out as Older, to be drained before any lane sends. A later run with the same
// lane count reuses the newest set; a different count starts a new set with a higher seq, so
// set order is age order.
// It is safe for concurrent use.
type Set struct {
	lanes []*Queue // one per lane; each holds at most MaxBytes/lanes

	mu        sync.Mutex
	older     []*Queue // non-empty queues of earlier layouts, oldest first
	olderDirs []string // set directories to remove once older is drained
}

const setPrefix = "set-"

func setName(seq uint64, lanes int) string {
	return fmt.Sprintf("%s%06d-lanes-%d", setPrefix, seq, lanes)
}

func parseSetName(name string) (seq uint64, lanes int, ok bool) {
	if !strings.HasPrefix(name, setPrefix) {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(name, setPrefix+"%d-lanes-%d", &seq, &lanes); err != nil || lanes < 1 || name != setName(seq, lanes) {
		return 0, 0, false
	}
	return seq, lanes, true
}

// OpenSet opens the lane queues of cfg.Dir for the given lane count (creating them if needed)
// and the older queues that still hold messages; empty older sets are removed.
func OpenSet(cfg Config, lanes int) (*Set, error) {
	if lanes < 1 {
		return nil, fmt.Errorf("spill: %d lanes: need at least 1", lanes)
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultConfig().MaxBytes
	}
	s := &Set{}
	root, err := Open(cfg) // segments of the single-queue layout, if any
	if err != nil {
		return nil, err
	}
	if root.Len() > 0 {
		s.older = append(s.older, root)
	} else {
		root.Close()
	}
	ents, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("spill: list %s: %w", cfg.Dir, err)
	}
	type setDir struct {
		name  string
		seq   uint64
		lanes int
	}
	var sets []setDir
	for _, e := range ents {
		if seq, n, ok := parseSetName(e.Name()); ok && e.IsDir() {
			sets = append(sets, setDir{e.Name(), seq, n})
		}
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].seq < sets[j].seq })
	current := setName(1, lanes)
	if k := len(sets); k > 0 {
		if sets[k-1].lanes == lanes {
			current = sets[k-1].name
			sets = sets[:k-1]
		} else {
			current = setName(sets[k-1].seq+1, lanes)
		}
	}
	for _, sd := range sets {
		dir := filepath.Join(cfg.Dir, sd.name)
		held := false
		for i := range sd.lanes {
			q, err := Open(Config{Dir: laneDir(dir, i), MaxBytes: cfg.MaxBytes, SegmentBytes: cfg.SegmentBytes})
			if err != nil {
				s.Close()
				return nil, err
			}
			if q.Len() > 0 {
				s.older = append(s.older, q)
				held = true
			} else {
				q.Close()
			}
		}
		if held {
			s.olderDirs = append(s.olderDirs, dir)
		} else if err := os.RemoveAll(dir); err != nil {
			s.Close()
			return nil, fmt.Errorf("spill: remove empty set %s: %w", dir, err)
		}
	}
	laneCfg := Config{MaxBytes: max(cfg.MaxBytes/int64(lanes), 1), SegmentBytes: cfg.SegmentBytes}
	for i := range lanes {
		laneCfg.Dir = laneDir(filepath.Join(cfg.Dir, current), i)
		q, err := Open(laneCfg)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.lanes = append(s.lanes, q)
	}
	return s, nil
}

func laneDir(set string, lane int) string { return filepath.Join(set, fmt.Sprintf("lane-%02d", lane)) }

// Lane returns the queue of lane i.
func (s *Set) Lane(i int) *Queue { return s.lanes[i] }

// Older returns the queues left by earlier layouts that still held messages when the set was
// opened, oldest first; drain them in this order before sending anything newer.
func (s *Set) Older() []*Queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Queue(nil), s.older...)
}

// RemoveOlder closes the older queues and deletes their set directories. Call it once every
// older queue is empty; it refuses while one still holds messages.
func (s *Set) RemoveOlder() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.older {
		if q.Len() > 0 {
			return fmt.Errorf("spill: older queue %s still holds %d messages", q.cfg.Dir, q.Len())
		}
	}
	var errs []error
	for _, q := range s.older {
		errs = append(errs, q.Close())
	}
	for _, d := range s.olderDirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("spill: remove drained set: %w", err))
		}
	}
	s.older, s.olderDirs = nil, nil
	return errors.Join(errs...)
}

// Depth returns the messages and bytes held by all queues of the set, older ones included.
func (s *Set) Depth() (records, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, qs := range [][]*Queue{s.lanes, s.older} {
		for _, q := range qs {
			r, b := q.Depth()
			records += r
			bytes += b
		}
	}
	return records, bytes
}

// Close seals every queue of the set.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, qs := range [][]*Queue{s.lanes, s.older} {
		for _, q := range qs {
			errs = append(errs, q.Close())
		}
	}
	return errors.Join(errs...)
}
