package loki

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
)

// The hand-written encoder must produce exactly what Loki's generated one does for the
// same request, times before 1970, with nanoseconds and at the extremes included.
func TestAppendPushRequestMatchesLokiEncoding(t *testing.T) {
	times := []time.Time{time.Unix(1767225600, 0), time.Unix(0, 0), time.Unix(0, 1), time.Unix(-1, 999_999_999),
		time.Unix(-62135596800, 0), time.Unix(1767225600, 123_456_789), time.Unix(math.MaxInt32, 1)}
	streams := []*pushStream{
		{labels: `{account="1", kind="vpc"}`},
		{labels: "", entries: []entry{{line: ""}}},
		{labels: `{kind="tgw"}`},
	}
	var want push.PushRequest
	for i, st := range streams {
		ws := push.Stream{Labels: st.labels}
		for j, ts := range times {
			line := string(bytes.Repeat([]byte{'a' + byte(i)}, j*40))
			st.entries = append(st.entries, entry{sec: ts.Unix(), nsec: int32(ts.Nanosecond()), line: line})
		}
		for _, e := range st.entries {
			ws.Entries = append(ws.Entries, push.Entry{Timestamp: time.Unix(e.sec, int64(e.nsec)), Line: e.line})
		}
		want.Streams = append(want.Streams, ws)
	}
	wantRaw, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got := appendPushRequest([]byte("keep"), streams)
	if !bytes.HasPrefix(got, []byte("keep")) {
		t.Fatal("appendPushRequest overwrote what the buffer held")
	}
	if !bytes.Equal(got[4:], wantRaw) {
		t.Fatalf("encoding differs from Loki's:\n got %x\nwant %x", got[4:], wantRaw)
	}
	var back push.PushRequest
	if err := back.Unmarshal(got[4:]); err != nil {
		t.Fatal(err)
	}
	if len(back.Streams) != len(streams) || len(back.Streams[2].Entries) != len(times) ||
		!back.Streams[0].Entries[3].Timestamp.Equal(times[3]) {
		t.Fatalf("decoded back: %+v", back.Streams)
	}
}

func TestSortByTimeIsStable(t *testing.T) {
	st := &pushStream{entries: []entry{{sec: 2, line: "c"}, {sec: 1, nsec: 5, line: "b"}, {sec: 2, line: "d"},
		{sec: 1, line: "a"}, {sec: 2, line: "e"}}}
	st.sortByTime()
	var got string
	for _, e := range st.entries {
		got += e.line
	}
	if got != "abcde" {
		t.Fatalf("sorted lines %q, want abcde", got)
	}
}
