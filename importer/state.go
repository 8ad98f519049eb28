package importer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/flowtap/flowtap/internal/fsx"
	"github.com/flowtap/flowtap/lake/objstore"
)

// state is the resumption point: every object with a key ≤ Done is complete, and the first
// Records records of object Current are in Kafka. Records after that point may be in Kafka
// too (produced before a kill, not yet recorded): they are at or after the offsets Ends.
type state struct {
	Source  string `json:"source"`
	ID      string `json:"id,omitempty"` // the import's id, in every message's flowtap-import header
	Done    string `json:"done,omitempty"`
	Current string `json:"current,omitempty"`
	Records int64  `json:"records,omitempty"`
	// Ends holds, per topic, the end offset of each partition, taken before any record after
	// this point was produced.
	Ends map[string][]int64 `json:"ends,omitempty"`
}

// objectHash names an object in the flowtap-import header: FNV-1a 64 of its key.
func objectHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}

// parseImportHeader splits a flowtap-import header value: import id, object hash, record.
func parseImportHeader(v []byte) (id string, object uint64, n int64, ok bool) {
	f := strings.Fields(string(v))
	if len(f) != 3 {
		return "", 0, 0, false
	}
	object, err1 := strconv.ParseUint(f[1], 16, 64)
	n, err2 := strconv.ParseInt(f[2], 10, 64)
	return f[0], object, n, err1 == nil && err2 == nil
}

func (im *Importer) loadState() error {
	im.state = state{Source: im.store.String()}
	defer func() {
		if im.state.ID == "" {
			var b [8]byte
			rand.Read(b[:])
			im.state.ID = hex.EncodeToString(b[:])
		}
		im.id = im.state.ID
	}()
	if im.cfg.StateFile == "" {
		return nil
	}
	data, err := os.ReadFile(im.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("import: state: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("import: state file %s: %w (delete it to start over)", im.cfg.StateFile, err)
	}
	if st.Source != im.state.Source {
		return fmt.Errorf("import: state file %s belongs to source %s, not %s", im.cfg.StateFile, st.Source, im.state.Source)
	}
	im.state = st
	if st.Done != "" || st.Current != "" {
		im.log.Info("resuming", "done_through", st.Done, "current", st.Current, "records", st.Records)
	}
	return nil
}

// prepareResume finds the records of this import that Kafka holds beyond the state's
// resumption point, or, on a first run, records where the partitions end before anything is
// produced.
func (im *Importer) prepareResume(ctx context.Context) error {
	if im.cfg.StateFile == "" {
		return nil
	}
	if im.state.Ends == nil {
		ends, err := im.out.endOffsets()
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		im.state.Ends = ends
		return im.saveState(im.state)
	}
	im.present = map[uint64]map[int64]bool{}
	err := im.out.scan(ctx, im.state.Ends, func(v []byte) {
		id, object, n, ok := parseImportHeader(v)
		if !ok || id != im.id {
			return
		}
		if im.present[object] == nil {
			im.present[object] = map[int64]bool{}
		}
		im.present[object][n] = true
	})
	if err != nil {
		return fmt.Errorf("import: looking for records produced before the last stop: %w", err)
	}
	return nil
}

// countPresent counts the records found by prepareResume that lie ahead of the resumption
// point among the objects to import: until the reader has passed them all, checkpoints keep
// the old end offsets.
func (im *Importer) countPresent(todo []objstore.Object) {
	for _, o := range todo {
		for n := range im.present[objectHash(o.Key)] {
			if o.Key != im.state.Current || n > im.state.Records {
				im.presentTotal++
			}
		}
	}
	if im.presentTotal > 0 {
		im.log.Info("records produced after the last checkpoint found in Kafka; they are not produced again", "records", im.presentTotal)
	}
}

func (im *Importer) saveState(st state) error {
	if im.cfg.StateFile == "" {
		return nil
	}
	data, _ := json.Marshal(st)
	if err := fsx.WriteFile(im.cfg.StateFile, append(data, '\n')); err != nil {
		return fmt.Errorf("import: state: %w", err)
	}
	if im.checkpointed != nil {
		im.checkpointed(st)
	}
	return nil
}

// stateWriter writes checkpoints in the background, the latest one each time, so that the
// sender does not wait for the disk. Any checkpoint is a valid resumption point.
type stateWriter struct {
	im      *Importer
	mu      sync.Mutex
	latest  *state
	wake    chan struct{}
	stopped chan struct{}
	err     error
}

func (im *Importer) newStateWriter() *stateWriter {
	w := &stateWriter{im: im, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go w.run()
	return w
}

// put queues st (its Ends map is never modified afterwards).
func (w *stateWriter) put(st state) {
	w.mu.Lock()
	w.latest = &st
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *stateWriter) run() {
	defer close(w.stopped)
	for range w.wake {
		w.mu.Lock()
		st := w.latest
		w.latest = nil
		w.mu.Unlock()
		if st != nil && w.err == nil {
			w.err = w.im.saveState(*st)
		}
	}
}

// close writes the last checkpoint and returns the first write error.
func (w *stateWriter) close() error {
	close(w.wake)
	<-w.stopped
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latest != nil && w.err == nil {
		w.err = w.im.saveState(*w.latest)
	}
	return w.err
}
