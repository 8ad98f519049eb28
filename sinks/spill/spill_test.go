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
