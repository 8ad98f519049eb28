package logstore

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"golang.org/x/net/websocket"

	"github.com/flowtap/flowtap/logstore/logql"
)

func span(kv ...string) url.Values {
	v := url.Values{"start": {fmt.Sprint(t0 * int64(time.Second))}, "end": {fmt.Sprint((t0 + 100) * int64(time.Second))}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func mustGet(t *testing.T, ts *testStore, path string, v url.Values) string {
	t.Helper()
	code, body := get(t, ts.url, path, "", v)
	if code != http.StatusOK {
		t.Fatalf("%s?%s: %d %s", path, v.Encode(), code, body)
	}
	return body
}

// fixtureBytes is the line bytes of the fixture's ACCEPT and REJECT streams.
func fixtureBytes() (accept, reject int) {
	for i := 0; i < 6; i++ {
		accept += len(vpcLine(fmt.Sprint(i), 1000+i, "ACCEPT"))
		if i%2 == 0 {
			reject += len(vpcLine(fmt.Sprint(i), 2000+i, "REJECT"))
		}
	}
	return
}

func TestBuildInfoFormatQueryAndDrilldownLimits(t *testing.T) {
	ts := startStore(t, testConfig())
	var bi map[string]string
	json.Unmarshal([]byte(mustGet(t, ts, "/loki/api/v1/status/buildinfo", nil)), &bi)
	for _, k := range []string{"version", "revision", "branch", "buildUser", "buildDate", "goVersion"} {
		if _, ok := bi[k]; !ok {
			t.Fatalf("buildinfo lacks %s: %v", k, bi)
		}
	}
	if bi["version"] != LokiVersion {
		t.Fatalf("version %q", bi["version"])
	}
	mustJSON(t, mustGet(t, ts, "/loki/api/v1/format_query", url.Values{"query": {`{foo=   "bar"}`}}), `{"status":"success","data":"{foo=\"bar\"}"}`)
	if code, body := get(t, ts.url, "/loki/api/v1/format_query", "", url.Values{"query": {`{foo=`}}); code != http.StatusBadRequest || !strings.HasPrefix(body, `{"status":"invalid-query","error":"parse error`) {
		t.Fatalf("bad query: %d %s", code, body)
	}
	var dl struct {
		Limits  map[string]any `json:"limits"`
		Pattern *bool          `json:"pattern_ingester_enabled"`
		Version string         `json:"version"`
	}
	json.Unmarshal([]byte(mustGet(t, ts, "/loki/api/v1/drilldown-limits", nil)), &dl)
	if dl.Pattern == nil || dl.Version != LokiVersion || dl.Limits["volume_enabled"] != true || dl.Limits["retention_period"] != "0s" || dl.Limits["max_query_series"] != float64(500) {
		t.Fatalf("drilldown-limits %+v", dl)
	}
}

// index/volume aggregates line bytes by the selector's labels, by targetLabels, or by
// label names (aggregateBy=labels); volume_range spreads them over steps.
func TestVolume(t *testing.T) {
	ts := startStore(t, testConfig())
	pushFixture(t, ts, "")
	acc, rej := fixtureBytes()
	end := fmt.Sprint(t0 + 100)
	mustJSON(t, dataOf(t, mustGet(t, ts, "/loki/api/v1/index/volume", span("query", `{kind="vpc"}`)), -1),
		fmt.Sprintf(`{"resultType":"vector","result":[{"metric":{"kind":"vpc"},"value":[%s,"%d"]}]}`, end, acc+rej))
	mustJSON(t, dataOf(t, mustGet(t, ts, "/loki/api/v1/index/volume", span("query", `{kind="vpc"}`, "targetLabels", "action")), -1),
		fmt.Sprintf(`{"resultType":"vector","result":[{"metric":{"action":"ACCEPT"},"value":[%s,"%d"]},{"metric":{"action":"REJECT"},"value":[%s,"%d"]}]}`, end, acc, end, rej))
	mustJSON(t, dataOf(t, mustGet(t, ts, "/loki/api/v1/index/volume", span("query", `{kind="vpc", action=~".+"}`, "aggregateBy", "labels", "limit", "1")), -1),
		fmt.Sprintf(`{"resultType":"vector","result":[{"metric":{"action":""},"value":[%s,"%d"]}]}`, end, acc+rej))
	// REJECT lines at t0, t0+20, t0+40 (t0 = 20 mod 30); as Loki, steps are aligned to
	// multiples of 30 s and a step's point is at its last millisecond.
	one := len(vpcLine("0", 2000, "REJECT"))
	mustJSON(t, dataOf(t, mustGet(t, ts, "/loki/api/v1/index/volume_range", span("query", `{action="REJECT"}`, "step", "30s")), -1),
		fmt.Sprintf(`{"resultType":"matrix","result":[{"metric":{"action":"REJECT"},"values":[[%d.999,"%d"],[%d.999,"%d"],[%d.999,"%d"]]}]}`, t0+9, one, t0+39, one, t0+69, one))
	if code, body := get(t, ts.url, "/loki/api/v1/index/volume", "", span()); code != http.StatusBadRequest {
		t.Fatalf("volume without query: %d %s", code, body)
	}
}

// detected_labels counts label values; series accepts `{}` as every stream (logcli
// series '{}' --analyze-labels).
func TestDetectedLabelsAndEmptySeriesSelector(t *testing.T) {
	ts := startStore(t, testConfig())
	pushFixture(t, ts, "")
	pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{kind="ids", id="17"}`, Entries: entries(t0*1e9, "x")},
		push.Stream{Labels: `{kind="ids", id="18"}`, Entries: entries(t0*1e9, "y")})
	mustJSON(t, mustGet(t, ts, "/loki/api/v1/detected_labels", span("query", `{kind="vpc"}`)),
		`{"detectedLabels":[{"label":"action","cardinality":2},{"label":"kind","cardinality":1}]}`)
	// id holds only numbers: an identifier, left out as Loki does.
	mustJSON(t, mustGet(t, ts, "/loki/api/v1/detected_labels", span()),
		`{"detectedLabels":[{"label":"action","cardinality":2},{"label":"kind","cardinality":2}]}`)
	mustJSON(t, mustGet(t, ts, "/loki/api/v1/series", span("match[]", "{}")),
		`{"status":"success","data":[{"action":"ACCEPT","kind":"vpc"},{"action":"REJECT","kind":"vpc"},{"id":"17","kind":"ids"},{"id":"18","kind":"ids"}]}`)
}

// detected_fields parses lines (JSON, else logfmt) with Loki's type detection;
// detected_field/NAME/values lists a field's values.
func TestDetectedFields(t *testing.T) {
	ts := startStore(t, testConfig())
	pushStreams(t, ts.Store, DefaultTenant,
		push.Stream{Labels: `{app="api"}`, Entries: entries(t0*1e9, `level=info status=200 took=5ms msg="all good"`, `level=error status=500 took=1.5s msg="boom"`)},
		push.Stream{Labels: `{app="web"}`, Entries: entries(t0*1e9, `{"user":{"id":"u1"},"ok":true,"size":"10KB"}`)})
	mustJSON(t, mustGet(t, ts, "/loki/api/v1/detected_fields", span("query", `{app="api"}`)),
		`{"fields":[{"label":"level","type":"string","cardinality":2,"parsers":["logfmt"]},{"label":"msg","type":"string","cardinality":2,"parsers":["logfmt"]},`+
			`{"label":"status","type":"int","cardinality":2,"parsers":["logfmt"]},{"label":"took","type":"duration","cardinality":2,"parsers":["logfmt"]}],"limit":1000}`)
	mustJSON(t, mustGet(t, ts, "/loki/api/v1/detected_fields", span("query", `{app="web"}`)),
		`{"fields":[{"label":"ok","type":"boolean","cardinality":1,"parsers":["json"],"jsonPath":["ok"]},{"label":"size","type":"bytes","cardinality":1,"parsers":["json"],"jsonPath":["size"]},`+
			`{"label":"user_id","type":"string","cardinality":1,"parsers":["json"],"jsonPath":["user","id"]}],"limit":1000}`)
	mustJSON(t, mustGet(t, ts, "/loki/api/v1/detected_field/status/values", span("query", `{app=~".+"}`)), `{"values":["200","500"],"limit":1000}`)
}

// patterns groups lines whose variable tokens differ, with counts per step.
func TestPatterns(t *testing.T) {
	ts := startStore(t, testConfig())
	pushFixture(t, ts, "")
	var resp struct {
		Status string `json:"status"`
		Data   []struct {
			Pattern string     `json:"pattern"`
			Samples [][2]int64 `json:"samples"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(mustGet(t, ts, "/loki/api/v1/patterns", span("query", `{kind="vpc"}`, "step", "30s"))), &resp); err != nil {
		t.Fatal(err)
	}
	// per stream, the tokens that differ between lines (source address and port) vary
	v := fmt.Sprintf("2 123456789012 eni-0a1b2c3d <_> 10.0.2.9 <_> 443 6 10 840 %d %d", t0, t0+60)
	if resp.Status != "success" || len(resp.Data) != 2 || resp.Data[0].Pattern != v+" ACCEPT OK" || resp.Data[1].Pattern != v+" REJECT OK" {
		t.Fatalf("patterns %+v", resp)
	}
	// Lines at t0+0..50 s; samples at step-aligned times: t0 = 20 mod 30.
	want := [][2]int64{{t0 - 20, 1}, {t0 + 10, 3}, {t0 + 40, 2}}
	if fmt.Sprint(resp.Data[0].Samples) != fmt.Sprint(want) {
		t.Fatalf("ACCEPT samples %v, want %v", resp.Data[0].Samples, want)
	}
}

// Drain clustering: lines routed alike (same length, same words among their first
// tokens) share a cluster when enough tokens are equal, which keeps the tokens they share
// and varies where they differ; lines differing in a leading word, or in length, do not;
// a stream's clusters are bounded.
func TestDrainClusters(t *testing.T) {
	var d drain
	a := d.add("request 17 for alice took 5ms")
	if b := d.add("request 18 for alice took 7ms"); b != a {
		t.Fatal("lines sharing 4 of 6 tokens, differing in numbers, are in different clusters")
	}
	if got := strings.Join(a.tokens, " "); got != "request <_> for alice took <_>" {
		t.Fatalf("template %q", got)
	}
	if c := d.add("request 17 for bob took 5ms"); c == a {
		t.Fatal("a line with another leading word joined the cluster")
	}
	if c := d.add("request 19 for carol"); c == a {
		t.Fatal("a shorter line joined the cluster")
	}
	if c := d.add("request 20 for alice 9 10"); c == a {
		t.Fatal("a line with a number where the cluster has a word joined it")
	}
	if d.add("id 1 2 3 4 5") == d.add("id 6 7 8 9 10") {
		t.Fatal("lines routed alike but sharing 1 of 6 tokens share a cluster")
	}
	var kv drain
	x := kv.add("level=info msg=started user=alice took=5ms")
	if y := kv.add("level=error msg=failed user=bob took=1s"); y != x || strings.Join(x.tokens, " ") != "level=<_> msg=<_> user=<_> took=<_>" {
		t.Fatalf("logfmt lines with the same keys: %q", x.tokens)
	}
	var many drain
	for i := 0; i < 2*drainMaxClusters; i++ {
		many.add(fmt.Sprintf("k%d a%d b%d c%d", i, i, i, i))
	}
	if many.clusters != drainMaxClusters {
		t.Fatalf("%d clusters, want the bound %d", many.clusters, drainMaxClusters)
	}
}

// tail over a websocket: the lines from start first, then a line pushed afterwards
// within a second, in Loki's message shape.
func TestTailWebsocket(t *testing.T) {
	ts := startStore(t, testConfig())
	pushFixture(t, ts, "")
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "/loki/api/v1/tail?" + url.Values{
		"query": {`{action="REJECT"}`}, "start": {fmt.Sprint(t0 * int64(time.Second))}, "limit": {"10"}}.Encode()
	ws, err := websocket.Dial(u, "", ts.url)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	type msg struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		} `json:"streams"`
	}
	read := func() msg {
		var raw string
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := websocket.Message.Receive(ws, &raw); err != nil {
			t.Fatal(err)
		}
		var m msg
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return m
	}
	first := read()
	if len(first.Streams) != 1 || first.Streams[0].Stream["action"] != "REJECT" || len(first.Streams[0].Values) != 3 {
		t.Fatalf("backlog %+v", first)
	}
	at := time.Now()
	pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{action="REJECT", kind="vpc"}`, Entries: []push.Entry{{Timestamp: at, Line: "new line"}}})
	next := read()
	if took := time.Since(at); took > time.Second {
		t.Fatalf("new line arrived after %v", took)
	}
	if len(next.Streams) != 1 || len(next.Streams[0].Values) != 1 || next.Streams[0].Values[0] != [2]string{fmt.Sprint(at.UnixNano()), "new line"} {
		t.Fatalf("new line message %+v", next)
	}
}

// FuzzDetectFields: field detection and pattern extraction take any line without
// panicking; detected names are label names, types are Loki's, a JSON field has its key
// path, and the pattern of a single line is its tokens.
func FuzzDetectFields(f *testing.F) {
	for _, s := range []string{`level=info status=200 took=5ms msg="all good"`, `{"a":{"b":1},"c":[1,2],"d":null}`, `a==b "x=y`, `2 123 eni-1 10.0.0.1 - ACCEPT OK`, `{`, `=`, "k=\"v\\\" w\""} {
		f.Add(s)
	}
	types := map[string]bool{"int": true, "float": true, "boolean": true, "duration": true, "bytes": true, "string": true}
	stream := logql.Labels{{Name: "a", Value: "x"}}
	f.Fuzz(func(t *testing.T, line string) {
		fields, parser := logql.DetectFields(line, stream)
		if len(fields) > 0 && parser == "" {
			t.Fatalf("fields %v without a parser", fields)
		}
		for _, fd := range fields {
			if !validLabelName(fd.Name) {
				t.Fatalf("%s field %q is not a label name", parser, fd.Name)
			}
			if parser == "json" && len(fd.JSONPath) == 0 {
				t.Fatalf("json field %q without a path", fd.Name)
			}
			if !types[fieldType(fd.Value)] {
				t.Fatalf("type %q", fieldType(fd.Value))
			}
			_ = fieldValue(fd.Value)
		}
		var d drain
		if c := d.add(line); c != nil && strings.Join(c.tokens, " ") != strings.Join(strings.Fields(line), " ") {
			t.Fatalf("the pattern of one line %q is %q", line, c.tokens)
		}
	})
}

// A client that does not read loses lines, not the server's memory: once the tail's
// queue is full, lines are dropped and the next frame names them in dropped_entries
// (timestamp and labels, as Loki's), and every pushed line is either received or named.
func TestTailDropsForSlowClient(t *testing.T) {
	ts := startStore(t, testConfig())
	// a client socket with a small receive buffer that reads nothing for a while
	conn, err := (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}).Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(ts.url, "http")+"/loki/api/v1/tail?"+url.Values{"query": {`{app="flood"}`}}.Encode(), ts.url)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	const total = 12000
	pad := strings.Repeat("x", 1000)
	now := time.Now().UnixNano()
	sent := map[int64]bool{}
	for b := 0; b < total/1000; b++ {
		es := make([]push.Entry, 1000)
		for i := range es {
			n := int64(b*1000 + i)
			es[i] = push.Entry{Timestamp: time.Unix(0, now+n), Line: fmt.Sprint(n, " ", pad)}
			sent[now+n] = true
		}
		pushStreams(t, ts.Store, DefaultTenant, push.Stream{Labels: `{app="flood"}`, Entries: es})
	}
	time.Sleep(time.Second) // the tail reads on and fills its queue meanwhile
	received, named := 0, 0
	for {
		var raw string
		ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		if err := websocket.Message.Receive(ws, &raw); err != nil {
			break // nothing more for 2 s
		}
		var m struct {
			Streams []struct {
				Values [][2]string `json:"values"`
			} `json:"streams"`
			Dropped []struct {
				Timestamp string            `json:"timestamp"`
				Labels    map[string]string `json:"labels"`
			} `json:"dropped_entries"`
		}
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("%v: %.200s", err, raw)
		}
		for _, s := range m.Streams {
			for _, v := range s.Values {
				ns, _ := strconv.ParseInt(v[0], 10, 64)
				if !sent[ns] {
					t.Fatalf("line %s received twice or never sent", v[0])
				}
				delete(sent, ns)
				received++
			}
		}
		for _, d := range m.Dropped {
			ns, _ := strconv.ParseInt(d.Timestamp, 10, 64)
			if !sent[ns] || d.Labels["app"] != "flood" {
				t.Fatalf("dropped entry %+v: not a pushed line still missing", d)
			}
			delete(sent, ns)
			named++
		}
	}
	if named == 0 || received == 0 {
		t.Fatalf("received %d lines, %d named dropped: want both", received, named)
	}
	if named < tailMaxDropped && len(sent) != 0 {
		t.Fatalf("%d lines neither received nor named dropped (received %d, named %d)", len(sent), received, named)
	}
	t.Logf("received %d, named dropped %d, unnamed %d of %d", received, named, len(sent), total)
}
