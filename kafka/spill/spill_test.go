package spill

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func msg(i int) Message {
	return Message{
		Topic:   "flowtap.vpc",
		Key:     []byte(fmt.Sprintf("eni-%04d", i%7)),
		Headers: []Header{{Key: "flowtap-kind", Value: []byte("vpc")}},
		Value:   []byte(fmt.Sprintf(`{"n":%d}`, i)),
	}
}

func drain(t *testing.T, q *Queue) []Message {
	t.Helper()
	var all []Message
	for {
		id, msgs, corrupt, ok, err := q.Head()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return all
		}
		if corrupt != 0 {
			t.Fatalf("corrupt records in segment %d", id)
		}
		all = append(all, msgs...)
		if err := q.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueueOrderPrependReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(Config{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 60; i += 5 {
		batch := []Message{}
		for j := i; j < i+5; j++ {
			batch = append(batch, msg(j))
		}
		if err := q.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Prepend([]Message{msg(5), msg(6), msg(7), msg(8), msg(9)}); err != nil {
		t.Fatal(err)
	}
	if err := q.Prepend([]Message{msg(0), msg(1), msg(2), msg(3), msg(4)}); err != nil {
		t.Fatal(err)
	}
	if n := q.Len(); n != 60 {
		t.Fatalf("Len = %d, want 60", n)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err = Open(Config{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	if n := q.Len(); n != 60 {
		t.Fatalf("after reopen Len = %d, want 60", n)
	}
	// Take the head, deliver part of it, replace with the rest.
	id, msgs, _, _, err := q.Head()
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Replace(id, msgs[2:]); err != nil {
		t.Fatal(err)
	}
	all := drain(t, q)
	if len(all) != 58 {
		t.Fatalf("drained %d, want 58", len(all))
	}
	for i, m := range all {
		want := msg(i + 2)
		if m.Topic != want.Topic || !bytes.Equal(m.Key, want.Key) || !bytes.Equal(m.Value, want.Value) ||
			len(m.Headers) != 1 || string(m.Headers[0].Value) != "vpc" {
			t.Fatalf("message %d = %+v, want %+v", i, m, want)
		}
	}
	if r, b := q.Depth(); r != 0 || b != 0 {
		t.Fatalf("depth after drain = %d records %d bytes", r, b)
	}
}

func TestQueueFull(t *testing.T) {
	q, err := Open(Config{Dir: t.TempDir(), MaxBytes: 200, SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var full int
	for i := range 20 {
		if err := q.Append([]Message{msg(i)}); errors.Is(err, ErrFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	r, b := q.Depth()
	if full == 0 || r+int64(full) != 20 || b > 200 {
		t.Fatalf("full=%d records=%d bytes=%d", full, r, b)
	}
}

func TestQueueTornTail(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(Config{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Append([]Message{msg(0), msg(1), msg(2)}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	data, _ := os.ReadFile(segs[0])
	os.WriteFile(segs[0], data[:len(data)-3], 0o644) // a crash mid-append
	q, err = Open(Config{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, corrupt, ok, err := q.Head()
	if err != nil || !ok || len(msgs) != 2 || corrupt != 1 {
		t.Fatalf("Head: %d msgs, corrupt %d, ok %v, err %v", len(msgs), corrupt, ok, err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	m := msg(3)
	f.Add(AppendRecord(nil, &m))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, n, err := DecodeRecord(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if n > len(data) {
			t.Fatalf("consumed %d of %d", n, len(data))
		}
		again := AppendRecord(nil, &m)
		m2, _, err := DecodeRecord(again)
		if err != nil || m2.Topic != m.Topic || !bytes.Equal(m2.Key, m.Key) || !bytes.Equal(m2.Value, m.Value) || len(m2.Headers) != len(m.Headers) {
			t.Fatalf("re-encode mismatch: %v", err)
		}
	})
}

// TestSetLayoutChange: segments of the single-queue layout and a set of another lane count
// are handed out as older queues, oldest first; the same lane count reuses its set.
func TestSetLayoutChange(t *testing.T) {
	dir := t.TempDir()
	root, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Append([]Message{msg(0), msg(1)}); err != nil {
		t.Fatal(err)
	}
	root.Close()

	two, err := OpenSet(Config{Dir: dir, MaxBytes: 1 << 20}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if older := two.Older(); len(older) != 1 || older[0].Len() != 2 {
		t.Fatalf("older queues after the single-queue layout: %d", len(older))
	}
	if err := two.Lane(1).Append([]Message{msg(2)}); err != nil {
		t.Fatal(err)
	}
	if err := two.RemoveOlder(); err == nil {
		t.Fatal("RemoveOlder succeeded while the older queue holds messages")
	}
	two.Close()

	// Three lanes: the root segments come first, then the two-lane set.
	three, err := OpenSet(Config{Dir: dir, MaxBytes: 3 << 20}, 3)
	if err != nil {
		t.Fatal(err)
	}
	older := three.Older()
	if len(older) != 2 || older[0].Len() != 2 || older[1].Len() != 1 {
		t.Fatalf("older queues: %d", len(older))
	}
	if r, _ := three.Depth(); r != 3 {
		t.Fatalf("Depth = %d records, want 3", r)
	}
	if got := drain(t, older[0]); len(got) != 2 || string(got[1].Value) != string(msg(1).Value) {
		t.Fatalf("root queue drained %d messages", len(got))
	}
	if got := drain(t, older[1]); len(got) != 1 || string(got[0].Value) != string(msg(2).Value) {
		t.Fatalf("two-lane set drained %d messages", len(got))
	}
	if err := three.RemoveOlder(); err != nil {
		t.Fatal(err)
	}
	if err := three.Lane(2).Append([]Message{msg(3)}); err != nil {
		t.Fatal(err)
	}
	three.Close()
	sets, _ := filepath.Glob(filepath.Join(dir, "set-*"))
	if len(sets) != 1 || filepath.Base(sets[0]) != "set-000002-lanes-3" {
		t.Fatalf("set directories after the drain: %v", sets)
	}

	// Same lane count again: the set is reused, nothing is older.
	again, err := OpenSet(Config{Dir: dir, MaxBytes: 3 << 20}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if len(again.Older()) != 0 || again.Lane(2).Len() != 1 {
		t.Fatalf("reopened set: %d older queues, lane 2 holds %d", len(again.Older()), again.Lane(2).Len())
	}
	// Each lane holds a share of MaxBytes.
	big := Message{Topic: "t", Value: make([]byte, 1<<20+1)}
	if err := again.Lane(0).Append([]Message{big}); !errors.Is(err, ErrFull) {
		t.Fatalf("append above the lane's share: %v", err)
	}
}

// TestAppendSynced: messages appended with AppendSynced, after and before plain appends,
// keep their order, are there for a queue reopened without Close (as after a crash), and
// one that would pass MaxBytes is refused whole.
func TestAppendSynced(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(Config{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Append([]Message{msg(0)}); err != nil {
		t.Fatal(err)
	}
	if err := q.AppendSynced([]Message{msg(1), msg(2)}); err != nil {
		t.Fatal(err)
	}
	if err := q.AppendSynced([]Message{msg(3)}); err != nil {
		t.Fatal(err)
	}
	if err := q.AppendSynced([]Message{{Topic: "t", Value: make([]byte, 2<<20)}}); !errors.Is(err, ErrFull) {
		t.Fatalf("oversized append: %v", err)
	}
	reopened, err := Open(Config{Dir: dir, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, reopened)
	if len(got) != 4 {
		t.Fatalf("reopened queue holds %d messages, want 4", len(got))
	}
	for i, m := range got {
		if string(m.Value) != string(msg(i).Value) {
			t.Fatalf("message %d is %s", i, m.Value)
		}
	}
}
