package loki

import (
	"context"
	"testing"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/logstore/logql"
	"github.com/flowtap/flowtap/sinks"
)

// TestUnknownColumnsReachTheLogStore: a record read from a file whose header names a column
// this build does not know keeps that value at the end of its log line, and its stream's
// extra_columns label names the column; a record without unknown columns has no such label.
func TestUnknownColumnsReachTheLogStore(t *testing.T) {
	st, url := startLogstore(t)
	cfg := DefaultConfig()
	cfg.URL, cfg.Tenant = url, "t"
	s, err := New(cfg, component.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := flowlog.FormatFromHeader(flowlog.DefaultVPC.Header() + " some-new-field")
	const line = "2 123456789012 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530005 1418530070 REJECT OK alpha"
	var r flowlog.Record
	if err := f.Parse(&r, line); err != nil {
		t.Fatal(err)
	}
	plain := r
	plain.Extra, plain.InterfaceID = "", "eni-00000000000000000"
	if err := s.Write(context.Background(), &sinks.Batch{Records: []flowlog.Record{r, plain}}); err != nil {
		t.Fatal(err)
	}
	m, _ := logql.NewMatcher(logql.MatchEqual, "log_stream", "eni-1235b8ca123456789-all")
	got := query(t, st, "t", m)
	if len(got) != 1 || len(got[0].entries) != 1 || got[0].entries[0].Line != line {
		t.Fatalf("stored %+v, want the line %q", got, line)
	}
	if v := got[0].labels.Get("extra_columns"); v != "some-new-field" {
		t.Fatalf("labels %v: extra_columns %q, want the unknown column's name", got[0].labels, v)
	}
	m, _ = logql.NewMatcher(logql.MatchEqual, "log_stream", "eni-00000000000000000-all")
	got = query(t, st, "t", m)
	if len(got) != 1 || got[0].labels.Get("extra_columns") != "" {
		t.Fatalf("record without unknown columns: %+v", got)
	}
}
