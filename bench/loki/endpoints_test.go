package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// TestEndpointGolden checks flowtap's answers to the metadata endpoints (build info,
// volume, detected labels and fields, patterns, format_query, drilldown limits) and to
// live tails against the answers Grafana Loki 3.5 gave over the same data (recorded by
// `go run ./bench/loki -compat -record-endpoints`): shapes, and values where Loki's are
// deterministic. Only knownEndpointDifferences may differ, and each must still differ.
func TestEndpointGolden(t *testing.T) {
	b, err := os.ReadFile(endpointGoldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var g endpointGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Endpoints) != len(endpointCases()) || len(g.Tails) != len(tailCases()) {
		t.Fatalf("golden has %d endpoint and %d tail cases, the suite %d and %d: record again",
			len(g.Endpoints), len(g.Tails), len(endpointCases()), len(tailCases()))
	}
	url := startTestLogstore(t)
	ctx := context.Background()
	client := http.DefaultClient
	if err := pushBody(ctx, client, url, pushJSON(compatData(), g.Base*1e9)); err != nil {
		t.Fatal(err)
	}
	check := func(name, want, got string) {
		reason, known := knownEndpointDifferences[name]
		switch {
		case want == got && known:
			t.Errorf("%s agrees with Loki now: remove it from knownEndpointDifferences (%s)", name, reason)
		case want != got && !known:
			t.Errorf("%s\nloki:    %s\nflowtap: %s", name, indent(want), indent(got))
		}
	}
	names := map[string]bool{}
	for _, r := range g.Endpoints {
		names[r.Name] = true
		got, err := endpointAnswer(ctx, client, url, r.endpointCase, g.Base)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		check(r.Name, r.Answer, got)
	}
	// tails follow streams of their own: run them side by side
	results := make([]tailResult, len(g.Tails))
	errs := make([]error, len(g.Tails))
	var wg sync.WaitGroup
	for i, r := range g.Tails {
		if r.Name != tailCases()[i].Name {
			t.Fatalf("golden tail %d is %q, the suite's %q: record again", i, r.Name, tailCases()[i].Name)
		}
		names["tail "+r.Name] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			// the suite's case (its expected line count is not recorded); generous quiet
			// periods, as the machine may be loaded
			results[i], errs[i] = runTail(ctx, client, url, tailCases()[i], g.Base, 100*time.Millisecond, 2*time.Second, 20*time.Second)
		}()
	}
	wg.Wait()
	for i, r := range g.Tails {
		if errs[i] != nil {
			t.Fatalf("tail %s: %v", r.Name, errs[i])
		}
		check("tail "+r.Name, r.Answer, results[i].canonical)
		if r.Live > 0 {
			t.Logf("tail %s: slowest live line %v after its push", r.Name, results[i].slowest)
		}
	}
	for k := range knownEndpointDifferences {
		if !names[k] {
			t.Errorf("knownEndpointDifferences names %q, which is not a recorded case", k)
		}
	}
}

// TestJSONShape pins the shape rendering the endpoint comparison relies on.
func TestJSONShape(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"b":[1,"x",2,{"k":null}],"a":{"t":true},"e":[]}`), &v); err != nil {
		t.Fatal(err)
	}
	if got, want := jsonShape(v), `{"a":{"t":bool},"b":[number|string|{"k":null}],"e":[]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
