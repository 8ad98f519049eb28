package logstore

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki-client-go/loki"
	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/common/model"
)

// t0 is the base time of the API fixtures, in Unix seconds.
const t0 = 1700000000

func vpcLine(src string, port int, action string) string {
	return fmt.Sprintf("2 123456789012 eni-0a1b2c3d 10.0.1.%s 10.0.2.9 %d 443 6 10 840 %d %d %s OK", src, port, t0, t0+60, action)
}

// fixture pushes, through loki-client-go (protobuf + snappy), two VPC streams:
// {action="ACCEPT"} and {action="REJECT"}, one line every 10 s from t0.
func pushFixture(t *testing.T, ts *testStore, tenant string) {
	t.Helper()
	cfg, err := loki.NewDefaultConfig(ts.url + "/loki/api/v1/push")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BatchWait = 20 * time.Millisecond
	cfg.TenantID = tenant
	c, err := loki.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		at := time.Unix(t0+int64(i)*10, 0)
		if err := c.Handle(model.LabelSet{"kind": "vpc", "action": "ACCEPT"}, at, vpcLine(fmt.Sprint(i), 1000+i, "ACCEPT")); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := c.Handle(model.LabelSet{"kind": "vpc", "action": "REJECT"}, at, vpcLine(fmt.Sprint(i), 2000+i, "REJECT")); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.Stop() // sends the last batch and waits for it
	got := selectAll(t, ts.Store, tenantOrFake(tenant), `{kind="vpc"}`)
	if len(got[`{action="ACCEPT", kind="vpc"}`]) != 6 || len(got[`{action="REJECT", kind="vpc"}`]) != 3 {
		t.Fatalf("loki-client-go push stored %v", got)
	}
}

func tenantOrFake(t string) string {
	if t == "" {
		return DefaultTenant
	}
	return t
}

// dataOf returns the "data" member of a query response and checks the envelope and the
// stats summary.
func dataOf(t *testing.T, body string, wantLines int64) string {
	t.Helper()
	var env struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
			Stats      struct {
				Summary map[string]float64 `json:"summary"`
				Querier map[string]any     `json:"querier"`
				Ingest  map[string]any     `json:"ingester"`
				Cache   map[string]any     `json:"cache"`
			} `json:"stats"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("bad response %v: %s", err, body)
	}
	if env.Status != "success" {
		t.Fatalf("status %q", env.Status)
	}
	for _, k := range []string{"bytesProcessedPerSecond", "linesProcessedPerSecond", "totalBytesProcessed", "totalLinesProcessed",
		"execTime", "queueTime", "subqueries", "totalEntriesReturned", "totalPostFilterLines"} {
		if _, ok := env.Data.Stats.Summary[k]; !ok {
			t.Fatalf("stats.summary lacks %s: %s", k, body)
		}
	}
	if env.Data.Stats.Querier == nil || env.Data.Stats.Ingest == nil || env.Data.Stats.Cache == nil {
		t.Fatalf("stats lacks querier/ingester/cache: %s", body)
	}
	if wantLines >= 0 && int64(env.Data.Stats.Summary["totalLinesProcessed"]) != wantLines {
		t.Fatalf("totalLinesProcessed = %v, want %d", env.Data.Stats.Summary["totalLinesProcessed"], wantLines)
	}
	return fmt.Sprintf(`{"resultType":%q,"result":%s}`, env.Data.ResultType, env.Data.Result)
}

func qr(query string, kv ...string) url.Values {
	v := url.Values{"query": {query}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestQueryShapesAfterLokiClientPush(t *testing.T) {
	ts := startStore(t, testConfig())
	pushFixture(t, ts, "")
	start, end := fmt.Sprint(t0), fmt.Sprint(t0+60)

	t.Run("streams backward with limit", func(t *testing.T) {
		code, body := get(t, ts.url, "/loki/api/v1/query_range", "", qr(`{kind="vpc"} |= "REJECT"`, "start", start, "end", end, "limit", "2"))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		mustJSON(t, dataOf(t, body, 9), fmt.Sprintf(`{"resultType":"streams","result":[
			{"stream":{"action":"REJECT","kind":"vpc"},"values":[["%d","%s"],["%d","%s"]]}]}`,
			int64(t0+40)*1e9, vpcLine("4", 2004, "REJECT"), int64(t0+20)*1e9, vpcLine("2", 2002, "REJECT")))
	})
	t.Run("streams forward, POST form", func(t *testing.T) {
		form := qr(`{action="ACCEPT"} |~ "10\\.0\\.1\\.[01] "`, "start", start, "end", end, "direction", "FORWARD")
		code, body := do(t, "POST", ts.url+"/loki/api/v1/query_range", "", "application/x-www-form-urlencoded", []byte(form.Encode()))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		mustJSON(t, dataOf(t, body, 6), fmt.Sprintf(`{"resultType":"streams","result":[
			{"stream":{"action":"ACCEPT","kind":"vpc"},"values":[["%d","%s"],["%d","%s"]]}]}`,
			int64(t0)*1e9, vpcLine("0", 1000, "ACCEPT"), int64(t0+10)*1e9, vpcLine("1", 1001, "ACCEPT")))
	})
	t.Run("matrix with step alignment", func(t *testing.T) {
		// start is not a multiple of the step: as Grafana Loki 3.5 does (its query frontend
		// splits metric queries and aligns them), start rounds down and end up to the step
		// grid (bench/loki's compatibility goldens show it).
		code, body := get(t, ts.url, "/loki/api/v1/query_range", "", qr(`sum by (action) (count_over_time({kind="vpc"}[20s]))`,
			"start", fmt.Sprintf("%d.5", t0+10), "end", fmt.Sprint(t0+60), "step", "20s"))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		// Windows (t-20s, t] at t0, t0+20, t0+40, t0+60.
		mustJSON(t, dataOf(t, body, -1), fmt.Sprintf(`{"resultType":"matrix","result":[
			{"metric":{"action":"ACCEPT"},"values":[[%d,"1"],[%d,"2"],[%d,"2"],[%d,"1"]]},
			{"metric":{"action":"REJECT"},"values":[[%d,"1"],[%d,"1"],[%d,"1"]]}]}`,
			t0, t0+20, t0+40, t0+60, t0, t0+20, t0+40))
	})
	t.Run("matrix default step", func(t *testing.T) {
		// No step: Loki's default, the range over 250 in whole seconds (at least 1 s).
		// Over 500 s that is 2 s, so a 1m rate yields a point every 2 s.
		code, body := get(t, ts.url, "/loki/api/v1/query_range", "", qr(`count_over_time({action="REJECT"}[1m])`,
			"start", fmt.Sprint(t0), "end", fmt.Sprint(t0+500)))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		var resp struct {
			Data struct {
				Result []struct {
					Values [][2]any `json:"values"`
				} `json:"result"`
			} `json:"data"`
		}
		json.Unmarshal([]byte(body), &resp)
		vals := resp.Data.Result[0].Values
		if len(vals) < 2 || vals[1][0].(float64)-vals[0][0].(float64) != 2 {
			t.Fatalf("default step: %v", vals)
		}
	})
	t.Run("vector instant", func(t *testing.T) {
		code, body := get(t, ts.url, "/loki/api/v1/query", "", qr(`topk(1, sum by (action) (count_over_time({kind="vpc"}[1m])))`,
			"time", fmt.Sprint(t0+55)))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		mustJSON(t, dataOf(t, body, -1), fmt.Sprintf(`{"resultType":"vector","result":[
			{"metric":{"action":"ACCEPT"},"value":[%d,"6"]}]}`, t0+55))
	})
	t.Run("scalar", func(t *testing.T) {
		code, body := get(t, ts.url, "/loki/api/v1/query", "", qr(`2 * 3`, "time", fmt.Sprint(t0)))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		mustJSON(t, dataOf(t, body, 0), fmt.Sprintf(`{"resultType":"scalar","result":[%d,"6"]}`, t0))
	})
	t.Run("pattern parser on default VPC format", func(t *testing.T) {
		q := `sum by (srcaddr) (count_over_time({kind="vpc"} | pattern "<version> <account> <eni> <srcaddr> <dstaddr> <srcport> <dstport> <proto> <packets> <bytes> <start> <end> <action> <status>" | action="REJECT" [1m]))`
		code, body := get(t, ts.url, "/loki/api/v1/query", "", qr(q, "time", fmt.Sprint(t0+55)))
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		mustJSON(t, dataOf(t, body, -1), fmt.Sprintf(`{"resultType":"vector","result":[
			{"metric":{"srcaddr":"10.0.1.0"},"value":[%[1]d,"1"]},
			{"metric":{"srcaddr":"10.0.1.2"},"value":[%[1]d,"1"]},
			{"metric":{"srcaddr":"10.0.1.4"},"value":[%[1]d,"1"]}]}`, t0+55))
	})
	t.Run("labels, values, series, index stats", func(t *testing.T) {
		span := url.Values{"start": {start}, "end": {end}}
		code, body := get(t, ts.url, "/loki/api/v1/labels", "", span)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		mustJSON(t, body, `{"status":"success","data":["action","kind"]}`)
		_, body = get(t, ts.url, "/loki/api/v1/label/action/values", "", span)
		mustJSON(t, body, `{"status":"success","data":["ACCEPT","REJECT"]}`)
		_, body = get(t, ts.url, "/loki/api/v1/series", "", url.Values{"start": {start}, "end": {end}, "match[]": {`{action="REJECT"}`}})
		mustJSON(t, body, `{"status":"success","data":[{"action":"REJECT","kind":"vpc"}]}`)
		_, body = get(t, ts.url, "/loki/api/v1/index/stats", "", url.Values{"start": {start}, "end": {end}, "query": {`{kind="vpc"}`}})
		var bytes int
		for i := 0; i < 6; i++ {
			bytes += len(vpcLine(fmt.Sprint(i), 1000+i, "ACCEPT"))
			if i%2 == 0 {
				bytes += len(vpcLine(fmt.Sprint(i), 2000+i, "REJECT"))
			}
		}
		mustJSON(t, body, fmt.Sprintf(`{"streams":2,"chunks":2,"bytes":%d,"entries":9}`, bytes))
		// Outside the data's time range the metadata endpoints return nothing.
		_, body = get(t, ts.url, "/loki/api/v1/labels", "", url.Values{"start": {"1"}, "end": {"2"}})
		mustJSON(t, body, `{"status":"success","data":[]}`)
	})
	t.Run("ready and metrics", func(t *testing.T) {
		code, body := get(t, ts.url, "/ready", "", nil)
		if code != 200 || strings.TrimSpace(body) != "ready" {
			t.Fatalf("ready: %d %q", code, body)
		}
		_, body = get(t, ts.url, "/metrics", "", nil)
		if !strings.Contains(body, "flowtap_logstore_ingested_lines_total 9") {
			t.Fatalf("metrics lack ingested lines: %s", body)
		}
	})
}

// JSON pushes (plain and gzip) are stored like protobuf ones; out-of-order lines are
// accepted and come back ordered; a redelivered push adds nothing.
func TestJSONPushGzipOutOfOrderAndRedelivery(t *testing.T) {
	ts := startStore(t, testConfig())
	body := fmt.Sprintf(`{"streams":[{"stream":{"job":"json","host":"a"},"values":[
		["%d","third"],["%d","first"],["%d","second", {"trace_id":"x"}]]}]}`, int64(t0+30)*1e9, int64(t0+10)*1e9, int64(t0+20)*1e9)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(body))
	zw.Close()
	for i, send := range []func() (int, string){
		func() (int, string) {
			return do(t, "POST", ts.url+"/loki/api/v1/push", "", "application/json", []byte(body))
		},
		func() (int, string) {
			return do(t, "POST", ts.url+"/loki/api/v1/push", "", "application/json", gz.Bytes(), "Content-Encoding", "gzip")
		},
	} {
		if code, msg := send(); code != 204 {
			t.Fatalf("push %d: %d %s", i, code, msg)
		}
	}
	// A late, older line in the same stream, as protobuf.
	pb := protoBody(t, push.Stream{Labels: `{host="a", job="json"}`, Entries: []push.Entry{{Timestamp: time.Unix(t0+5, 0), Line: "zeroth"}}})
	if code, msg := do(t, "POST", ts.url+"/loki/api/v1/push", "", "application/x-protobuf", pb); code != 204 {
		t.Fatalf("protobuf push: %d %s", code, msg)
	}
	code, resp := get(t, ts.url, "/loki/api/v1/query_range", "", qr(`{job="json"}`, "start", fmt.Sprint(t0), "end", fmt.Sprint(t0+60), "direction", "forward"))
	if code != 200 {
		t.Fatalf("%d %s", code, resp)
	}
	mustJSON(t, dataOf(t, resp, 4), fmt.Sprintf(`{"resultType":"streams","result":[{"stream":{"host":"a","job":"json"},"values":[
		["%d","zeroth"],["%d","first"],["%d","second"],["%d","third"]]}]}`,
		int64(t0+5)*1e9, int64(t0+10)*1e9, int64(t0+20)*1e9, int64(t0+30)*1e9))
}

func TestBadInput(t *testing.T) {
	cfg := testConfig()
	cfg.AuthEnabled = true
	cfg.MaxPushBytes = 4096
	cfg.MaxEntriesLimit = 1000
	ts := startStore(t, cfg)
	push1 := protoBody(t, push.Stream{Labels: `{a="1"}`, Entries: entries(t0*1e9, "x")})
	big := protoBody(t, push.Stream{Labels: `{a="1"}`, Entries: entries(t0*1e9, strings.Repeat("y", 8000))})
	cases := []struct {
		name       string
		method     string
		path       string
		tenant     string
		ctype      string
		body       []byte
		hdr        []string
		wantCode   int
		wantPrefix string
	}{
		{"no org id", "POST", "/loki/api/v1/push", "", "application/x-protobuf", push1, nil, 401, "no org id"},
		{"no org id on query", "GET", "/loki/api/v1/labels", "", "", nil, nil, 401, "no org id"},
		{"bad tenant", "GET", "/loki/api/v1/labels", "a/b", "", nil, nil, 400, "tenant ID 'a/b' contains unsupported character '/'"},
		{"oversized push", "POST", "/loki/api/v1/push", "t", "application/x-protobuf", big, nil, 413, "request body too large"},
		{"oversized raw body", "POST", "/loki/api/v1/push", "t", "application/json", bytes.Repeat([]byte(" "), 5000), nil, 413, "request body too large"},
		{"garbage body", "POST", "/loki/api/v1/push", "t", "application/x-protobuf", []byte("\x00\x01 not a push"), nil, 400, ""},
		{"garbage json", "POST", "/loki/api/v1/push", "t", "application/json", []byte(`{"streams":[{"stream":`), nil, 400, ""},
		{"bad labels", "POST", "/loki/api/v1/push", "t", "application/x-protobuf",
			protoBody(t, push.Stream{Labels: `{a="1"`, Entries: entries(1, "x")}), nil, 400, `error parsing labels {a="1"`},
		{"no labels json", "POST", "/loki/api/v1/push", "t", "application/json",
			[]byte(`{"streams":[{"stream":{},"values":[["1","x"]]}]}`), nil, 400, "error parsing labels {}: at least one label pair is required per stream"},
		{"unknown encoding", "POST", "/loki/api/v1/push", "t", "application/json", []byte(`{}`), []string{"Content-Encoding", "br"}, 415, `Content-Encoding "br" not supported`},
		{"malformed logql", "GET", "/loki/api/v1/query_range?query=" + url.QueryEscape(`{a="1"} |= `), "t", "", nil, nil, 400, "parse error at line 1, col "},
		{"malformed selector", "GET", "/loki/api/v1/series?match[]=" + url.QueryEscape(`{a=}`), "t", "", nil, nil, 400, "parse error at line 1, col "},
		{"limit over max", "GET", "/loki/api/v1/query_range?limit=5000&query=" + url.QueryEscape(`{a="1"}`), "t", "", nil, nil, 400, "max entries limit per query exceeded"},
		{"end before start", "GET", "/loki/api/v1/query_range?start=20&end=10&query=" + url.QueryEscape(`{a="1"}`), "t", "", nil, nil, 400, "end timestamp must not be before or equal to start time"},
		{"too many points", "GET", "/loki/api/v1/query_range?start=0&end=100000&step=1&query=" + url.QueryEscape(`rate({a="1"}[1m])`), "t", "", nil, nil, 400, "exceeded maximum resolution of 11,000 points"},
		{"bad step", "GET", "/loki/api/v1/query_range?step=-5&query=" + url.QueryEscape(`rate({a="1"}[1m])`), "t", "", nil, nil, 400, "zero or negative query resolution step"},
		{"bad time", "GET", "/loki/api/v1/query?time=yesterday&query=" + url.QueryEscape(`rate({a="1"}[1m])`), "t", "", nil, nil, 400, `cannot parse "yesterday" to a valid timestamp`},
		{"instant log query", "GET", "/loki/api/v1/query?query=" + url.QueryEscape(`{a="1"}`), "t", "", nil, nil, 400, "log queries are not supported as an instant query type"},
		{"wrong method", "DELETE", "/loki/api/v1/push", "t", "", nil, nil, 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, c.method, ts.url+c.path, c.tenant, c.ctype, c.body, c.hdr...)
			if code != c.wantCode || !strings.HasPrefix(body, c.wantPrefix) {
				t.Fatalf("got %d %q, want %d %q…", code, body, c.wantCode, c.wantPrefix)
			}
		})
	}
	// Nothing of the refused pushes was stored.
	if got := selectAll(t, ts.Store, "t", `{a=~".*"}`); len(got) != 0 {
		t.Fatalf("refused pushes stored %v", got)
	}
}

// Tenant A never sees tenant B's streams, labels, series or stats.
func TestTenantIsolation(t *testing.T) {
	cfg := testConfig()
	cfg.AuthEnabled = true
	ts := startStore(t, cfg)
	for _, tn := range []string{"team-a", "team-b"} {
		body := protoBody(t, push.Stream{Labels: fmt.Sprintf(`{owner=%q, only_%s="1"}`, tn, strings.TrimPrefix(tn, "team-")),
			Entries: entries(int64(t0)*1e9, "secret of "+tn)})
		if code, msg := do(t, "POST", ts.url+"/loki/api/v1/push", tn, "application/x-protobuf", body); code != 204 {
			t.Fatalf("%d %s", code, msg)
		}
	}
	span := url.Values{"start": {fmt.Sprint(t0 - 10)}, "end": {fmt.Sprint(t0 + 10)}}
	for _, c := range []struct{ me, other string }{{"team-a", "team-b"}, {"team-b", "team-a"}} {
		mine, theirs := strings.TrimPrefix(c.me, "team-"), strings.TrimPrefix(c.other, "team-")
		_, body := get(t, ts.url, "/loki/api/v1/labels", c.me, span)
		mustJSON(t, body, fmt.Sprintf(`{"status":"success","data":["only_%s","owner"]}`, mine))
		_, body = get(t, ts.url, "/loki/api/v1/label/owner/values", c.me, span)
		mustJSON(t, body, fmt.Sprintf(`{"status":"success","data":[%q]}`, c.me))
		sp := url.Values{"start": span["start"], "end": span["end"], "match[]": {`{owner=~".+"}`}}
		_, body = get(t, ts.url, "/loki/api/v1/series", c.me, sp)
		mustJSON(t, body, fmt.Sprintf(`{"status":"success","data":[{"only_%s":"1","owner":%q}]}`, mine, c.me))
		_, body = get(t, ts.url, "/loki/api/v1/series", c.me, url.Values{"start": span["start"], "end": span["end"], "match[]": {fmt.Sprintf(`{only_%s="1"}`, theirs)}})
		mustJSON(t, body, `{"status":"success","data":[]}`)
		_, body = get(t, ts.url, "/loki/api/v1/index/stats", c.me, url.Values{"start": span["start"], "end": span["end"], "query": {`{owner=~".+"}`}})
		mustJSON(t, body, fmt.Sprintf(`{"streams":1,"chunks":1,"bytes":%d,"entries":1}`, len("secret of "+c.me)))
		code, body := get(t, ts.url, "/loki/api/v1/query_range", c.me, qr(`{owner=~".+"}`, "start", span["start"][0], "end", span["end"][0]))
		if code != 200 || strings.Contains(body, c.other) || !strings.Contains(body, "secret of "+c.me) {
			t.Fatalf("%s query_range: %d %s", c.me, code, body)
		}
		code, body = get(t, ts.url, "/loki/api/v1/query", c.me, qr(`sum(count_over_time({owner=~".+"}[1m]))`, "time", fmt.Sprint(t0+5)))
		if code != 200 || !strings.Contains(body, `"value":[1700000005,"1"]`) {
			t.Fatalf("%s instant count: %d %s", c.me, code, body)
		}
	}
	// A third tenant sees nothing at all.
	_, body := get(t, ts.url, "/loki/api/v1/labels", "team-c", span)
	mustJSON(t, body, `{"status":"success","data":[]}`)
}

// TestDuplicatesOfEarlierPushesKeepCountersMonotonic: a push whose block close drops more
// copies (of lines an earlier push stored out of order) than it carries itself must still
// be acknowledged, store each line once and leave ingested − duplicates = lines stored. The
// ingested-lines counter used to be given a negative delta here, and panicked.
func TestDuplicatesOfEarlierPushesKeepCountersMonotonic(t *testing.T) {
	cfg := testConfig()
	cfg.BlockSize = 64
	ts := startStore(t, cfg)
	dup := push.Entry{Timestamp: time.Unix(t0+1, 0), Line: "a"}
	// Two non-adjacent copies stay in the head: only the block's sort finds them.
	first := protoBody(t, push.Stream{Labels: `{job="dup"}`, Entries: []push.Entry{
		dup, {Timestamp: time.Unix(t0+2, 0), Line: "b"}, dup, {Timestamp: time.Unix(t0+2, 0), Line: "b"}}})
	// One long line closes the head block.
	second := protoBody(t, push.Stream{Labels: `{job="dup"}`, Entries: []push.Entry{{Timestamp: time.Unix(t0+3, 0), Line: strings.Repeat("c", 100)}}})
	for i, body := range [][]byte{first, second} {
		if code, msg := do(t, "POST", ts.url+"/loki/api/v1/push", "", "application/x-protobuf", body); code != 204 {
			t.Fatalf("push %d: %d %s", i, code, msg)
		}
	}
	code, resp := get(t, ts.url, "/loki/api/v1/query_range", "", qr(`{job="dup"}`, "start", fmt.Sprint(t0), "end", fmt.Sprint(t0+60), "direction", "forward"))
	if code != 200 {
		t.Fatalf("%d %s", code, resp)
	}
	mustJSON(t, dataOf(t, resp, 3), fmt.Sprintf(`{"resultType":"streams","result":[{"stream":{"job":"dup"},"values":[
		["%d","a"],["%d","b"],["%d","%s"]]}]}`, int64(t0+1)*1e9, int64(t0+2)*1e9, int64(t0+3)*1e9, strings.Repeat("c", 100)))
	_, body := get(t, ts.url, "/metrics", "", nil)
	for _, want := range []string{"flowtap_logstore_ingested_lines_total 5", "flowtap_logstore_duplicate_lines_total 2"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}
