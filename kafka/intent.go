package kafka

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/flowtap/flowtap/internal/fsx"
)

// Intent is the batch a runner was about to hand to its sinks: kept on disk so that a
// restart re-forms exactly that batch and the sinks rewrite the same objects.
type Intent struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	First     int64  `json:"first"`
	Last      int64  `json:"last"`
}

type tp struct {
	topic     string
	partition int
}

const intentSuffix = ".intent"

// intents is the state directory of one group: the last intent of every partition, in
// memory and in one file per partition. Partition workers use it concurrently.
type intents struct {
	dir string
	mu  sync.Mutex
	m   map[tp]Intent
}

func intentPath(dir, topic string, partition int) string {
	return filepath.Join(dir, fmt.Sprintf("%s.%d%s", topic, partition, intentSuffix))
}

// openIntents creates dir if needed, removes temp files a crash left, and loads every intent.
func openIntents(dir string) (*intents, error) {
	if err := fsx.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("kafka: runner: state dir: %w", err)
	}
	if _, err := fsx.RemoveTemps(dir); err != nil {
		return nil, fmt.Errorf("kafka: runner: state dir: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("kafka: runner: state dir: %w", err)
	}
	in := &intents{dir: dir, m: map[tp]Intent{}}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), intentSuffix) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("kafka: runner: read intent: %w", err)
		}
		it, err := parseIntent(data)
		if err != nil {
			return nil, fmt.Errorf("kafka: runner: bad intent file %s: %w", e.Name(), err)
		}
		in.m[tp{it.Topic, it.Partition}] = it
	}
	return in, nil
}

func parseIntent(data []byte) (Intent, error) {
	var it Intent
	if err := json.Unmarshal(data, &it); err != nil {
		return it, err
	}
	if it.Topic == "" || it.Partition < 0 || it.First < 0 || it.First > it.Last {
		return it, fmt.Errorf("not an intent: %q", data)
	}
	return it, nil
}

// get returns the partition's last intent.
func (s *intents) get(k tp) (Intent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[k]
	return it, ok
}

// put stores it durably (fsx.WriteFile: temp file, fsync, rename, directory fsync) before
// remembering it.
func (s *intents) put(it Intent) error {
	data, _ := json.Marshal(it)
	path := intentPath(s.dir, it.Topic, it.Partition)
	if err := fsx.WriteFile(path, data); err != nil {
		return fmt.Errorf("kafka: intent %s: %w", path, err)
	}
	s.mu.Lock()
	s.m[tp{it.Topic, it.Partition}] = it
	s.mu.Unlock()
	return nil
}
