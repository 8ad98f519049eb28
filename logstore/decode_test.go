package logstore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/logstore/logql"
)

func TestParseLabels(t *testing.T) {
	for in, want := range map[string]string{
		`{a="1", b="2"}`:          `{a="1", b="2"}`,
		`{b="2",a="1"}`:           `{a="1", b="2"}`,
		` { job = "x\"y\\n" } `:   `{job="x\"y\\n"}`,
		"{a=`raw\\`}":             `{a="raw\\"}`,
		`{__name__="é", _x="\n"}`: `{__name__="é", _x="\n"}`,
	} {
		ls, err := ParseLabels(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if ls.String() != want {
			t.Fatalf("%s: got %s want %s", in, ls.String(), want)
		}
	}
	for _, bad := range []string{``, `{}`, `{a}`, `{a=1}`, `{a="1"`, `{a="1",}`, `{1a="x"}`, `{a="1", a="2"}`, `{a="1"} x`, `{a-b="1"}`} {
		if _, err := ParseLabels(bad); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{`{a="1", b="2"}`, `{a="\x00\u1234"}`, "{a=`x`}", `{}`, `{a="`, `{a="1",b="2",c="3"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseLabels(s)
		if err != nil {
			return
		}
		// The canonical form parses back to the same set.
		again, err := ParseLabels(ls.String())
		if err != nil || again.String() != ls.String() {
			t.Fatalf("%q → %s → %v %v", s, ls.String(), again, err)
		}
	})
}

func TestParseTimestampAndDuration(t *testing.T) {
	def := time.Unix(42, 0)
	for in, want := range map[string]time.Time{
		"":                          def,
		"1700000000":                time.Unix(1700000000, 0),
		"1700000000.5":              time.Unix(1700000000, 5e8),
		"1700000000123456789":       time.Unix(0, 1700000000123456789),
		"2023-11-14T22:13:20Z":      time.Unix(1700000000, 0),
		"2023-11-14T22:13:20.25Z":   time.Unix(1700000000, 25e7),
		"2023-11-14T23:13:20+01:00": time.Unix(1700000000, 0),
	} {
		got, err := ParseTimestamp(in, def)
		if err != nil || !got.Equal(want) {
			t.Fatalf("%q: got %v %v want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]time.Duration{"15": 15 * time.Second, "0.5": 500 * time.Millisecond, "1h30m": 90 * time.Minute,
		"2d": 48 * time.Hour, "1w": 168 * time.Hour, "250ms": 250 * time.Millisecond} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Fatalf("%q: got %v %v want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "h", "1x", "-", "9999999999999999999y"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
	if got := defaultStep(time.Unix(0, 0), time.Unix(3600, 0)); got != 14*time.Second {
		t.Fatalf("default step over 1h: %v (Loki: 14s)", got)
	}
	if got := defaultStep(time.Unix(0, 0), time.Unix(60, 0)); got != time.Second {
		t.Fatalf("default step over 1m: %v", got)
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"1700000000", "1700000000.5", "2023-11-14T22:13:20Z", "1h", "-1", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseTimestamp(s, time.Time{})
		ParseDuration(s)
	})
}

func TestRenderExactShapes(t *testing.T) {
	ls := logql.Labels{{Name: "a", Value: "x\"y"}}
	cases := map[string]*logql.Result{
		`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"x\"y"},"values":[["1700000000000000001","l\u0001\n\ufffd"]]}],"stats":`: {
			Type: logql.ResultStreams, Streams: []logql.Stream{{Labels: ls, Entries: []logql.Entry{{Timestamp: 1700000000000000001, Line: "l\x01\n\xff"}}}}},
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"x\"y"},"values":[[1700000000,"1.5"],[1700000000.25,"NaN"],[1700000001.001,"+Inf"]]}],"stats":`: {
			Type: logql.ResultMatrix, Matrix: []logql.Series{{Labels: ls, Points: []logql.Point{{T: 1700000000000, V: 1.5}, {T: 1700000000250, V: math.NaN()}, {T: 1700000001001, V: math.Inf(1)}}}}},
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.5,"100000000000000000000"]}],"stats":`: {
			Type: logql.ResultVector, Vector: []logql.Sample{{T: 1700000000500, V: 1e20}}},
		`{"status":"success","data":{"resultType":"scalar","result":[1,"-2"],"stats":`: {
			Type: logql.ResultScalar, Scalar: &logql.Point{T: 1000, V: -2}},
		`{"status":"success","data":{"resultType":"streams","result":[],"stats":`: {Type: logql.ResultStreams},
	}
	for want, res := range cases {
		got := string(renderResult(nil, res))
		if len(got) < len(want) || got[:len(want)] != want {
			t.Fatalf("got  %s\nwant %s…", got, want)
		}
		mustJSON(t, got, got) // valid JSON as a whole
	}
}

func FuzzDecodePush(f *testing.F) {
	pb := func(streams ...push.Stream) []byte { return protoBody(f, streams...) }
	f.Add("application/x-protobuf", pb(push.Stream{Labels: `{a="1"}`, Entries: entries(5, "x", "y")}))
	f.Add("application/json", []byte(`{"streams":[{"stream":{"a":"1"},"values":[["1","x"],["2","y",{"k":"v"}]]}]}`))
	f.Add("application/json", []byte(`{"streams":[{"stream":{"a":"1"},"values":[[1,"x"]]}]}`))
	f.Add("", []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		streams, err := DecodePush(ctype, body, 1<<20)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is not an *Error: %v", err)
			}
			return
		}
		for _, s := range streams {
			ParseLabels(s.Labels)
		}
	})
}

func FuzzWALRecord(f *testing.F) {
	st := newStream(1, logql.Labels{{Name: "a", Value: "1"}}, `{a="1"}`)
	payload := encodeWALPayload(nil, "fake", []resolved{{st: st, entries: []logql.Entry{{Timestamp: 5, Line: "x"}, {Timestamp: -3, Line: ""}}}})
	f.Add(payload)
	f.Add(encodeWALBody(nil, "fake", protoBody(f, push.Stream{Labels: `{a="1"}`, Entries: []push.Entry{{Timestamp: time.Unix(5, 0), Line: "x"}}}, push.Stream{Labels: `{b="1"}`})))
	f.Add([]byte{})
	f.Add([]byte{4, 'f', 'a', 'k', 'e', 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tenant, streams, err := decodeWALPayload(b)
		if err != nil {
			return
		}
		// Re-encoding a decoded record decodes to the same record (varints in b need
		// not be minimal, so the bytes may differ).
		var rs []resolved
		for _, ws := range streams {
			rs = append(rs, resolved{st: &stream{key: ws.labels}, entries: ws.entries})
		}
		tenant2, streams2, err := decodeWALPayload(encodeWALPayload(nil, tenant, rs))
		if err != nil || tenant2 != tenant || fmt.Sprint(streams2) != fmt.Sprint(streams) {
			t.Fatalf("round trip differs: %v", err)
		}
		decodeWALRecord(b)
	})
}

func FuzzChunkHeader(f *testing.F) {
	dir := f.TempDir()
	b, _ := newRawBlock([]logql.Entry{{Timestamp: 1, Line: "a"}, {Timestamp: 2, Line: "b"}}, true)
	c, err := writeChunkFile(dir, 1, `{a="1"}`, 7, []*block{b.compressed(CodecZstd)})
	if err != nil {
		f.Fatal(err)
	}
	hdr, _ := readChunkHeader(c.path)
	f.Add([]byte(hdr.labels))
	f.Add([]byte{7, '{', 'a', '=', '"', '1', '"', '}', 2, 4, 7, 1, 2, 4, 2, 1, 10, 20})
	f.Fuzz(func(t *testing.T, h []byte) {
		decodeChunkHeader(h)
		decodeEntries(nil, h)
	})
}

// Blocks of both codecs decode back to the entries, sorted and without duplicates.
func TestBlockRoundTrip(t *testing.T) {
	es := []logql.Entry{{Timestamp: 30, Line: "c"}, {Timestamp: 10, Line: "a"}, {Timestamp: 10, Line: "a"}, {Timestamp: -5, Line: ""}, {Timestamp: 10, Line: "0"}}
	for _, c := range []Codec{CodecZstd, CodecS2} {
		b, dropped := newRawBlock(append([]logql.Entry(nil), es...), false)
		if dropped != 1 {
			t.Fatalf("dropped %d", dropped)
		}
		got, err := b.compressed(c).entries(nil)
		if err != nil {
			t.Fatal(err)
		}
		if entriesString(got) != "-5 \n10 0\n10 a\n30 c\n" {
			t.Fatalf("codec %d: %q", c, entriesString(got))
		}
	}
}

// FuzzDecodePushRequest checks the push decoder against the generated Unmarshal of Loki's
// push package: the same bodies refused, the same streams and entries from the others.
func FuzzDecodePushRequest(f *testing.F) {
	ts := time.Unix(1700000000, 5).UTC()
	for _, req := range []push.PushRequest{
		{Streams: []push.Stream{{Labels: `{a="1"}`, Entries: []push.Entry{{Timestamp: ts, Line: "x"}, {Timestamp: ts, Line: ""}}}}},
		{Streams: []push.Stream{{Labels: `{a="1"}`, Hash: 7}, {Labels: `{b="2"}`, Entries: []push.Entry{{Timestamp: time.Unix(-62135596800, 0).UTC(), Line: "y",
			StructuredMetadata: push.LabelsAdapter{{Name: "k", Value: "v"}}, Parsed: push.LabelsAdapter{{Name: "p", Value: ""}}}}}}},
		{},
	} {
		b, err := req.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0b, 0x0c})                         // a group at the top level
	f.Add([]byte{0x0a, 0x04, 0x13, 0x08, 0x01, 0x14}) // a group in a stream
	f.Add([]byte{0x12, 0x01, 'j', 0x0a, 0x00})        // format, then an empty stream
	f.Fuzz(func(t *testing.T, b []byte) {
		var want push.PushRequest
		wantErr := want.Unmarshal(b)
		got, err := decodePushRequest(b)
		if err != nil && strings.Contains(err.Error(), "nested too deep") {
			return // Loki's Unmarshal recurses without bound
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decode error %v, Unmarshal error %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) == 0 && len(want.Streams) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want.Streams) {
			t.Fatalf("decoded\n%#v\nUnmarshal\n%#v", got, want.Streams)
		}
	})
}

// sortDedup orders as a sort by compareEntries does and drops exactly the duplicates, for
// heads in time order, a little out of order, reversed (the general sort's fallback) and
// random, with timestamps shared by many lines.
func TestSortDedupMatchesCompareEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func(i int) int64{
		"sorted":   func(i int) int64 { return int64(i / 4) },
		"late":     func(i int) int64 { return int64(i/4 - rng.IntN(3)*rng.IntN(2)) },
		"reversed": func(i int) int64 { return int64(-i / 3) },
		"random":   func(int) int64 { return int64(rng.IntN(50)) },
	}
	// Lines sharing a prefix or not, some a prefix of others, some differing only past
	// their first 8 bytes after the shared prefix, with zero bytes (the keys' padding).
	suffixes := []string{"", "\x00", "a", "a\x00", "ab", "abcdefghij", "abcdefghik", "abcdefgh", "b", "\xff"}
	for name, ts := range shapes {
		for _, n := range []int{0, 1, 2, 13, 500} {
			es := make([]logql.Entry, n)
			prefix := "2 123456789012 eni-0a1b "
			if n == 13 {
				prefix = ""
			}
			for i := range es {
				es[i] = logql.Entry{Timestamp: ts(i), Line: prefix + suffixes[rng.IntN(len(suffixes))]}
			}
			want := slices.Clone(es)
			slices.SortFunc(want, compareEntries)
			want = slices.CompactFunc(want, func(a, b logql.Entry) bool { return compareEntries(a, b) == 0 })
			got, dropped := sortDedup(slices.Clone(es), false)
			if entriesString(got) != entriesString(want) || dropped != n-len(want) {
				t.Fatalf("%s, %d entries: got %d entries (%d dropped), want %d", name, n, len(got), dropped, len(want))
			}
		}
	}
}
