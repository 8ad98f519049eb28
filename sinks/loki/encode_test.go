package loki

import (
	"bytes"
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"
)

// The hand-written encoder must produce exactly what Loki's generated one does for the
// same request, each stream's entries in time order (equal times in the order added):
// times before 1970, with nanoseconds and at the extremes, lines empty, short and long
// (one- and two-byte lengths), entries added by appendLine and by lineRoom/commit (the
// Write path, which renders into the stream) alike, streams without entries left out.
func TestAppendPushRequestMatchesLokiEncoding(t *testing.T) {
	times := []time.Time{time.Unix(1767225600, 0), time.Unix(0, 0), time.Unix(0, 1), time.Unix(-1, 999_999_999),
		time.Unix(-62135596800, 0), time.Unix(1767225600, 123_456_789), time.Unix(math.MaxInt32, 1),
		time.Unix(1767225600, 0), time.Unix(0, 0), time.Unix(1767225599, 0)}
	lineLens := []int{0, 1, 100, 115, 121, 122, 127, 128, 200, 20000}
	streams := []*pushStream{
		{labels: `{account="1", kind="vpc"}`},
		{labels: ""},
		{labels: `{kind="tgw"}`},
		{labels: `{kind="empty"}`},
		{labels: `{kind="whole-seconds"}`},
	}
	var es entries
	var want push.PushRequest
	for i, st := range streams[:3] {
		ws := push.Stream{Labels: st.labels}
		for j, ts := range times {
			line := strings.Repeat(string(rune('a'+j)), lineLens[j])
			sec, nsec := ts.Unix(), int32(ts.Nanosecond())
			if (i+j)%2 == 0 {
				es.appendLine(st, sec, nsec, line)
			} else {
				k, start, at := es.lineRoom(st, sec, nsec, 8)
				es.blocks[k] = append(es.blocks[k], line...)
				es.commit(st, k, start, at, sec, nsec)
			}
			ws.Entries = append(ws.Entries, push.Entry{Timestamp: ts, Line: line})
		}
		slices.SortStableFunc(ws.Entries, func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) })
		want.Streams = append(want.Streams, ws)
	}
	// Whole seconds in a narrow span, out of order with ties: the packed-key sort.
	ws := push.Stream{Labels: streams[4].labels}
	for j := range 300 {
		sec := int64(1767225600 + (j*37)%61)
		line := strings.Repeat("x", j%7) + string(rune('A'+j%26))
		es.appendLine(streams[4], sec, 0, line)
		ws.Entries = append(ws.Entries, push.Entry{Timestamp: time.Unix(sec, 0), Line: line})
	}
	slices.SortStableFunc(ws.Entries, func(a, b push.Entry) int { return cmp.Compare(a.Timestamp.Unix(), b.Timestamp.Unix()) })
	want.Streams = append(want.Streams, ws)
	wantRaw, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var order timeOrder
	got := es.appendRequest([]byte("keep"), streams, &order)
	if !bytes.HasPrefix(got, []byte("keep")) {
		t.Fatal("appendRequest overwrote what the buffer held")
	}
	if !bytes.Equal(got[4:], wantRaw) {
		t.Fatalf("encoding differs from Loki's:\n got %x\nwant %x", got[4:], wantRaw)
	}
	var back push.PushRequest
	if err := back.Unmarshal(got[4:]); err != nil {
		t.Fatal(err)
	}
	if len(back.Streams) != 4 || len(back.Streams[2].Entries) != len(times) ||
		!back.Streams[0].Entries[0].Timestamp.Equal(times[4]) {
		t.Fatalf("decoded back: %+v", back.Streams[:1])
	}
}

// A stream's time order keeps entries of equal time in the order added, for each way of
// sorting: seconds counted into place, seconds and positions packed into numbers,
// comparisons (nanoseconds, or a span too wide to pack).
func TestTimeOrderIsStable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		secs  []int64
		nsecs []int32
	}{
		{"seconds", []int64{2, 1, 2, 1, 2}, nil},
		{"seconds far apart", []int64{1000, 1, 500, 1, 1000}, nil},
		{"nanoseconds", []int64{2, 1, 2, 1, 2}, []int32{0, 5, 0, 0, 0}},
		{"wide span", []int64{math.MaxInt64, math.MinInt64, math.MaxInt64, 0, math.MinInt64}, nil},
	} {
		var es entries
		st, other := &pushStream{}, &pushStream{}
		for i, sec := range tc.secs {
			var nsec int32
			if tc.nsecs != nil {
				nsec = tc.nsecs[i]
			}
			es.appendLine(other, 0, 0, "another stream's")
			es.appendLine(st, sec, nsec, string(rune('a'+i)))
		}
		var order timeOrder
		var got []int
		for _, i := range order.sort(&es, st) {
			got = append(got, int(i-1)/2) // st's entries are every other one
		}
		want := make([]int, len(tc.secs))
		for i := range want {
			want[i] = i
		}
		slices.SortStableFunc(want, func(a, b int) int {
			if c := cmp.Compare(tc.secs[a], tc.secs[b]); c != 0 {
				return c
			}
			if tc.nsecs == nil {
				return 0
			}
			return cmp.Compare(tc.nsecs[a], tc.nsecs[b])
		})
		if !slices.Equal(got, want) || st.sorted {
			t.Errorf("%s: order %v, want %v (sorted flag %v)", tc.name, got, want, st.sorted)
		}
	}
}

// A request compressed in pieces is one snappy block that decodes to the request, for
// sizes around the piece size, compressible and random content alike.
func TestCompressInPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var p pusher
	for _, n := range []int{1, 100, snappyPiece - 1, snappyPiece, snappyPiece + 1, 3*snappyPiece + 12345} {
		for _, random := range []bool{false, true} {
			raw := make([]byte, n)
			for i := range raw {
				if random {
					raw[i] = byte(rng.Uint32())
				} else {
					raw[i] = "5 123456789012 eni-0a1b2c3d 10.0.0.1 ACCEPT OK\n"[i%47]
				}
			}
			p.raw = raw
			p.compress()
			got, err := snappy.Decode(nil, p.body)
			if err != nil || !bytes.Equal(got, raw) {
				t.Fatalf("%d bytes (random %v): decoded %d bytes, %v", n, random, len(got), err)
			}
		}
	}
}
