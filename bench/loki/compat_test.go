package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flowtap/flowtap/internal/testenv"
	"github.com/flowtap/flowtap/logstore"
)

// startTestLogstore serves an in-process logstore configured as the compatibility run's and
// returns its base URL.
func startTestLogstore(t *testing.T) string {
	t.Helper()
	cfg := testenv.LogstoreConfig(t)
	cfg.Fsync = logstore.FsyncPolicy("never")
	cfg.MaxQuerySeries = 100000 // as lokiConfig
	// the golden data keeps its recording time: accept and keep it however old it is
	no := false
	cfg.RejectOldSamples = &no
	cfg.Retention = 0
	cfg.MaxQueryLength = 0
	_, url := testenv.Logstore(t, cfg)
	return url
}

// TestCompatGolden checks flowtap's answers to the compatibility corpus against the
// answers Grafana Loki 3.5 gave (recorded by `go run ./bench/loki -compat -record`): every
// query must agree except the listed known differences, which must stay within 2 % of
// the corpus and must still differ (a fixed one has to leave the list).
func TestCompatGolden(t *testing.T) {
	g, err := readGolden(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Queries) < 400 {
		t.Fatalf("golden corpus has %d queries, want at least 400", len(g.Queries))
	}
	url := startTestLogstore(t)
	base := g.Base
	client := http.DefaultClient
	ctx := context.Background()
	if err := pushBody(ctx, client, url, pushJSON(compatData(), base*1e9)); err != nil {
		t.Fatal(err)
	}
	inCorpus := map[string]bool{}
	known, agree := 0, 0
	for _, ga := range g.Queries {
		q := ga.compatQuery
		q.orderMatch = ga.OrderMatters
		inCorpus[q.key()] = true
		got, err := ask(ctx, client, url, q, base)
		if err != nil {
			t.Fatalf("%s: %v", q.key(), err)
		}
		same := sameAnswer(ga.Answer, got)
		reason, isKnown := knownDifferences[q.key()]
		switch {
		case same && isKnown:
			t.Errorf("%s agrees with Loki now: remove it from knownDifferences (%s)", q.key(), reason)
		case same:
			agree++
		case isKnown:
			known++
		default:
			t.Errorf("%s\nloki:    %s\nflowtap: %s", q.key(), indent(ga.Answer), indent(got))
		}
	}
	for k := range knownDifferences {
		if !inCorpus[k] {
			t.Errorf("knownDifferences names %q, which is not in the golden corpus", k)
		}
	}
	if float64(known) > 0.02*float64(len(g.Queries)) {
		t.Errorf("%d known differences in %d queries: more than 2 %%", known, len(g.Queries))
	}
	t.Logf("agreement with Loki: %d of %d queries (%d known differences)", agree, len(g.Queries), known)
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n         ") }

// TestDeepQueryOverHTTP sends Grafana's data source test and a query nested 500 000 deep
// through the HTTP API: the first answers {} 2, the second a 400 with a position, and the
// server keeps answering.
func TestDeepQueryOverHTTP(t *testing.T) {
	url := startTestLogstore(t)
	ctx := context.Background()
	q := compatQuery{Q: `vector(1)+vector(1)`, Instant: true, End: 60}
	if got, err := ask(ctx, http.DefaultClient, url, q, 1_700_000_000); err != nil || got != "vector\n{} 60:2" {
		t.Fatalf("Grafana's test query: %q %v", got, err)
	}
	deep := compatQuery{Q: strings.Repeat("(", 500_000) + `count_over_time({a="b"}[1m])` + strings.Repeat(")", 500_000), Instant: true, End: 60}
	// a megabyte of query goes in a form body, as Grafana sends long queries
	path, params := queryParams(deep, 1_700_000_000)
	resp, err := http.DefaultClient.PostForm(url+path, params)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	status := resp.StatusCode
	if status != http.StatusBadRequest || !strings.Contains(string(body), "parse error at line 1, col ") || !strings.Contains(string(body), "nested too deeply") {
		t.Fatalf("deep query: %d %.200s", status, body)
	}
	if got, err := ask(ctx, http.DefaultClient, url, q, 1_700_000_000); err != nil || got != "vector\n{} 60:2" {
		t.Fatalf("after the deep query: %q %v", got, err)
	}
}
