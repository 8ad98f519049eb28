package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/logstore"
)

func decodeFile(t *testing.T, name string) *Result {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func render(t *testing.T, res *Result, out Output, forward bool) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, res, out, forward); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The testdata files are response bodies in the shapes Loki's HTTP API documents.
func TestDecodeRecordedResponses(t *testing.T) {
	res := decodeFile(t, "streams.json")
	want := `2019-09-11T20:38:01.726Z {filename="/var/log/myproject.log", job="varlogs", level="info"} foo
2019-09-11T20:37:55.000Z {job="varlogs", level="error"}                                   baz
2019-09-11T20:37:49.716Z {filename="/var/log/myproject.log", job="varlogs", level="info"} bar
`
	if got := render(t, res, OutputTable, false); got != want {
		t.Errorf("streams table:\n%s\nwant\n%s", got, want)
	}
	if got := render(t, res, OutputRaw, true); got != "bar\nbaz\nfoo\n" {
		t.Errorf("streams raw forward: %q", got)
	}
	js := render(t, res, OutputJSON, false)
	var first struct {
		Timestamp string
		Labels    map[string]string
		Line      string
	}
	if err := json.Unmarshal([]byte(strings.SplitN(js, "\n", 2)[0]), &first); err != nil || first.Line != "foo" || first.Labels["job"] != "varlogs" || first.Timestamp != "2019-09-11T20:38:01.726420425Z" {
		t.Errorf("streams json: %v %+v", err, first)
	}
	if md := res.Streams[1].Entries[0].Metadata; md["trace_id"] != "abc" {
		t.Errorf("structured metadata: %v", md)
	}

	want = `level  time                        value
-----  ------------------------  -------
error  2020-05-07T22:07:01.000Z        2
info   2020-05-07T22:07:01.000Z   137.95
info   2020-05-07T22:07:01.500Z  467.115
(2 series, 3 samples)
`
	if got := render(t, decodeFile(t, "matrix.json"), OutputTable, false); got != want {
		t.Errorf("matrix table:\n%s\nwant\n%s", got, want)
	}
	want = `{} 2020-05-07T22:07:01.000Z 1267.1266666666666
{level="warn"} 2020-05-07T22:07:01.123Z 37.77166666666667
`
	if got := render(t, decodeFile(t, "vector.json"), OutputRaw, false); got != want {
		t.Errorf("vector raw:\n%s\nwant\n%s", got, want)
	}
	if got := render(t, decodeFile(t, "scalar.json"), OutputRaw, false); got != "{} 2020-05-07T22:07:01.000Z 3\n" {
		t.Errorf("scalar: %q", got)
	}
}

func TestDecodeRejectsBadBodies(t *testing.T) {
	for _, body := range []string{
		``, `{`, `{"status":"error","error":"boom"}`,
		`{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["x","l"]]}]}}`,
		`{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["a","1"]]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[]}]}}`,
		`{"status":"success","data":{"resultType":"table","result":[]}}`,
	} {
		if _, err := Decode(strings.NewReader(body)); err == nil {
			t.Errorf("%q: want error", body)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, n := range []string{"streams.json", "matrix.json", "vector.json", "scalar.json"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Decode(bytes.NewReader(body))
		if err != nil {
			return
		}
		for _, o := range []Output{OutputTable, OutputRaw, OutputJSON} {
			var b bytes.Buffer
			if err := Write(&b, res, o, false); err != nil && res.Type != "" {
				// Every decoded result must print.
				t.Fatalf("%s: %v", o, err)
			}
		}
	})
}

// startStore runs the embedded log store with auth on, behind a 127.0.0.1 server.
func startStore(t *testing.T) (*logstore.Store, string) {
	t.Helper()
	cfg := testenv.LogstoreConfig(t)
	cfg.Retention = 0
	cfg.AuthEnabled = true
	return testenv.Logstore(t, cfg)
}

func TestAgainstEmbeddedLogStore(t *testing.T) {
	s, url := startStore(t)
	ctx := context.Background()
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var accept, reject []push.Entry
	for i := range 6 {
		accept = append(accept, push.Entry{Timestamp: base.Add(time.Duration(i) * time.Second), Line: "2 111 eni-1 10.0.0.1 10.0.0.2 4000" + string(rune('0'+i)) + " 443 6 1 40 1 2 ACCEPT OK"})
	}
	for i := range 2 {
		reject = append(reject, push.Entry{Timestamp: base.Add(time.Duration(10+i) * time.Second), Line: "2 111 eni-1 10.0.0.3 10.0.0.2 5000 22 6 1 40 1 2 REJECT OK"})
	}
	err := s.Push(ctx, "team-a", []push.Stream{
		{Labels: `{source="vpc", action="ACCEPT"}`, Entries: accept},
		{Labels: `{source="vpc", action="REJECT"}`, Entries: reject},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: url, Tenant: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	res, err := c.Query(ctx, Request{Query: `{source="vpc"} |= "REJECT"`, Start: now.Add(-time.Hour), End: now, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, res, OutputRaw, false)
	if got != strings.Repeat("2 111 eni-1 10.0.0.3 10.0.0.2 5000 22 6 1 40 1 2 REJECT OK\n", 2) {
		t.Errorf("filtered lines: %q", got)
	}
	// The limit keeps the newest lines across streams.
	res, err = c.Query(ctx, Request{Query: `{source="vpc"}`, Start: now.Add(-time.Hour), End: now, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(render(t, res, OutputTable, false)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `{action="REJECT", source="vpc"}`) || !strings.Contains(lines[2], "40005") {
		t.Errorf("limit 3, newest first:\n%s", strings.Join(lines, "\n"))
	}
	// A metric query gives a table of series.
	res, err = c.Query(ctx, Request{Query: `sum by (action) (count_over_time({source="vpc"}[1h]))`, Instant: true, End: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Type != "vector" {
		t.Fatalf("instant metric query: %s", res.Type)
	}
	table := render(t, res, OutputTable, false)
	tl := strings.Split(table, "\n")
	if len(tl) != 6 || !strings.HasPrefix(tl[0], "action  time") || !strings.HasPrefix(tl[2], "ACCEPT") || !strings.HasSuffix(tl[2], " 6") ||
		!strings.HasPrefix(tl[3], "REJECT") || !strings.HasSuffix(tl[3], " 2") || tl[4] != "(2 series, 2 samples)" {
		t.Errorf("vector table:\n%s", table)
	}
	res, err = c.Query(ctx, Request{Query: `count_over_time({source="vpc"}[1m])`, Start: now.Add(-time.Hour), End: now, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, s := range res.Series {
		for _, p := range s.Samples {
			var v float64
			json.Unmarshal([]byte(p.Value), &v)
			total += v
		}
	}
	if res.Type != "matrix" || len(res.Series) != 2 || total < 8 {
		t.Errorf("matrix: %s %d series, total %v", res.Type, len(res.Series), total)
	}

	// Another tenant sees nothing.
	other, _ := New(Config{URL: url, Tenant: "team-b"})
	res, err = other.Query(ctx, Request{Query: `{source="vpc"}`, Start: now.Add(-time.Hour), End: now})
	if err != nil || len(res.Streams) != 0 {
		t.Errorf("tenant isolation: %v %+v", err, res)
	}

	// A LogQL error comes back verbatim with its position.
	_, err = c.Query(ctx, Request{Query: `{source="vpc"} |= `, Start: now.Add(-time.Hour), End: now})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(he.Body, "parse error") || !strings.Contains(err.Error(), he.Body) {
		t.Errorf("bad LogQL: %v", err)
	}
	// No tenant with auth on is refused, and the body says why.
	anon, _ := New(Config{URL: url})
	_, err = anon.Query(ctx, Request{Query: `{source="vpc"}`})
	if !errors.As(err, &he) || he.Status != 401 || he.Body == "" {
		t.Errorf("missing tenant: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New(Config{URL: "http://" + addr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Query(context.Background(), Request{Query: `{a="b"}`})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable: %v", err)
	}
	for _, bad := range []string{"", "127.0.0.1:3100", "ftp://x", "http://"} {
		if _, err := New(Config{URL: bad}); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}
