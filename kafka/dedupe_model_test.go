package kafka

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

// newRefDedupe returns the model of dedupe's decisions: the window kept one id at a time
// (idWindow), as dedupe kept it before it kept blocks of a producer's ids.
func newRefDedupe(window int64) *idWindow { return newIDWindow(window) }

// dedupeMsg is a message of a partition as the dedupe sees it.
type dedupeMsg struct {
	off int64
	hdr []kafkago.Header
}

// idHeaders returns the headers of a message with the id instance+seq.
func idHeaders(instance [8]byte, seq uint64) []kafkago.Header {
	v := binary.BigEndian.AppendUint64(instance[:], seq)
	return []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}, {Key: HeaderID, Value: v}}
}

// adversarialPartition makes n messages of a partition the way producers and their faults
// leave them, and worse: calls of consecutive sequence numbers from several producers
// interleaved, numbers skipped (taken by other lanes) and taken out of order, whole and
// partial re-sends of recent calls, lone ids (from a small range, so that they repeat in
// any order, or from all numbers, each in a block of its own), one producer numbering
// across 2^64, messages without an id or with a malformed one, and gaps in the offsets,
// within calls and between them. It goes in phases of a few windows: calls and re-sends
// only, then everything.
func adversarialPartition(rng *rand.Rand, n int, window int64) []dedupeMsg {
	type call struct {
		producer int
		first    uint64
		n        int
	}
	instances := make([][8]byte, 4)
	next := make([]uint64, len(instances))
	for i := range instances {
		binary.BigEndian.PutUint64(instances[i][:], rng.Uint64())
		next[i] = rng.Uint64N(1 << 20)
	}
	next[3] = math.MaxUint64 - 40 // wraps around
	var (
		out  []dedupeMsg
		hist []call
		off  = rng.Int64N(3 * window)
	)
	emit := func(hdr []kafkago.Header) {
		out = append(out, dedupeMsg{off, hdr})
		off++
		if rng.IntN(60) == 0 { // compaction, or a transaction marker
			off += 1 + rng.Int64N(4)
		}
	}
	emitCall := func(c call) {
		for i := range c.n {
			emit(idHeaders(instances[c.producer], c.first+uint64(i)))
		}
	}
	for len(out) < n {
		k := rng.IntN(100)
		if len(out)/int(4*window+50)%2 == 0 {
			k = rng.IntN(70)
		}
		switch {
		case k < 55: // a producer's call
			p := rng.IntN(len(instances))
			c := call{p, next[p], 1 + rng.IntN(int(min(2*window, 80)))}
			if rng.IntN(8) == 0 && c.first > 300 { // numbers reserved earlier, sent later
				c.first -= 1 + rng.Uint64N(300)
			}
			next[p] = max(next[p], c.first+uint64(c.n))
			if rng.IntN(3) == 0 {
				next[p] += rng.Uint64N(100) // taken by the producer's other lanes
			}
			emitCall(c)
			hist = append(hist, c)
		case k < 70 && len(hist) > 0: // a re-send of a recent call, whole or in part
			c := hist[len(hist)-1-rng.IntN(min(len(hist), 30))]
			if rng.IntN(2) == 0 {
				skip := rng.IntN(c.n)
				c.first += uint64(skip)
				c.n = 1 + rng.IntN(c.n-skip)
			}
			emitCall(c)
		case k < 82: // lone ids
			p := rng.IntN(2)
			for range 1 + rng.IntN(10) {
				if rng.IntN(2) == 0 {
					emit(idHeaders(instances[p], rng.Uint64N(uint64(2*window+40))))
				} else { // a block of its own
					emit(idHeaders(instances[p], rng.Uint64()))
				}
			}
		case k < 90: // no id, malformed ids, a malformed id before a good one
			good := idHeaders(instances[0], rng.Uint64N(64))
			switch rng.IntN(5) {
			case 0:
				emit(nil)
			case 1:
				emit([]kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}})
			case 2:
				emit([]kafkago.Header{{Key: HeaderID, Value: good[1].Value[:idLen-1]}})
			case 3:
				emit([]kafkago.Header{{Key: HeaderID, Value: append(good[1].Value, 0)}})
			default:
				emit([]kafkago.Header{{Key: HeaderID, Value: []byte("short")}, good[1]})
			}
		default: // a gap in the offsets, sometimes beyond the window
			off += 1 + rng.Int64N(2*window)
		}
	}
	return out[:n]
}

// decideFrom returns the decisions of a dedupe that starts at offset start, having first
// observed the messages of [start−window, start) as readPartition has it do.
func decideFrom[D interface {
	observe(int64, []kafkago.Header) bool
}](d D, window int64, part []dedupeMsg, start int64) map[int64]bool {
	out := map[int64]bool{}
	for _, m := range part {
		if m.off < start-window {
			continue
		}
		if copied := d.observe(m.off, m.hdr); m.off >= start {
			out[m.off] = copied
		}
	}
	return out
}

// TestDedupeMatchesReference checks that dedupe makes the reference model's decision
// (newRefDedupe) for every message of adversarial partitions, for windows that wrap many
// times, with the default block budget and with budgets so small that the window moves to
// an idWindow part way (and back to blocks in calmer phases), from the partition's start and restarted at random offsets.
func TestDedupeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 6000
	blocksOnly, moved, back := false, false, false
	for _, window := range []int64{1, 2, 3, 7, 32, 64, 300, 1000} {
		for _, maxBlocks := range []int{0, 2, 3, 8, 24} {
			part := adversarialPartition(rng, n, window)
			start := func() *dedupe {
				d := newDedupe(window)
				if maxBlocks > 0 {
					d.maxBlocks = maxBlocks
				}
				return d
			}
			d, ref := start(), newRefDedupe(window)
			copies, movedAt := 0, -1
			for i, m := range part {
				got, want := d.observe(m.off, m.hdr), ref.observe(m.off, m.hdr)
				if got != want {
					t.Fatalf("window %d, max blocks %d: message %d (offset %d, %v): copy=%v, the reference says %v",
						window, maxBlocks, i, m.off, m.hdr, got, want)
				}
				if got {
					copies++
				}
				if movedAt < 0 && d.exact != nil {
					movedAt = i
				}
				back = back || (movedAt >= 0 && d.exact == nil)
			}
			if window > 1 && copies == 0 {
				t.Fatalf("window %d: no copy in the partition: the test tests nothing", window)
			}
			blocksOnly = blocksOnly || (movedAt < 0 && copies > 0)
			moved = moved || movedAt > 2*int(window) // a full window moved
			for range 5 {
				from := part[rng.IntN(len(part))].off
				got, want := decideFrom(start(), window, part, from), decideFrom(newRefDedupe(window), window, part, from)
				for off, c := range want {
					if got[off] != c {
						t.Fatalf("window %d, max blocks %d, start %d: offset %d copy=%v, the reference says %v",
							window, maxBlocks, from, off, got[off], c)
					}
				}
			}
		}
	}
	if !blocksOnly || !moved || !back {
		t.Fatalf("kept in blocks to the end with copies: %v, moved to an idWindow full: %v, and back: %v: the test misses a path",
			blocksOnly, moved, back)
	}
}

// FuzzDedupe drives dedupe and the reference model with the same messages, three bytes
// each (what id, from whom, how far after the last offset), and requires the same decision
// for every one. The first two bytes choose the window and the block budget.
func FuzzDedupe(f *testing.F) {
	f.Add([]byte("\x05\x00\x00\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00"))
	f.Add([]byte("\x10\x02\x00\x00\x00\x08\x00\x00\x10\x00\x00\x04\x03\x00\x05\x07\xf0\x06\x00\x00\x00\x0d\x01\x00"))
	f.Add([]byte("\x01\x01\x05\x02\x00\x05\x02\x00\x05\x02\xff\x05\x02\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		window := 1 + int64(data[0]%80)
		d, ref := newDedupe(window), newRefDedupe(window)
		if data[1]%16 > 0 { // a budget that runs out part way, sometimes
			d.maxBlocks = int(data[1] % 16)
		}
		var instances [3][8]byte
		for i := range instances {
			instances[i][0] = byte(i + 1)
		}
		var next [3]uint64
		next[2] = math.MaxUint64 - 3
		off := int64(0)
		for i, msg := 0, data[2:]; len(msg) >= 3; i, msg = i+1, msg[3:] {
			op, p, gap := msg[0], int(msg[1]%3), msg[2]
			var hdr []kafkago.Header
			switch op % 8 {
			case 0, 1, 2, 3: // the producer's next number
				hdr = idHeaders(instances[p], next[p])
				next[p]++
			case 4: // one of its recent numbers again
				hdr = idHeaders(instances[p], next[p]-1-uint64(op>>3))
			case 5: // a number of its own
				hdr = idHeaders(instances[p], uint64(op>>3))
			case 6: // no id
				hdr = []kafkago.Header{{Key: HeaderKind, Value: []byte("vpc")}}
			default: // a malformed id, before a good one when op says so
				hdr = []kafkago.Header{{Key: HeaderID, Value: []byte{op}}}
				if op&8 != 0 {
					hdr = append(hdr, idHeaders(instances[p], uint64(op>>4))[1])
				}
			}
			if gap >= 0xc0 {
				off += int64(gap-0xc0) * window / 16
			}
			got, want := d.observe(off, hdr), ref.observe(off, hdr)
			if got != want {
				t.Fatalf("window %d: message %d (offset %d, %v): copy=%v, the reference says %v", window, i, off, hdr, got, want)
			}
			off++
		}
	})
}

// TestDedupeMovesTheWindowsOldestID: when the blocks run out, the window moves to an
// idWindow with the oldest offset it still holds, so a copy of that offset's id is
// dropped. Window 8, one block an epoch: A at 2, B at 8 (epoch 1's block), A again at 9
// needs a second block of epoch 1; offset 2 is the oldest one 9 is compared with.
func TestDedupeMovesTheWindowsOldestID(t *testing.T) {
	d := newDedupe(8)
	d.maxBlocks = 1
	a, b := idHeaders([8]byte{'a'}, 0), idHeaders([8]byte{'b'}, 0)
	for _, m := range []struct {
		off  int64
		hdr  []kafkago.Header
		copy bool
	}{{2, a, false}, {8, b, false}, {9, a, true}, {10, b, true}, {17, a, false}, {18, a, true}, {26, a, false}} {
		if got := d.observe(m.off, m.hdr); got != m.copy {
			t.Fatalf("offset %d: copy=%v, want %v", m.off, got, m.copy)
		}
		if m.off == 9 && d.exact == nil {
			t.Fatal("the window did not move to an idWindow at offset 9")
		}
	}
}
